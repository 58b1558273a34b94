// `ingot export`'s runner: checks everything it can before any work, makes the EFI system partition,
// lays the disk out (disk-layout.ts), writes the raw disk, converts it when another format is asked
// for, and renames the result into place: a failure (a full disk) leaves no partial file behind.
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { createHash } from "node:crypto";
import { IngotError } from "../errors.ts";
import type { ImageManifest } from "../image/manifest.ts";
import { diskError, isAlive, type Vault } from "../vault/vault.ts";
import { isDiskImage, layerDisks } from "../vm/layer-disks.ts";
import { DISK_FORMATS, type DiskFormat } from "./disk-formats.ts";
import { derivedGuid, diskLayout, type DiskLayout, gptOf } from "./disk-layout.ts";
import { EFI_STUB, efiSystemPartition, unifiedKernelImage } from "./efi-image.ts";
import { exportCmdline } from "./export-cmdline.ts";
import { exportKernel } from "./export-kernel.ts";
import { gptBytes, SECTOR_BYTES } from "./gpt.ts";
import { exportTool } from "./export-tool.ts";
import { stabilizeIds } from "./stable-ids.ts";

export interface ExportOptions {
  environment: string;
  format: DiskFormat;
  output: string;
  /** Replace an existing output file. */
  force: boolean;
}

export interface ExportResult {
  output: string;
  format: DiskFormat;
  /** The disk's size as a guest sees it. */
  diskBytes: number;
  /** The output file's size. */
  fileBytes: number;
  /** What it takes on the host's disk: a raw disk is sparse, its empty space a hole. */
  allocatedBytes: number;
  cmdline: string;
  layout: DiskLayout;
  elapsedMs: number;
}

/**
 * @example
 * const result = await exportDisk(vault, { digest, manifest }, { environment: "prod", format: "qcow2", output: "hello.qcow2", force: false });
 * result.diskBytes; // 173015040
 */
