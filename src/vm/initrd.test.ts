import { test } from "node:test";
import assert from "node:assert/strict";
import type { ImageManifest } from "../image/manifest.ts";
import { initrdForm } from "./initrd.ts";

const MiB = 1024 * 1024;
const manifest = (unpackedMiB: number) => ({ layers: [{ uncompressedSize: unpackedMiB * MiB, size: unpackedMiB * MiB / 4 }] }) as unknown as ImageManifest;

test("large instances boot an unpacked initrd; small ones the compressed layers", () => {
  assert.equal(initrdForm(manifest(130), 512), "unpacked");
  assert.equal(initrdForm(manifest(130), 256), "compressed");
  assert.equal(initrdForm(manifest(2), 256), "unpacked");
});
