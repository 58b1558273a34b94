// qemu-img stamps a random id into a VMDK's descriptor (CID) and a creation time and random UUID
// into a VHD's footer; those few bytes are replaced by values derived from the image, so every
// format of the same export is the same bytes. (qcow2 has none.)
import { open } from "node:fs/promises";
import type { DiskFormat } from "./disk-formats.ts";

const VHD_FOOTER_BYTES = 512;

/**
 * @example
 * await stabilizeIds("vhd", "/tmp/disk.vhd", Buffer.from(digestHex, "hex"));
 */
export async function stabilizeIds(format: DiskFormat, path: string, seed: Buffer): Promise<void> {
  if (format === "vmdk") await patchVmdkCid(path, seed);
  if (format === "vhd") await patchVhdFooters(path, seed);
}

/**
 * The descriptor of a streamOptimized VMDK is NUL-padded text in the sectors its header names.
 * qemu-img writes the CID without leading zeros (CID=%x), so one conversion in 16 has fewer than 8
 * digits: the descriptor is rewritten with an 8-digit CID and padded again, the same bytes whatever
 * the random one was.
 */
async function patchVmdkCid(path: string, seed: Buffer): Promise<void> {
  const file = await open(path, "r+");
  try {
    const header = Buffer.alloc(64);
    await file.read(header, 0, header.length, 0);
    if (header.toString("latin1", 0, 4) !== "KDMV") throw new Error(`Cannot find the VMDK header in ${path}`);
    const offset = Number(header.readBigUInt64LE(28)) * 512;
    const area = Buffer.alloc(Number(header.readBigUInt64LE(36)) * 512);
    await file.read(area, 0, area.length, offset);
    const text = area.toString("latin1", 0, area.includes(0) ? area.indexOf(0) : area.length);
    if (!/\nCID=[0-9a-f]{1,8}\n/.test(text)) throw new Error(`Cannot find the CID in ${path}'s VMDK descriptor`);
    // Never ffffffff, which means "no parent".
    const cid = seed.subarray(0, 4).toString("hex").replace(/^ffffffff$/, "fffffffe");
    const descriptor = Buffer.from(text.replace(/\nCID=[0-9a-f]{1,8}\n/, `\nCID=${cid}\n`), "latin1");
    if (descriptor.length >= area.length) throw new Error(`Cannot fit the CID in ${path}'s VMDK descriptor`);
    area.fill(0);
    descriptor.copy(area);
    await file.write(area, 0, area.length, offset);
  } finally {
    await file.close();
  }
}

/** A VHD's footer is at its end and, for a dynamic disk, copied at its start: time stamp, UUID and checksum in both. */
async function patchVhdFooters(path: string, seed: Buffer): Promise<void> {
  const file = await open(path, "r+");
  try {
    const { size } = await file.stat();
    const offsets = [...new Set([0, size - VHD_FOOTER_BYTES])];
    for (const offset of offsets) {
      const footer = Buffer.alloc(VHD_FOOTER_BYTES);
      await file.read(footer, 0, VHD_FOOTER_BYTES, offset);
      if (footer.toString("latin1", 0, 8) !== "conectix") continue; // a fixed disk's start is data
      footer.writeUInt32BE(0, 24); // seconds since 2000-01-01
      seed.copy(footer, 68, 0, 16);
      footer.writeUInt32BE(vhdChecksum(footer), 64);
      await file.write(footer, 0, VHD_FOOTER_BYTES, offset);
    }
  } finally {
    await file.close();
  }
}

/** The one's complement of the sum of the footer's bytes, its checksum field taken as zero (VHD spec, "Checksum"). */
export function vhdChecksum(footer: Buffer): number {
  let sum = 0;
  for (let at = 0; at < footer.length; at++) if (at < 64 || at >= 68) sum += footer[at]!;
  return ~sum >>> 0;
}
