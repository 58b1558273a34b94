import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "../../test/helpers.ts";
import type { LayerDescriptor } from "../image/manifest.ts";
import { verityTree } from "../image/verity.ts";
import { Vault } from "../vault/vault.ts";
import { isDiskImage, layerCmdline, layerDevice, layerDisks } from "./layer-disks.ts";

const layer = (name: LayerDescriptor["name"], dataBlocks: number, hash: string): LayerDescriptor => ({
  name, digest: `sha256:${hash.repeat(64)}`, size: 1, uncompressedSize: dataBlocks * 4096, compression: "zstd-19", files: "sha256:0",
  filesystem: { kind: "erofs", compression: "none" }, verity: { algorithm: "sha256", rootHash: hash.repeat(64), dataBlocks, hashBlocks: 1 },
});

test("each layer gets a verity device over its own disk, the base is the root, and init learns the others' names", () => {
  const layers = [layer("base", 2, "a"), layer("runtime", 31756, "b"), layer("app", 3, "c")];
  assert.equal(layerCmdline({ layers }), [
    "root=/dev/dm-0",
    `dm-mod.create="base,,,ro,0 16 verity 1 /dev/vda /dev/vda 4096 4096 2 2 sha256 ${"a".repeat(64)} -;` +
      `runtime,,,ro,0 254048 verity 1 /dev/vdb /dev/vdb 4096 4096 31756 31756 sha256 ${"b".repeat(64)} -;` +
      `app,,,ro,0 24 verity 1 /dev/vdc /dev/vdc 4096 4096 3 3 sha256 ${"c".repeat(64)} -"`,
    "ingot.layers=runtime,app",
  ].join(" "));
});

test("an image is booted from disks only when every layer has a root hash", () => {
  const { verity: _verity, filesystem: _filesystem, ...initrdLayer } = layer("app", 3, "c");
  assert.equal(isDiskImage({ layers: [layer("base", 2, "a"), layer("app", 3, "c")] }), true);
  assert.equal(isDiskImage({ layers: [layer("base", 2, "a"), initrdLayer] }), false);
  assert.equal(isDiskImage({ layers: [] }), false);
  assert.deepEqual([0, 1, 3].map(layerDevice), ["/dev/vda", "/dev/vdb", "/dev/vdd"]);
});

test("a layer blob that unpacks to blocks other than its root hash names is refused before any guest sees it; a good one gets its tree", async () => {
  const dir = await tempDir("ingot-layer-disks-");
  try {
    const vault = await Vault.open(join(dir.path, "vault"));
    const data = Buffer.alloc(3 * 4096, 1);
    const stored = await vault.putBytes(execFileSync("zstd", ["-q", "-c"], { input: data }));
    const { tree: _tree, ...verity } = verityTree(data);
    const good: LayerDescriptor = { ...layer("app", 3, "c"), digest: stored.digest, size: stored.size, verity };
    const [disk] = await layerDisks(vault, { layers: [good] });
    assert.equal((await readFile(disk!)).length, 4 * 4096, "the data and one block of tree");
    const other = { ...good, verity: { ...verity, rootHash: "0".repeat(64) } };
    await rm(disk!);
    await assert.rejects(layerDisks(vault, { layers: [other] }), (error: Error & { code?: string }) =>
      error.code === "layer-root-hash" && /do not match the root hash/.test(error.message));
  } finally {
    await dir.remove();
  }
});
