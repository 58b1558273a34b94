import { test } from "node:test";
import assert from "node:assert/strict";
import { derivedGuid, diskLayout, gptOf } from "./disk-layout.ts";
import { PARTITION_TYPES } from "./gpt.ts";

const DIGEST = `sha256:${"ab".repeat(32)}`;
const MIB = 1024 * 1024;
const ESP = { name: "esp", source: "/tmp/esp.img", bytes: 34 * MIB };
const LAYERS = [
  { name: "base", source: "/c/base.img", bytes: 200 * 512 },
  { name: "runtime", source: "/c/runtime.img", bytes: 4240 * 512 },
  { name: "app", source: "/c/app.img", bytes: 48 * 512 },
];

test("the system partition comes first, then each layer in order, every one on a MiB boundary, the disk a whole number of MiB", () => {
  const layout = diskLayout(DIGEST, "prod", ESP, LAYERS);
  assert.deepEqual(layout.partitions.map(({ name, firstLba, lastLba, type }) => [name, firstLba, lastLba, type]), [
    ["esp", 2048, 2048 + 69632 - 1, PARTITION_TYPES.efiSystem],
    ["base", 71680, 71680 + 200 - 1, PARTITION_TYPES.linuxData],
    ["runtime", 73728, 73728 + 4240 - 1, PARTITION_TYPES.linuxData],
    ["app", 79872, 79872 + 48 - 1, PARTITION_TYPES.linuxData],
  ]);
  // The backup table (33 sectors) fits after the last partition.
  assert.equal(layout.totalSectors, 83968);
  assert.equal((layout.totalSectors * 512) % MIB, 0);
  assert.deepEqual(gptOf(layout).partitions.map((partition) => partition.name), ["ingot-esp", "ingot-base", "ingot-runtime", "ingot-app"]);
});

test("GUIDs come from the image and the environment: the same for the same export, different otherwise, all distinct, version 8", () => {
  const layout = diskLayout(DIGEST, "prod", ESP, LAYERS);
  assert.deepEqual(diskLayout(DIGEST, "prod", ESP, LAYERS), layout);
  const guids = [layout.diskGuid, ...layout.partitions.map((partition) => partition.guid)];
  assert.equal(new Set(guids).size, guids.length);
  for (const guid of guids) assert.match(guid, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(diskLayout(DIGEST, "test", ESP, LAYERS).diskGuid, layout.diskGuid);
  assert.notEqual(diskLayout(`sha256:${"cd".repeat(32)}`, "prod", ESP, LAYERS).partitions[1]!.guid, layout.partitions[1]!.guid);
  assert.equal(derivedGuid(DIGEST, "prod", "base"), layout.partitions[1]!.guid);
});

test("content that is not whole sectors is refused", () => {
  assert.throws(() => diskLayout(DIGEST, "prod", ESP, [{ name: "base", source: "/c/base.img", bytes: 1000 }]), /base.*1000 bytes/);
  assert.throws(() => diskLayout(DIGEST, "prod", { ...ESP, bytes: 0 }, LAYERS), /esp/);
});
