import { test } from "node:test";
import assert from "node:assert/strict";
import type { ImageManifest } from "../image/manifest.ts";
import { assertMemoryFits } from "./initrd.ts";

test("a memory size that cannot hold the initramfs is refused before boot, saying how much is needed", () => {
  const hello = { name: "hello", version: "1.0.0", layers: [
    { compression: "zstd-19", size: 138_805, uncompressedSize: 579_616 },
    { compression: "xz", size: 29_491_596, uncompressedSize: 130_373_792 },
  ] } as unknown as ImageManifest;
  // Measured floors (bench:instances, docs/benchmarks.md): the cloud kernel boots in 256 MiB and
  // panics in 240; ingot's kernel serves in 200 and fails in 192.
  const cloud = { ...hello, kernel: { uncompressedSize: 53_243_444 } } as ImageManifest;
  assert.doesNotThrow(() => assertMemoryFits(cloud, 256));
  assert.throws(() => assertMemoryFits(cloud, 240), (error: Error & { hint?: string }) =>
    /Cannot boot hello:1.0.0 in 240 MiB as its initramfs needs at least 25\d MiB/.test(error.message) && /--memory 256M/.test(error.hint ?? ""));
  const own = { ...hello, kernel: { uncompressedSize: 16_222_208 } } as ImageManifest;
  assert.doesNotThrow(() => assertMemoryFits(own, 224));
  assert.throws(() => assertMemoryFits(own, 192), /needs at least 2[01]\d MiB/);
  assert.throws(() => assertMemoryFits(hello, 240), /needs at least 25\d MiB/, "an image that did not record its kernel's size");
});
