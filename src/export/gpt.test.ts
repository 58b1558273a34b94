import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { type Gpt, gptBytes, guidBytes, PARTITION_TYPES, SECTOR_BYTES } from "./gpt.ts";

const GPT: Gpt = {
  diskGuid: "9607c149-024e-8a27-891e-6ae7a3b68402",
  totalSectors: 8192,
  partitions: [
    { type: PARTITION_TYPES.efiSystem, guid: "62caea0e-5eb3-81df-bc4f-17a65efa9885", firstLba: 2048, lastLba: 4095, name: "ingot-esp" },
    { type: PARTITION_TYPES.linuxData, guid: "8b4576de-771d-85c7-a53f-1174cc690426", firstLba: 4096, lastLba: 4295, name: "ingot-base" },
  ],
};

const hasSfdisk = spawnSync("sfdisk", ["--version"]).status === 0;
const sfdiskSkip = !hasSfdisk && process.env.CI !== "true" && "sfdisk is not installed (apt-get install fdisk)";

test("a GUID is stored with its first three fields little-endian, as UEFI writes EFI_GUID", () => {
  assert.equal(guidBytes(PARTITION_TYPES.efiSystem).toString("hex"), "28732ac11ff8d211ba4b00a0c93ec93b");
  assert.throws(() => guidBytes("not-a-guid"), /8-4-4-4-12/);
});

test("the headers' and entries' CRC32s cover what UEFI says they cover", () => {
  // GPT's CRC32 is the IEEE one (UEFI 2.10 appendix, "CRC-32"): its check value.
  assert.equal(crc32("123456789"), 0xcbf43926);
  const { head, tail } = gptBytes(GPT);
  assert.equal(head.length, 34 * SECTOR_BYTES);
  assert.equal(tail.length, 33 * SECTOR_BYTES);
  assert.equal(head.readUInt16LE(510), 0xaa55);
  assert.equal(head[446 + 4], 0xee);
  assert.equal(head.readUInt32LE(446 + 12), GPT.totalSectors - 1);
  const primary = head.subarray(512, 1024);
  const backup = tail.subarray(tail.length - 512);
  for (const [header, myLba, alternateLba, entriesLba] of [[primary, 1, 8191, 2], [backup, 8191, 1, 8191 - 32]] as const) {
    assert.equal(header.toString("latin1", 0, 8), "EFI PART");
    assert.equal(Number(header.readBigUInt64LE(24)), myLba);
    assert.equal(Number(header.readBigUInt64LE(32)), alternateLba);
    assert.equal(Number(header.readBigUInt64LE(72)), entriesLba);
    const zeroed = Buffer.from(header.subarray(0, 92));
    zeroed.writeUInt32LE(0, 16);
    assert.equal(header.readUInt32LE(16), crc32(zeroed));
  }
  assert.equal(primary.readUInt32LE(88), crc32(head.subarray(1024)));
  assert.deepEqual(head.subarray(1024), tail.subarray(0, 32 * SECTOR_BYTES));
  // The same layout, the same bytes.
  assert.deepEqual(gptBytes(GPT), { head, tail });
});

test("overlapping, misplaced or misnamed partitions are refused", () => {
  const [esp, base] = GPT.partitions as [Gpt["partitions"][0], Gpt["partitions"][0]];
  assert.throws(() => gptBytes({ ...GPT, partitions: [esp, { ...base, firstLba: 4000 }] }), /overlaps/);
  assert.throws(() => gptBytes({ ...GPT, partitions: [{ ...esp, firstLba: 10 }] }), /overlaps/);
  assert.throws(() => gptBytes({ ...GPT, partitions: [{ ...esp, lastLba: 8191 - 32 }] }), /overlaps/);
  assert.throws(() => gptBytes({ ...GPT, partitions: [{ ...esp, name: "x".repeat(37) }] }), /36 characters/);
});

test("sfdisk reads the table back as written, and notices a changed byte", { skip: sfdiskSkip }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "ingot-gpt-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const disk = join(dir, "disk.raw");
  const { head, tail } = gptBytes(GPT);
  const file = await open(disk, "w");
  await file.truncate(GPT.totalSectors * SECTOR_BYTES);
  await file.write(head, 0, head.length, 0);
  await file.write(tail, 0, tail.length, GPT.totalSectors * SECTOR_BYTES - tail.length);
  await file.close();
  const dump = spawnSync("sfdisk", ["--json", disk], { encoding: "utf8" });
  assert.equal(dump.status, 0, dump.stderr);
  assert.equal(dump.stderr, "", "no warning about a corrupt table");
  const table = (JSON.parse(dump.stdout) as { partitiontable: { label: string; id: string; firstlba: number; lastlba: number; partitions: { start: number; size: number; type: string; uuid: string; name: string }[] } }).partitiontable;
  assert.equal(table.label, "gpt");
  assert.equal(table.id, GPT.diskGuid.toUpperCase());
  assert.deepEqual([table.firstlba, table.lastlba], [34, 8192 - 34]);
  assert.deepEqual(table.partitions.map(({ start, size, type, uuid, name }) => [start, size, type.toLowerCase(), uuid.toLowerCase(), name]),
    GPT.partitions.map(({ firstLba, lastLba, type, guid, name }) => [firstLba, lastLba - firstLba + 1, type, guid, name]));

  // One bit of the primary entries changed: its CRC no longer matches, and sfdisk says so.
  const changed = await open(disk, "r+");
  await changed.write(Buffer.from([0x01]), 0, 1, 2 * SECTOR_BYTES + 56);
  await changed.close();
  const damaged = spawnSync("sfdisk", ["--dump", disk], { encoding: "utf8" });
  assert.match(damaged.stderr, /corrupt/i);
});
