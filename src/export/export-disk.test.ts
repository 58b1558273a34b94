import { test } from "node:test";
import assert from "node:assert/strict";
import type { LayerDescriptor } from "../image/manifest.ts";
import { assertExportable } from "./export-disk.ts";

const layer = (name: LayerDescriptor["name"], disk: boolean): LayerDescriptor => ({
  name, digest: `sha256:${"0".repeat(64)}`, size: 1, uncompressedSize: 1, compression: "zstd-19", files: `sha256:${"0".repeat(64)}`,
  ...(disk ? { filesystem: { kind: "erofs", compression: "none" }, verity: { algorithm: "sha256", rootHash: "a".repeat(64), dataBlocks: 1, hashBlocks: 0 } } : {}),
});

test("an initrd image is refused with how to build one that exports", () => {
  assert.throws(() => assertExportable({ name: "hello", layers: [layer("base", false), layer("app", false)], environments: {} }, "prod"),
    { code: "export-not-disk", message: "Cannot export hello as its layers are an initrd, not verified disks", hint: "Build it without --initrd (with ingot's kernel) and export that image" });
});

test("dev, prod and the environments of ingot.yaml export; another name is refused listing them", () => {
  const manifest = { name: "hello", layers: [layer("base", true), layer("app", true)], environments: { staging: { env: {} } } };
  for (const environment of ["dev", "prod", "staging"]) assertExportable(manifest, environment);
  for (const environment of ["stagin", "../etc", ""]) {
    assert.throws(() => assertExportable(manifest, environment), { code: "environment-unknown", hint: "Environments: dev, prod, staging" });
  }
});
