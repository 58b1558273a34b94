import { test } from "node:test";
import assert from "node:assert/strict";
import type { LayerDescriptor } from "../image/manifest.ts";
import { exportCmdline, MAX_CMDLINE_BYTES } from "./export-cmdline.ts";

const layer = (name: LayerDescriptor["name"], dataBlocks: number, rootHash: string): LayerDescriptor => ({
  name, digest: `sha256:${"0".repeat(64)}`, size: 1, uncompressedSize: 1, compression: "zstd-19", files: `sha256:${"0".repeat(64)}`,
  filesystem: { kind: "erofs", compression: "none" }, verity: { algorithm: "sha256", rootHash, dataBlocks, hashBlocks: 1 },
});
const MANIFEST = {
  name: "hello",
  kernel: { digest: "sha256:k", size: 1, format: "vmlinux.xz" as const, version: "6.1.192-ingot", cmdline: "console=ttyS0 quiet panic=-1 rootfstype=erofs ro init=/init ingot.stop_timeout=10" },
  layers: [layer("base", 25, "a".repeat(64)), layer("runtime", 530, "b".repeat(64)), layer("app", 6, "c".repeat(64))],
};
const UUIDS = ["11111111-1111-8111-8111-111111111111", "22222222-2222-8222-8222-222222222222", "33333333-3333-8333-8333-333333333333"];

test("the exported disk's command line names each layer's partition by PARTUUID, its environment, and no metadata endpoint", () => {
  const line = exportCmdline(MANIFEST, UUIDS, "prod");
  assert.equal(line, [
    MANIFEST.kernel.cmdline,
    "root=/dev/dm-0",
    `dm-mod.create="base,,,ro,0 200 verity 1 PARTUUID=${UUIDS[0]} PARTUUID=${UUIDS[0]} 4096 4096 25 25 sha256 ${"a".repeat(64)} -;`
      + `runtime,,,ro,0 4240 verity 1 PARTUUID=${UUIDS[1]} PARTUUID=${UUIDS[1]} 4096 4096 530 530 sha256 ${"b".repeat(64)} -;`
      + `app,,,ro,0 48 verity 1 PARTUUID=${UUIDS[2]} PARTUUID=${UUIDS[2]} 4096 4096 6 6 sha256 ${"c".repeat(64)} -"`,
    "ingot.layers=runtime,app ingot.env=prod ingot.hostname=hello",
  ].join(" "));
  assert.doesNotMatch(line, /ingot\.metadata|ingot\.ip|ingot\.logs/);
  assert.ok(Buffer.byteLength(line) <= MAX_CMDLINE_BYTES);
});

test("a command line longer than the kernel takes is refused", () => {
  assert.throws(() => exportCmdline({ ...MANIFEST, kernel: { ...MANIFEST.kernel, cmdline: "x".repeat(1800) } }, UUIDS, "prod"), /over the kernel's 2047/);
});
