// A layer's entries as an EROFS filesystem, made by mkfs.erofs (erofs-utils) from a staging folder
// with every setting that could vary fixed: the same entries give the same bytes on any machine.
import { constants } from "node:fs";
import { chmod, copyFile, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { IngotError } from "../errors.ts";
import { runHostTool } from "../process/host-tool.ts";
import type { Vault } from "../vault/vault.ts";
import type { Entry } from "./cpio.ts";
import type { LayerFilesystem } from "./layer-plan.ts";

/** Any fixed value does: the UUID only has to be the same in every build. */
const FILESYSTEM_UUID = "6e676f74-0000-4000-8000-000000000001";

/**
 * -T0 and --all-root: every file's time is 0 and its owner root (the app runs as another user and
 * only reads); -x -1: no extended attributes, which the staging folder's filesystem might add.
 * mkfs.erofs sorts each folder's entries itself, so the order they were staged in does not matter.
 */
export function mkfsErofsArgs(filesystem: LayerFilesystem, output: string, folder: string): string[] {
  const compression = filesystem.compression === "none" ? [] : [`-z${filesystem.compression}`];
  return ["--quiet", "-T0", `-U${FILESYSTEM_UUID}`, "--all-root", "-x", "-1", ...compression, output, folder];
}

/**
 * @example
 * const image = await writeErofs(vault, entries, { kind: "erofs", compression: "none" }); // a Buffer, a multiple of 4 KiB
 */
export async function writeErofs(vault: Vault, entries: Entry[], filesystem: LayerFilesystem): Promise<Buffer> {
  const staging = vault.tempPath("erofs");
  const output = `${staging}.img`;
  try {
    await stage(entries, staging);
    await runHostTool({
      argv: ["mkfs.erofs", ...mkfsErofsArgs(filesystem, output, staging)], purpose: "write a disk-form layer", debianPackage: "erofs-utils",
      codes: { missing: "erofs-missing", failed: "erofs-failed" }, alternative: "build with --initrd", failedHint: "Check that the vault's disk has room",
    });
    return await readFile(output);
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rm(output, { force: true });
  }
}

/** Lays the entries out as files; they come sorted with their parents first (withParents). */
async function stage(entries: Entry[], root: string): Promise<void> {
  await mkdir(root);
  await chmod(root, 0o755);
  for (const entry of entries) {
    const path = join(root, entry.path);
    switch (entry.type) {
      case "dir":
        await mkdir(path, { recursive: true });
        await chmod(path, entry.mode);
        break;
      case "symlink":
        await symlink(entry.target, path);
        break;
      case "file":
        // A copy, never a link: setting the mode must not touch the app's or the vault's own file.
        if (entry.source.kind === "bytes") await writeFile(path, entry.source.data);
        else await copyFile(entry.source.path, path, constants.COPYFILE_FICLONE);
        await chmod(path, entry.mode);
        break;
      case "device":
        // Disk-form guests get /dev from the kernel (devtmpfs is mounted before init runs).
        throw new IngotError(`Cannot put the device ${entry.path} into an EROFS layer`, { code: "layer-device", hint: "Leave device nodes out of disk-form layers: the kernel's devtmpfs provides them" });
    }
  }
}