export async function exportDisk(vault: Vault, image: { digest: string; manifest: ImageManifest }, options: ExportOptions): Promise<ExportResult> {
  const started = performance.now();
  const { digest, manifest } = image;
  assertExportable(manifest, options.environment);
  await assertOutputFree(options.output, options.force);
  const kernel = await exportKernel(vault, manifest);
  const layers = await layerDisks(vault, manifest);
  const cmdline = exportCmdline(manifest, manifest.layers.map((layer) => derivedGuid(digest, options.environment, layer.name)), options.environment);

  const work = vault.tempPath("export");
  // Beside the output, so the final rename never crosses file systems, in a dot folder until it is
  // whole; under the output's own name, which a VMDK records as its extent.
  const tempFolder = join(dirname(options.output), `.ingot-export-${process.pid}`);
  const temp = join(tempFolder, basename(options.output));
  await removeAbandoned(dirname(options.output));
  await mkdir(work, { recursive: true });
  await mkdir(tempFolder, { recursive: true });
  try {
    const uki = join(work, "BOOTX64.EFI");
    await unifiedKernelImage({ stub: EFI_STUB, kernel, cmdline, osRelease: osRelease(manifest, options.environment) }, uki);
    const esp = join(work, "esp.img");
    const espBytes = await efiSystemPartition(uki, esp, volumeId(digest, options.environment));
    const layerContents = await Promise.all(manifest.layers.map(async (layer, index) => ({ name: layer.name, source: layers[index]!, bytes: (await stat(layers[index]!)).size })));
    const layout = diskLayout(digest, options.environment, { name: "esp", source: esp, bytes: espBytes }, layerContents);
    const spec = DISK_FORMATS[options.format];
    if (spec.convert) {
      const raw = join(work, "disk.raw");
      await writeRawDisk(layout, raw);
      await exportTool({ argv: ["qemu-img", "convert", "-q", "-f", "raw", ...spec.convert, raw, temp], debianPackage: "qemu-utils" });
      await stabilizeIds(options.format, temp, derivedSeed(digest, options.environment, "ids"));
    } else {
      await writeRawDisk(layout, temp);
    }
    await rename(temp, options.output);
    const written = await stat(options.output);
    return {
      output: options.output, format: options.format, diskBytes: layout.totalSectors * SECTOR_BYTES, fileBytes: written.size, allocatedBytes: written.blocks * 512,
      cmdline, layout, elapsedMs: performance.now() - started,
    };
  } catch (error) {
    if (error instanceof IngotError) throw error;
    throw diskError(error, options.output);
  } finally {
    await rm(tempFolder, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  }
}

/** Refusals that need no work: an initrd image, an environment the image does not know. */
export function assertExportable(manifest: Pick<ImageManifest, "layers" | "environments" | "name">, environment: string): void {
  if (!isDiskImage(manifest)) {
    throw new IngotError(`Cannot export ${manifest.name} as its layers are an initrd, not verified disks`, {
      code: "export-not-disk", hint: "Build it without --initrd (with ingot's kernel) and export that image",
    });
  }
  const known = [...new Set(["dev", "prod", ...Object.keys(manifest.environments)])];
  if (!/^[a-z0-9][a-z0-9._-]{0,62}$/.test(environment) || !known.includes(environment)) {
    throw new IngotError(`Cannot export ${manifest.name} for environment ${environment} as its ingot.yaml does not define it`, {
      code: "environment-unknown", hint: `Environments: ${known.join(", ")}`,
    });
  }
}

async function assertOutputFree(output: string, force: boolean): Promise<void> {
  const existing = await stat(output).catch(() => undefined);
  if (existing?.isDirectory()) {
    throw new IngotError(`Cannot export to ${output} as it is a folder`, { code: "export-output-folder", hint: "Pass a file name with -o, e.g. -o disk.qcow2" });
  }
  if (existing && !force) {
    throw new IngotError(`Cannot export to ${output} as it exists`, { code: "export-output-exists", hint: "Pass --force to replace it, or another -o" });
  }
  if (!(await stat(dirname(output)).then((info) => info.isDirectory(), () => false))) {
    throw new IngotError(`Cannot export to ${output} as its folder does not exist`, { code: "export-output-folder", hint: `mkdir -p ${dirname(output)}` });
  }
}

/** The dot folders of exports whose process is gone (killed mid-way: Ctrl-C exits at once). */
async function removeAbandoned(folder: string): Promise<void> {
  for (const name of await readdir(folder).catch(() => [] as string[])) {
    const pid = Number(/^\.ingot-export-(\d+)$/.exec(name)?.[1]);
    if (pid > 0 && !isAlive(pid)) await rm(join(folder, name), { recursive: true, force: true }).catch(() => {});
  }
}

/**
 * The partition table at both ends, each partition's bytes at its place. Blocks of zeros are not
 * written: they stay holes, so the empty space of the FAT and between partitions costs the host
 * no disk (a guest reads zeros there all the same).
 */
async function writeRawDisk(layout: DiskLayout, path: string): Promise<void> {
  const { head, tail } = gptBytes(gptOf(layout));
  const file = await open(path, "w");
  try {
    await file.truncate(layout.totalSectors * SECTOR_BYTES);
    await file.write(head, 0, head.length, 0);
    await file.write(tail, 0, tail.length, layout.totalSectors * SECTOR_BYTES - tail.length);
    for (const partition of layout.partitions) {
      let position = partition.firstLba * SECTOR_BYTES;
      for await (const chunk of createReadStream(partition.source, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
        for (let at = 0; at < chunk.length; at += HOLE_BYTES) {
          const block = chunk.subarray(at, at + HOLE_BYTES);
          if (!isZero(block)) await file.write(block, 0, block.length, position + at);
        }
        position += chunk.length;
      }
    }
  } finally {
    await file.close();
  }
}

const HOLE_BYTES = 4096;
const ZEROS = Buffer.alloc(HOLE_BYTES);

function isZero(block: Buffer): boolean {
  return block.equals(block.length === HOLE_BYTES ? ZEROS : Buffer.alloc(block.length));
}

function osRelease(manifest: Pick<ImageManifest, "name" | "version">, environment: string): string {
  return [
    "ID=ingot", "NAME=ingot", `PRETTY_NAME="${manifest.name} ${manifest.version} (ingot, ${environment})"`,
    `IMAGE_ID=${manifest.name}`, `IMAGE_VERSION=${manifest.version}`, "",
  ].join("\n");
}

/** FAT's 32-bit volume serial, derived like the GUIDs. */
function volumeId(digest: string, environment: string): number {
  return derivedSeed(digest, environment, "fat").readUInt32BE(0);
}

function derivedSeed(digest: string, environment: string, purpose: string): Buffer {
  return createHash("sha256").update(`ingot export\0${digest}\0${environment}\0${purpose}`).digest();
}
