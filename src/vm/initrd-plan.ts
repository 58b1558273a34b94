// How an image's layers become the initrd QEMU boots, as data: which form fits the instance's
// memory, and per layer whether it is copied as stored, unpacked or recompressed on the host.
// Numbers: bench/compression.md and docs/benchmarks.md.
import type { ImageManifest, LayerDescriptor } from "../image/manifest.ts";
import { isDiskImage } from "./layer-disks.ts";

/**
 * - "unpacked": large layers decompressed on the host, the guest only copies. Needs memory for the
 *   initrd and its unpacked copy at once.
 * - "lz4-last": the largest layer recompressed with lz4 and moved to the end — the kernel's lz4
 *   decoder only works on the last archive, where it costs ~0.1 s instead of zstd's 1.2–2.5 s.
 * - "compressed": the smallest in memory; slow codecs (xz) recompressed with zstd -3.
 */
export type InitrdForm = "unpacked" | "lz4-last" | "compressed";

export type LayerTreatment = "copy" | "unpack" | "zstd" | "lz4";

/** What sizing an initrd reads of an image: its layers and its kernel. */
export type SizedImage = Pick<ImageManifest, "layers" | "kernel">;

export interface InitrdStep {
  layer: LayerDescriptor;
  how: LayerTreatment;
}

const MiB = 1024 * 1024;
/** xz costs +9.5 s in the guest for the Node runtime under software emulation: never boot it. */
const SLOW_IN_GUEST = new Set(["xz"]);
/** Layers smaller than this stay as they are: unpacking them in the guest costs milliseconds. */
const LARGE_LAYER_BYTES = 4 * MiB;
/** Room for the kernel, page tables and the app's first allocations, besides the initramfs. */
const UNPACKED_HEADROOM_MIB = 192;
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
 * What a layer takes in the initrd per unpacked byte, by treatment; measured on the Node runtime:
 * zstd -3 0.33, lz4 -9 0.41. lz4 is rounded up, so for examples/hello lz4-last is chosen from
 * 237 MiB, while it was measured to serve in 208 and fail in 200.
 */
const BOOT_RATIO: Record<Exclude<LayerTreatment, "copy">, number> = { unpack: 1, zstd: 1 / 3, lz4: 1 / 2 };

/**
 * @example
 * initrdForm(manifest, 512); // "unpacked" for a ~130 MiB Node image; "lz4-last" at 256 with ingot's kernel
 */
export function initrdForm(manifest: ImageManifest, memoryMiB: number): InitrdForm {
  const unpackedMiB = manifest.layers.reduce((sum, layer) => sum + layer.uncompressedSize, 0) / MiB;
  if (memoryMiB >= 2 * unpackedMiB + UNPACKED_HEADROOM_MIB) return "unpacked";
  // Without a large layer lz4-last is the compressed form under another name (and another cache file).
  return largeLayers(manifest).length > 0 && memoryMiB >= memoryNeededMiB(manifest, "lz4-last") ? "lz4-last" : "compressed";
}

/** The layers in boot order with what happens to each. */
export function initrdPlan(manifest: SizedImage, form: InitrdForm): InitrdStep[] {
  const compressed = (layer: LayerDescriptor): InitrdStep => ({ layer, how: SLOW_IN_GUEST.has(layer.compression) ? "zstd" : "copy" });
  const large = largeLayers(manifest);
  if (form === "unpacked") return manifest.layers.map((layer) => (large.includes(layer) ? { layer, how: "unpack" } : compressed(layer)));
  if (form === "compressed" || large.length === 0) return manifest.layers.map(compressed);
  const largest = large.reduce((a, b) => (b.uncompressedSize > a.uncompressedSize ? b : a));
  return [...manifest.layers.filter((layer) => layer !== largest).map(compressed), { layer: largest, how: "lz4" }];
}

function largeLayers(manifest: SizedImage): LayerDescriptor[] {
  return manifest.layers.filter((layer) => layer.uncompressedSize >= LARGE_LAYER_BYTES);
}

/** The initrd and what it unpacks to, at once, plus the kernel and its overhead. */
export function memoryNeededMiB(manifest: SizedImage, form: InitrdForm): number {
  const peak = initrdPlan(manifest, form).reduce((sum, { layer, how }) =>
    sum + layer.uncompressedSize + (how === "copy" ? layer.size : layer.uncompressedSize * BOOT_RATIO[how]), 0);
  return Math.ceil(peak / MiB + kernelMiB(manifest));
}

/**
 * What a disk-form guest needs besides its kernel's own image: its layers stay on disk and are read
 * into the page cache as used, which the kernel can drop again. examples/hello (ingot's kernel,
 * 15.5 MiB) serves in 40 MiB and fails in 32 (bench:disks, docs/benchmarks.md): this is that floor
 * with 8 MiB to spare. An app that needs more fails at boot with its own out-of-memory message.
 */
const DISK_FORM_WORKING_SET_MIB = 32;

/**
 * The least memory an image boots in: for an initrd image, its compressed form; for a disk image,
 * the kernel and the working set.
 */
export function minimumMemoryMiB(manifest: SizedImage): number {
  if (isDiskImage(manifest)) {
    const vmlinuxMiB = manifest.kernel?.uncompressedSize === undefined ? UNRECORDED_KERNEL_MIB : manifest.kernel.uncompressedSize / MiB;
    return Math.ceil(vmlinuxMiB + DISK_FORM_WORKING_SET_MIB);
  }
  return memoryNeededMiB(manifest, "compressed");
}

function kernelMiB(manifest: SizedImage): number {
  return manifest.kernel?.uncompressedSize === undefined ? UNRECORDED_KERNEL_MIB : manifest.kernel.uncompressedSize / MiB + KERNEL_OVERHEAD_MIB;
}

/** An instance's memory when ingot.yaml sets none: what a small Node app serves in, with room to spare. */
export const DEFAULT_MEMORY_MIB = 256;
/** What an app gets beside its booted image when the image is too large for the default. */
const APP_ALLOWANCE_MIB = 96;

/**
 * The memory an image's instances get when ingot.yaml sets none: 256 MiB, or for an image that needs
 * more than 224 MiB to boot (a Next.js app with its runtime: 263), what it needs plus 96 MiB for the
 * app, in steps of 64 MiB. examples/hello needs 216 and serves in 200.
 *
 * @example
 * defaultMemoryMiB(nextAppManifest); // 384
 */
export function defaultMemoryMiB(manifest: SizedImage): number {
  const neededMiB = minimumMemoryMiB(manifest);
  if (neededMiB + 32 <= DEFAULT_MEMORY_MIB) return DEFAULT_MEMORY_MIB;
  return Math.ceil((neededMiB + APP_ALLOWANCE_MIB) / 64) * 64;
}
