import { test } from "node:test";
import assert from "node:assert/strict";
import { DISK_KERNEL_OPTIONS, missingDiskOptions } from "./kernel-features.ts";

test("a kernel boots disk layers only with each needed option built in, not as a module", () => {
  const all = Object.keys(DISK_KERNEL_OPTIONS).map((option) => `${option}=y`).join("\n");
  assert.deepEqual(missingDiskOptions(`${all}\n`), []);
  assert.deepEqual(missingDiskOptions(all.replace("CONFIG_VIRTIO_BLK=y", "CONFIG_VIRTIO_BLK=m").replace("CONFIG_DM_INIT=y", "# CONFIG_DM_INIT is not set")), ["CONFIG_VIRTIO_BLK", "CONFIG_DM_INIT"]);
  assert.deepEqual(missingDiskOptions(""), Object.keys(DISK_KERNEL_OPTIONS));
});
