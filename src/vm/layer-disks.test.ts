import { test } from "node:test";
import assert from "node:assert/strict";
import type { LayerDescriptor } from "../image/manifest.ts";
import { isDiskImage, layerCmdline, layerDevice } from "./layer-disks.ts";

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
