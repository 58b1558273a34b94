// The EFI side of an exported disk: a unified kernel image (systemd's stub + ingot's bzImage + the
// command line, one PE file the firmware starts as \EFI\BOOT\BOOTX64.EFI with no boot loader and no
// initrd) on a FAT32 system partition. Both come out the same bytes for the same inputs.
import { readFile, stat, truncate, utimes, writeFile } from "node:fs/promises";
import { SECTOR_BYTES } from "./gpt.ts";
import { exportTool } from "./export-tool.ts";
import { withoutTimestamp } from "./pe-file.ts";

/** Debian's systemd-boot-efi; the stub reads .cmdline, .osrel and .linux from its own image. */
export const EFI_STUB = process.env.INGOT_EFI_STUB ?? "/usr/lib/systemd/boot/efi/linuxx64.efi.stub";

/**
 * Where the added sections are loaded, as systemd 252's documentation places them (objcopy
 * --change-section-vma): above the stub (its image ends at 0x19300), the kernel last, far enough
 * that a cmdline of any allowed length (2 KiB on x86) never reaches it.
 */
export const UKI_SECTIONS = { osrel: 0x20000, cmdline: 0x30000, linux: 0x2000000 } as const;

export interface UkiInput {
  stub: string;
  /** The kernel's EFI application (bzImage with CONFIG_EFI_STUB). */
  kernel: string;
  cmdline: string;
  /** os-release lines: firmware menus and systemd-boot show PRETTY_NAME. */
  osRelease: string;
}

/**
 * @example
 * await unifiedKernelImage({ stub: EFI_STUB, kernel: bzImage, cmdline, osRelease }, "/tmp/x/BOOTX64.EFI");
 */
export async function unifiedKernelImage(input: UkiInput, output: string): Promise<void> {
  const cmdlineFile = `${output}.cmdline`;
  const osrelFile = `${output}.osrel`;
  // The stub passes .cmdline as is; a trailing NUL or newline would end up in the last argument.
  await writeFile(cmdlineFile, input.cmdline);
  await writeFile(osrelFile, input.osRelease);
  await exportTool({
    argv: ["objcopy",
      "--add-section", `.osrel=${osrelFile}`, "--change-section-vma", `.osrel=0x${UKI_SECTIONS.osrel.toString(16)}`,
      "--add-section", `.cmdline=${cmdlineFile}`, "--change-section-vma", `.cmdline=0x${UKI_SECTIONS.cmdline.toString(16)}`,
      "--add-section", `.linux=${input.kernel}`, "--change-section-vma", `.linux=0x${UKI_SECTIONS.linux.toString(16)}`,
      input.stub, output],
    debianPackage: "binutils",
  });
  await writeFile(output, withoutTimestamp(await readFile(output)));
}

/** The system partition's size: FAT32's minimum (65,525 clusters of one sector, plus its FATs) or the image and 2 MiB of slack. */
export function espBytes(ukiBytes: number): number {
  const mib = 1024 * 1024;
  return Math.max(34 * mib, Math.ceil((ukiBytes + 2 * mib) / mib) * mib);
}

/**
 * A FAT32 file system holding only \EFI\BOOT\BOOTX64.EFI. FAT32 because UEFI 2.10 §13.3.1.1 wants
 * it for a system partition on a fixed disk (FAT12/16 only for removable media); mkfs.fat
 * --invariant fixes what it would take from the clock, the volume id is derived from the image,
 * and mtools stamps entries with SOURCE_DATE_EPOCH.
 *
 * @example
 * await efiSystemPartition("/tmp/x/BOOTX64.EFI", "/tmp/x/esp.img", 0x1c2a33f0);
 */
export async function efiSystemPartition(uki: string, output: string, volumeId: number): Promise<number> {
  const bytes = espBytes((await stat(uki)).size);
  await writeFile(output, "");
  await truncate(output, bytes);
  await exportTool({
    argv: ["mkfs.fat", "-F", "32", "-S", String(SECTOR_BYTES), "-s", "1", "-n", "INGOT-EFI", "-i", volumeId.toString(16).padStart(8, "0"), "--invariant", output],
    debianPackage: "dosfstools",
  });
  // 1980-01-01, FAT's first representable time, for every directory entry: the folders mmd makes
  // (SOURCE_DATE_EPOCH) and the file mcopy -m copies with its own modification time.
  const fatEpoch = 315532800;
  const env = { SOURCE_DATE_EPOCH: String(fatEpoch), MTOOLS_SKIP_CHECK: "1", TZ: "UTC" };
  await utimes(uki, fatEpoch, fatEpoch);
  await exportTool({ argv: ["mmd", "-i", output, "::/EFI", "::/EFI/BOOT"], debianPackage: "mtools", env });
  await exportTool({ argv: ["mcopy", "-m", "-i", output, uki, "::/EFI/BOOT/BOOTX64.EFI"], debianPackage: "mtools", env });
  return bytes;
}
