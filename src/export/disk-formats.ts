// The formats `ingot export` writes, as data: raw is the disk itself; the others are what
// `qemu-img convert` makes of it. An unknown format is refused before any work starts.
import { IngotError } from "../errors.ts";

export type DiskFormat = "raw" | "qcow2" | "vmdk" | "vhd";

export interface DiskFormatSpec {
  /** The output file's extension. */
  extension: string;
  /** qemu-img convert's output options; absent for raw, which is written directly. */
  convert?: string[];
  /** Who takes it, for --help and docs. */
  for: string;
}

/**
 * qcow2 is compressed (-c): zlib clusters shrink the layers' plain EROFS blocks and the FAT's empty
 * space, and QEMU reads them as they are. vmdk is streamOptimized, the compressed form VMware,
 * VirtualBox and cloud image imports take. vhd is a dynamic VHD whose size stays exactly the raw
 * disk's (force_size: qemu-img would otherwise round it to a CHS geometry).
 */
export const DISK_FORMATS: Record<DiskFormat, DiskFormatSpec> = {
  raw: { extension: "raw", for: "QEMU, dd to a disk, cloud imports that take raw" },
  qcow2: { extension: "qcow2", convert: ["-O", "qcow2", "-c"], for: "QEMU, libvirt, Proxmox, OpenStack" },
  vmdk: { extension: "vmdk", convert: ["-O", "vmdk", "-o", "subformat=streamOptimized"], for: "VirtualBox, VMware, cloud imports" },
  vhd: { extension: "vhd", convert: ["-O", "vpc", "-o", "subformat=dynamic,force_size=on"], for: "Hyper-V, Azure (converted to fixed)" },
};

/**
 * @example
 * diskFormat("qcow2"); // "qcow2"
 * diskFormat("iso");   // throws: Cannot export as iso as it is not a disk format ingot writes: raw, qcow2, vmdk, vhd
 */
export function diskFormat(name: string): DiskFormat {
  if (Object.hasOwn(DISK_FORMATS, name)) return name as DiskFormat;
  throw new IngotError(`Cannot export as ${name} as it is not a disk format ingot writes: ${Object.keys(DISK_FORMATS).join(", ")}`, {
    code: "export-format-unknown", hint: "Pass --format raw, qcow2, vmdk or vhd",
  });
}
