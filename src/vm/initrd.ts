// The initrd QEMU boots: the image's layers concatenated in order, which the kernel unpacks one
// after the other. It is derived from the image on the host and kept in the vault's cache; the
// image itself (the layer blobs) never changes.
import { spawn } from "node:child_process";
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { compressors, type Compression } from "../image/compression.ts";
import type { ImageManifest, LayerDescriptor } from "../image/manifest.ts";
import type { Vault } from "../vault/vault.ts";
import { IngotError } from "../errors.ts";

/**
 * "unpacked": large layers are decompressed on the host, because the guest kernel unpacking a
 * zstd runtime layer costs ~1.2 s under software emulation (docs/benchmarks.md). It needs memory
 * for the initrd and its unpacked copy at once, so small instances get the "compressed" form.
 */
export type InitrdForm = "compressed" | "unpacked";

const MiB = 1024 * 1024;
/**
 * Codecs the guest kernel unpacks slowly under software emulation (xz: +9.5 s for the Node runtime,
 * bench/compression.md); in the compressed form they are transcoded on the host to zstd -3.
 */
const SLOW_IN_GUEST = new Set(["xz"]);
/** Layers smaller than this stay compressed: unpacking them in the guest costs milliseconds. */
const UNPACK_FROM_BYTES = 4 * MiB;
/** Room for the kernel, page tables and the app's first allocations, besides the initramfs. */
const HEADROOM_MIB = 192;
/**
 * What the kernel needs besides its own image while it unpacks (page tables, slab, the unpacker's
 * buffers). Fitted to two measured floors of examples/hello (165.7 MiB of initramfs in the
 * compressed form): the Debian cloud kernel (vmlinux 50.8 MiB) boots in 256 MiB and panics in 240;
 * ingot's kernel (15.5 MiB) serves in 200 and fails in 192 (bench:instances).
 */
const KERNEL_OVERHEAD_MIB = 34;
/** For images that did not record their kernel's size: the cloud kernel's share, as measured. */
const UNRECORDED_KERNEL_MIB = 84;

/**
 * @example
 * initrdForm(manifest, 512); // "unpacked" for a ~130 MiB Node image, "compressed" at 256
 */
export function initrdForm(manifest: ImageManifest, memoryMiB: number): InitrdForm {
  const unpackedMiB = manifest.layers.reduce((sum, layer) => sum + layer.uncompressedSize, 0) / MiB;
  return memoryMiB >= 2 * unpackedMiB + HEADROOM_MIB ? "unpacked" : "compressed";
}

/**
 * Refuses, before booting, a memory size that cannot hold the compressed initrd and its unpacked
 * copy at once (the kernel would stop with "Initramfs unpacking failed" or run out of memory).
 */
export function assertMemoryFits(manifest: ImageManifest, memoryMiB: number): void {
  const neededMiB = minimumMemoryMiB(manifest);
  if (memoryMiB < neededMiB) {
    throw new IngotError(`Cannot boot ${manifest.name}:${manifest.version} in ${memoryMiB} MiB as its initramfs needs at least ${neededMiB} MiB`, {
      code: "memory-too-small", hint: `Give it more memory: --memory ${Math.ceil(neededMiB / 64) * 64}M (or resources.memory in ingot.yaml)`,
    });
  }
}

/** Unpacked layers + their compressed form (zstd -3 for xz layers, ~1/3) + the kernel and its overhead. */
export function minimumMemoryMiB(manifest: ImageManifest): number {
  const unpacked = manifest.layers.reduce((sum, layer) => sum + layer.uncompressedSize, 0);
  const compressed = manifest.layers.reduce((sum, layer) => sum + (SLOW_IN_GUEST.has(layer.compression) ? layer.uncompressedSize / 3 : layer.size), 0);
  const kernelMiB = manifest.kernel?.uncompressedSize === undefined ? UNRECORDED_KERNEL_MIB : manifest.kernel.uncompressedSize / MiB + KERNEL_OVERHEAD_MIB;
  return Math.ceil((unpacked + compressed) / MiB + kernelMiB);
}

/**
 * Verifies every layer blob (a corrupted one is an error naming it) and returns the initrd's path.
 *
 * @example
 * const initrd = await assembleInitrd(vault, digest, manifest, "unpacked");
 */
export async function assembleInitrd(vault: Vault, digest: string, manifest: ImageManifest, form: InitrdForm = "compressed"): Promise<string> {
  for (const layer of manifest.layers) await vault.verifyBlob(layer.digest);
  await vault.verifyBlob(manifest.kernel.digest);
  const dir = join(vault.root, "cache", "initrd");
  const path = join(dir, `${digest.replace("sha256:", "")}.${form}.img`);
  if (await stat(path).then(() => true, () => false)) return path;
  await mkdir(dir, { recursive: true });
  const temp = vault.tempPath("initrd");
  try {
    const out = createWriteStream(temp);
    let written = 0;
    for (const layer of manifest.layers) {
      const unpack = form === "unpacked" && layer.uncompressedSize >= UNPACK_FROM_BYTES;
      written += await appendLayer(out, vault.blobPath(layer.digest), layer, unpack ? "unpack" : SLOW_IN_GUEST.has(layer.compression) ? "transcode" : "copy");
      // The kernel skips NUL bytes between archives; an uncompressed cpio must start 4-byte aligned.
      const padding = (4 - (written % 4)) % 4;
      if (padding) out.write(Buffer.alloc(padding));
      written += padding;
    }
    out.end();
    await new Promise<void>((resolve, reject) => out.on("close", resolve).on("error", reject));
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return path;
}

/** Appends a layer as stored ("copy"), decompressed ("unpack") or recompressed with zstd -3 ("transcode"). */
async function appendLayer(out: WriteStream, blob: string, layer: LayerDescriptor, how: "copy" | "unpack" | "transcode"): Promise<number> {
  let bytes = 0;
  const count = async function* (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      bytes += chunk.length;
      yield chunk;
    }
  };
  if (how === "copy") {
    await pipeline(createReadStream(blob), count, out, { end: false });
    return bytes;
  }
  const decompress = `${compressors[layer.compression as Compression].command} -dc "$0"`;
  const shell = how === "unpack" ? decompress : `set -o pipefail; ${decompress} | zstd -3 -T2 -q -c`;
  const child = spawn("bash", ["-c", shell, blob], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<number>((resolve, reject) => child.on("error", reject).on("close", (code) => resolve(code ?? 1)));
  await pipeline(child.stdout, count, out, { end: false });
  if ((await exited) !== 0) throw new Error(`Cannot ${how} layer ${layer.name} (${layer.digest}) for the initrd`);
  return bytes;
}
