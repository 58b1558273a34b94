// Where everything goes on an exported disk, as plain data: the EFI system partition first, then
// one partition per layer holding its EROFS filesystem and dm-verity tree byte for byte. Every GUID
// is derived from the image digest and the environment, so the same export gives the same disk.
import { createHash } from "node:crypto";
import { type Gpt, ENTRY_COUNT, ENTRY_BYTES, FIRST_USABLE_LBA, PARTITION_TYPES, SECTOR_BYTES } from "./gpt.ts";

/** Partitions start on 1 MiB boundaries (what fdisk and every cloud expect), and the disk is a whole number of MiB (Azure's VHD rule). */
export const ALIGNMENT_BYTES = 1024 * 1024;
const ALIGNMENT_SECTORS = ALIGNMENT_BYTES / SECTOR_BYTES;
const BACKUP_SECTORS = 1 + (ENTRY_COUNT * ENTRY_BYTES) / SECTOR_BYTES;

export interface DiskPartition {
  /** "esp", or the layer's name. */
  name: string;
  /** The file whose bytes fill the partition. */
  source: string;
  bytes: number;
  guid: string;
  type: string;
  firstLba: number;
  lastLba: number;
}

export interface DiskLayout {
  diskGuid: string;
  totalSectors: number;
  partitions: DiskPartition[];
}

export interface DiskContent {
  name: string;
  source: string;
  bytes: number;
}

/**
 * @example
 * diskLayout("sha256:…", "prod", { name: "esp", source: "/tmp/esp.img", bytes: 34 << 20 }, [{ name: "base", source: "/…/base.img", bytes: 86016 }, …]);
 * // { diskGuid: "…", totalSectors: …, partitions: [{ name: "esp", firstLba: 2048, … }, { name: "base", firstLba: 71680, … }, …] }
 */
export function diskLayout(imageDigest: string, environment: string, esp: DiskContent, layers: DiskContent[]): DiskLayout {
  const partitions: DiskPartition[] = [];
  let nextLba = alignUp(FIRST_USABLE_LBA);
  for (const [content, type] of [[esp, PARTITION_TYPES.efiSystem] as const, ...layers.map((layer) => [layer, PARTITION_TYPES.linuxData] as const)]) {
    if (content.bytes <= 0 || content.bytes % SECTOR_BYTES !== 0) throw new Error(`Cannot place ${content.name} on a disk as its ${content.bytes} bytes are not a positive number of sectors`);
    const sectors = content.bytes / SECTOR_BYTES;
    partitions.push({ ...content, guid: derivedGuid(imageDigest, environment, content.name), type, firstLba: nextLba, lastLba: nextLba + sectors - 1 });
    nextLba = alignUp(nextLba + sectors);
  }
  // The backup table goes in the last 33 sectors; round the disk up to whole MiB after it.
  const totalSectors = alignUp(nextLba + BACKUP_SECTORS);
  return { diskGuid: derivedGuid(imageDigest, environment, "disk"), totalSectors, partitions };
}

/** The layout as the partition table writes it. */
export function gptOf(layout: DiskLayout): Gpt {
  return {
    diskGuid: layout.diskGuid, totalSectors: layout.totalSectors,
    partitions: layout.partitions.map(({ type, guid, firstLba, lastLba, name }) => ({ type, guid, firstLba, lastLba, name: `ingot-${name}` })),
  };
}

/**
 * A GUID from a sha256 of what identifies the partition, marked as RFC 9562 version 8 (custom):
 * stable for one image and environment, different between images.
 */
export function derivedGuid(imageDigest: string, environment: string, name: string): string {
  const bytes = createHash("sha256").update(`ingot export\0${imageDigest}\0${environment}\0${name}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function alignUp(lba: number): number {
  return Math.ceil(lba / ALIGNMENT_SECTORS) * ALIGNMENT_SECTORS;
}
