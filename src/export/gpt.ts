// A GUID partition table written here rather than by sfdisk: every byte (GUIDs, CRCs, alignment)
// comes from the layout, so the same image gives the same disk on any host, whatever the tool's
// version. UEFI 2.10 §5.2 (protective MBR) and §5.3 (header and entries).
import { crc32 } from "node:zlib";

export const SECTOR_BYTES = 512;
/** 128 entries of 128 bytes: the minimum table UEFI requires (16 KiB, 32 sectors). */
export const ENTRY_COUNT = 128;
export const ENTRY_BYTES = 128;
const ENTRY_SECTORS = (ENTRY_COUNT * ENTRY_BYTES) / SECTOR_BYTES;
const HEADER_BYTES = 92;
/** The protective MBR, the header and the entries: the sectors before the first usable one. */
export const FIRST_USABLE_LBA = 2 + ENTRY_SECTORS;

export interface GptPartition {
  /** The partition type GUID, as text (`c12a7328-f81f-11d2-ba4b-00a0c93ec93b`). */
  type: string;
  /** This partition's own GUID: the kernel's PARTUUID. */
  guid: string;
  firstLba: number;
  /** Inclusive, as GPT counts it. */
  lastLba: number;
  /** Up to 36 UTF-16 code units. */
  name: string;
}

export interface Gpt {
  diskGuid: string;
  totalSectors: number;
  partitions: GptPartition[];
}

/** Known partition type GUIDs. */
export const PARTITION_TYPES = {
  efiSystem: "c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
  linuxData: "0fc63daf-8483-4772-8e79-3d69d8477de4",
} as const;

/**
 * The sectors at the start of the disk (protective MBR, primary header, entries) and at its end
 * (entries, backup header), to be written at LBA 0 and at `totalSectors - 33`.
 *
 * @example
 * const { head, tail } = gptBytes({ diskGuid, totalSectors: 2 ** 16, partitions: [{ type, guid, firstLba: 2048, lastLba: 4095, name: "esp" }] });
 * // head.length === 34 * 512, tail.length === 33 * 512
 */
export function gptBytes(gpt: Gpt): { head: Buffer; tail: Buffer } {
  checkLayout(gpt);
  const entries = Buffer.alloc(ENTRY_COUNT * ENTRY_BYTES);
  gpt.partitions.forEach((partition, index) => entryBytes(partition).copy(entries, index * ENTRY_BYTES));
  const entriesCrc = crc32(entries);
  const lastLba = gpt.totalSectors - 1;
  const backupEntriesLba = lastLba - ENTRY_SECTORS;
  const header = (myLba: number, alternateLba: number, entriesLba: number): Buffer => {
    const sector = Buffer.alloc(SECTOR_BYTES);
    sector.write("EFI PART", 0, "latin1");
    sector.writeUInt32LE(0x00010000, 8); // revision 1.0
    sector.writeUInt32LE(HEADER_BYTES, 12);
    sector.writeBigUInt64LE(BigInt(myLba), 24);
    sector.writeBigUInt64LE(BigInt(alternateLba), 32);
    sector.writeBigUInt64LE(BigInt(FIRST_USABLE_LBA), 40);
    sector.writeBigUInt64LE(BigInt(backupEntriesLba - 1), 48);
    guidBytes(gpt.diskGuid).copy(sector, 56);
    sector.writeBigUInt64LE(BigInt(entriesLba), 72);
    sector.writeUInt32LE(ENTRY_COUNT, 80);
    sector.writeUInt32LE(ENTRY_BYTES, 84);
    sector.writeUInt32LE(entriesCrc, 88);
    // The header's CRC covers its 92 bytes with the CRC field itself zero.
    sector.writeUInt32LE(crc32(sector.subarray(0, HEADER_BYTES)), 16);
    return sector;
  };
  const head = Buffer.concat([protectiveMbr(gpt.totalSectors), header(1, lastLba, 2), entries]);
  const tail = Buffer.concat([entries, header(lastLba, 1, backupEntriesLba)]);
  return { head, tail };
}

/** One MBR partition of type 0xEE over the whole disk (up to 2 TiB), so MBR-only tools leave it alone. */
function protectiveMbr(totalSectors: number): Buffer {
  const mbr = Buffer.alloc(SECTOR_BYTES);
  const entry = 446;
  mbr.writeUInt8(0x00, entry); // not bootable
  mbr.writeUIntLE(0x000200, entry + 1, 3); // CHS of LBA 1
  mbr.writeUInt8(0xee, entry + 4);
  mbr.writeUIntLE(0xffffff, entry + 5, 3); // CHS beyond what it can say
  mbr.writeUInt32LE(1, entry + 8);
  mbr.writeUInt32LE(Math.min(totalSectors - 1, 0xffffffff), entry + 12);
  mbr.writeUInt16LE(0xaa55, 510);
  return mbr;
}

function entryBytes(partition: GptPartition): Buffer {
  const entry = Buffer.alloc(ENTRY_BYTES);
  guidBytes(partition.type).copy(entry, 0);
  guidBytes(partition.guid).copy(entry, 16);
  entry.writeBigUInt64LE(BigInt(partition.firstLba), 32);
  entry.writeBigUInt64LE(BigInt(partition.lastLba), 40);
  entry.write(partition.name, 56, 72, "utf16le");
  return entry;
}

/**
 * A GUID's 16 bytes as GPT stores them: the first three fields little-endian, the rest as written.
 *
 * @example
 * guidBytes("c12a7328-f81f-11d2-ba4b-00a0c93ec93b"); // <28 73 2a c1 1f f8 d2 11 ba 4b 00 a0 c9 3e c9 3b>
 */
export function guidBytes(guid: string): Buffer {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(guid)) throw new Error(`Cannot use ${guid} as a GUID as it is not 8-4-4-4-12 hex digits`);
  const hex = Buffer.from(guid.replaceAll("-", ""), "hex");
  return Buffer.concat([Buffer.from(hex.subarray(0, 4)).reverse(), Buffer.from(hex.subarray(4, 6)).reverse(), Buffer.from(hex.subarray(6, 8)).reverse(), hex.subarray(8)]);
}

function checkLayout(gpt: Gpt): void {
  if (gpt.partitions.length > ENTRY_COUNT) throw new Error(`Cannot write a GPT of ${gpt.partitions.length} partitions as it holds ${ENTRY_COUNT}`);
  const lastUsable = gpt.totalSectors - 1 - ENTRY_SECTORS - 1;
  let previousEnd = FIRST_USABLE_LBA - 1;
  for (const partition of gpt.partitions) {
    if (partition.firstLba <= previousEnd || partition.lastLba < partition.firstLba || partition.lastLba > lastUsable) {
      throw new Error(`Cannot place partition ${partition.name} at sectors ${partition.firstLba}–${partition.lastLba} as it overlaps another or leaves ${FIRST_USABLE_LBA}–${lastUsable}`);
    }
    if (partition.name.length > 36) throw new Error(`Cannot name a partition ${partition.name} as a GPT name holds 36 characters`);
    previousEnd = partition.lastLba;
  }
}
