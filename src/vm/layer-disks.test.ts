import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "../../test/helpers.ts";
import type { LayerDescriptor } from "../image/manifest.ts";
import { verityTree } from "../image/verity.ts";
import { Vault } from "../vault/vault.ts";
import { isDiskImage, layerCmdline, layerDevice, layerDisks } from "./layer-disks.ts";

const layer = (name: LayerDescriptor["name"], dataBlocks: number, hash: string): LayerDescriptor => ({
  name, digest: `sha256:${hash.repeat(64)}`, size: 1, uncompressedSize: dataBlocks * 4096, compression: "zstd-19", files: "sha256:0",
  filesystem: { kind: "erofs", compression: "none" }, verity: { algorithm: "blake2b-512", rootHash: hash.repeat(128), dataBlocks, hashBlocks: 1 },
});

test("each layer gets a verity device over its own disk, the base is the root, and init learns the others' names", () => {
  const layers = [layer("base", 2, "a"), layer("runtime", 31756, "b"), layer("app", 3, "c")];
  assert.equal(layerCmdline({ layers }), [
    "root=/dev/dm-0",
    `dm-mod.create="base,,,ro,0 16 verity 1 /dev/vda /dev/vda 4096 4096 2 2 blake2b-512 ${"a".repeat(128)} -;` +
      `runtime,,,ro,0 254048 verity 1 /dev/vdb /dev/vdb 4096 4096 31756 31756 blake2b-512 ${"b".repeat(128)} -;` +
      `app,,,ro,0 24 verity 1 /dev/vdc /dev/vdc 4096 4096 3 3 blake2b-512 ${"c".repeat(128)} -"`,
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

/** A vault in a temporary folder holding `data` as a zstd layer blob, removed after `use`. */
async function withStoredBlob(data: Buffer, use: (vault: Vault, stored: { digest: string; size: number }) => Promise<void>): Promise<void> {
  const dir = await tempDir("ingot-layer-disks-");
  try {
    const vault = await Vault.open(join(dir.path, "vault"));
    await use(vault, await vault.putBytes(execFileSync("zstd", ["-q", "-c"], { input: data })));
  } finally {
    await dir.remove();
  }
}

// sha256: the hash of images built before blake2b-512, which still boot.
for (const algorithm of ["blake2b-512", "sha256"] as const) {
  test(`a layer blob that unpacks to blocks other than its ${algorithm} root hash names is refused before any guest sees it; a good one gets its tree`, async () => {
    const data = Buffer.alloc(3 * 4096, 1);
    await withStoredBlob(data, async (vault, stored) => {
      const { tree, ...verity } = verityTree(data, algorithm);
      const good: LayerDescriptor = { ...layer("app", 3, "c"), digest: stored.digest, size: stored.size, verity };
      const [disk] = await layerDisks(vault, { layers: [good] });
      assert.equal((await readFile(disk!)).length, 4 * 4096, "the data and one block of tree");
      assert.ok((await readFile(disk!)).subarray(3 * 4096).equals(tree));
      const other = { ...good, verity: { ...verity, rootHash: "0".repeat(verity.rootHash.length) } };
      await rm(disk!);
      await assert.rejects(layerDisks(vault, { layers: [other] }), (error: Error & { code?: string }) =>
        error.code === "layer-root-hash" && /do not match the root hash/.test(error.message));
    });
  });
}

test("a layer hashed with an algorithm ingot does not know is refused with the one it knows", async () => {
  await withStoredBlob(Buffer.alloc(4096, 1), async (vault, stored) => {
    const odd = { ...layer("app", 1, "c"), digest: stored.digest, size: stored.size };
    for (const algorithm of ["md5", "../../../outside"]) {
      const verity = { ...odd.verity!, algorithm: algorithm as unknown as "sha256" };
      await assert.rejects(layerDisks(vault, { layers: [{ ...odd, verity }] }), (error: Error & { code?: string; hint?: string }) =>
        error.code === "verity-algorithm" && error.message.includes(`hashed with ${algorithm} as ingot knows only blake2b-512 and sha256`) && /rebuild/.test(error.hint ?? ""));
    }
    assert.deepEqual(await readdir(join(vault.root, "cache", "layer-disks")).catch(() => []), [], "no disk and no file named by the algorithm");
  });
});

test("the same blob hashed two ways gets a disk with each tree: a cached sha256 disk never serves a blake2b-512 image", async () => {
  const data = Buffer.alloc(3 * 4096, 2);
  await withStoredBlob(data, async (vault, stored) => {
    const disks = [];
    for (const algorithm of ["sha256", "blake2b-512"] as const) {
      const { tree, ...verity } = verityTree(data, algorithm);
      const [disk] = await layerDisks(vault, { layers: [{ ...layer("app", 3, "c"), digest: stored.digest, size: stored.size, verity }] });
      assert.ok((await readFile(disk!)).subarray(3 * 4096).equals(tree), `${algorithm}'s tree`);
      disks.push(disk);
    }
    assert.notEqual(disks[0], disks[1]);
  });
});
