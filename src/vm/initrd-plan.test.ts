import { test } from "node:test";
import assert from "node:assert/strict";
import type { ImageManifest } from "../image/manifest.ts";
import { defaultMemoryMiB, initrdForm, initrdPlan, memoryNeededMiB, minimumMemoryMiB } from "./initrd-plan.ts";

const MiB = 1024 * 1024;
/** examples/hello as built: base, the Node runtime (xz), app; ingot's kernel. */
const hello = {
  name: "hello", version: "1.0.0",
  kernel: { uncompressedSize: 16_222_208 },
  layers: [
    { name: "base", compression: "zstd-19", size: 35_791, uncompressedSize: 68_280 },
    { name: "runtime", compression: "xz", size: 29_491_596, uncompressedSize: 130_373_792 },
    { name: "app", compression: "zstd-19", size: 914, uncompressedSize: 2_648 },
  ],
} as unknown as ImageManifest;
const plan = (form: Parameters<typeof initrdPlan>[1]) => initrdPlan(hello, form).map(({ layer, how }) => `${layer.name}:${how}`);

test("each form as data: unpacked on the host, lz4 last, or zstd in place of xz", () => {
  assert.deepEqual(plan("unpacked"), ["base:copy", "runtime:unpack", "app:copy"]);
  assert.deepEqual(plan("lz4-last"), ["base:copy", "app:copy", "runtime:lz4"]);
  assert.deepEqual(plan("compressed"), ["base:copy", "runtime:zstd", "app:copy"]);
  const tiny = { ...hello, layers: hello.layers.filter((layer) => layer.name !== "runtime") } as ImageManifest;
  assert.deepEqual(initrdPlan(tiny, "lz4-last").map(({ how }) => how), ["copy", "copy"], "nothing large: nothing moves");
});

test("the form follows the memory: unpacked when it fits twice, lz4-last in between, compressed at the floor", () => {
  assert.equal(initrdForm(hello, 512), "unpacked");
  assert.equal(initrdForm(hello, 256), "lz4-last");
  assert.equal(initrdForm(hello, 240), "lz4-last");
  assert.equal(initrdForm(hello, 232), "compressed");
  assert.ok(memoryNeededMiB(hello, "compressed") < memoryNeededMiB(hello, "lz4-last"));
  const cloudKernel = { ...hello, kernel: { uncompressedSize: 53_243_444 } } as ImageManifest;
  assert.equal(initrdForm(cloudKernel, 256), "compressed", "the cloud kernel leaves no room for lz4 at 256 MiB");
  const small = { ...hello, layers: [{ name: "app", compression: "zstd-19", size: MiB, uncompressedSize: 2 * MiB }] } as unknown as ImageManifest;
  assert.equal(initrdForm(small, 256), "unpacked");
});

test("an image's default memory: 256 MiB while it boots there with room, else what it needs plus 96 MiB in steps of 64", () => {
  assert.equal(defaultMemoryMiB(hello), 256);
  // A Next.js standalone app: its traced node_modules (with sharp's libvips) in a second large layer.
  const next = { ...hello, layers: [...hello.layers, { name: "deps", compression: "zstd-19", size: 14_000_000, uncompressedSize: 58_000_000 }] } as unknown as ImageManifest;
  const needed = minimumMemoryMiB(next);
  assert.ok(needed > 224, `the larger image needs ${needed} MiB`);
  assert.equal(defaultMemoryMiB(next), Math.ceil((needed + 96) / 64) * 64);
  assert.equal(defaultMemoryMiB(next) % 64, 0);
});

test("a disk-form image needs its kernel and the app's working set, not room for its layers", () => {
  const verity = { algorithm: "sha256", rootHash: "a".repeat(64), dataBlocks: 1, hashBlocks: 0 };
  const disk = { ...hello, layers: hello.layers.map((layer) => ({ ...layer, verity })) } as unknown as ImageManifest;
  assert.equal(minimumMemoryMiB(disk), Math.ceil(16_222_208 / MiB + 32), "measured: serves in 40 MiB, fails in 32");
  assert.ok(minimumMemoryMiB(disk) <= 48 && minimumMemoryMiB(hello) > 200, "the 124 MiB runtime stays on disk");
});
