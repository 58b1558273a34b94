// The initrd QEMU boots: the image's layers concatenated in order, which the kernel unpacks one
// after the other. It is derived from the image on the host and kept in the vault's cache; the
// image itself (the layer blobs) never changes.
import { createReadStream, createWriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import type { ImageManifest, LayerDescriptor } from "../image/manifest.ts";
import type { Vault } from "../vault/vault.ts";
import { IngotError } from "../errors.ts";
import { unpackLayer } from "./layer-unpack.ts";
import { initrdPlan, minimumMemoryMiB, type InitrdForm, type LayerTreatment } from "./initrd-plan.ts";
import { isDiskImage } from "./layer-disks.ts";

export { initrdForm, minimumMemoryMiB, type InitrdForm } from "./initrd-plan.ts";

/**
 * Refuses, before booting, a memory size that cannot hold the compressed initrd and its unpacked
 * copy at once (the kernel would stop with "Initramfs unpacking failed" or run out of memory).
 */
export function assertMemoryFits(manifest: ImageManifest, memoryMiB: number): void {
  const neededMiB = minimumMemoryMiB(manifest);
  if (memoryMiB < neededMiB) {
    const what = isDiskImage(manifest) ? "its kernel and app need" : "its initramfs needs";
    throw new IngotError(`Cannot boot ${manifest.name}:${manifest.version} in ${memoryMiB} MiB as ${what} at least ${neededMiB} MiB`, {
      code: "memory-too-small", hint: `Give it more memory: --memory ${Math.ceil(neededMiB / 64) * 64}M (or resources.memory in ingot.yaml)`,
    });
  }
}

/**
 * Verifies every layer blob (a corrupted one is an error naming it) and returns the initrd's path.
 * Each layer's boot form is cached by layer digest, so an app-only change never recompresses the
 * runtime again; the initrd itself is their concatenation.
 *
 * @example
 * const initrd = await assembleInitrd(vault, digest, manifest, "unpacked");
 */
export async function assembleInitrd(vault: Vault, digest: string, manifest: ImageManifest, form: InitrdForm = "compressed"): Promise<string> {
  for (const layer of manifest.layers) await vault.verifyBlob(layer.digest);
  await vault.verifyBlob(manifest.kernel.digest);
  return vault.cachedFile("initrd", digest, `${form}.img`, async (temp) => {
    const parts: string[] = [];
    for (const { layer, how } of initrdPlan(manifest, form)) parts.push(how === "copy" ? vault.blobPath(layer.digest) : await bootLayer(vault, layer, how));
    const out = createWriteStream(temp);
    let written = 0;
    for (const part of parts) {
      await pipeline(createReadStream(part), out, { end: false });
      written += (await stat(part)).size;
      // The kernel skips NUL bytes between archives; an uncompressed cpio must start 4-byte aligned.
      const padding = (4 - (written % 4)) % 4;
      if (padding) out.write(Buffer.alloc(padding));
      written += padding;
    }
    out.end();
    await new Promise<void>((resolve, reject) => out.on("close", resolve).on("error", reject));
  });
}

/** The commands that give a layer its boot form, reading the decompressed cpio on stdin. */
const RECOMPRESS: Record<Exclude<LayerTreatment, "copy">, string> = {
  unpack: "cat",
  zstd: "zstd -3 -T2 -q -c",
  // -l: the legacy frame format, the only one the kernel's lz4 initramfs decoder reads.
  lz4: "lz4 -l -9 -q -c",
};

/** A layer decompressed and, but for "unpack", recompressed; kept in the cache by layer digest. */
async function bootLayer(vault: Vault, layer: LayerDescriptor, how: Exclude<LayerTreatment, "copy">): Promise<string> {
  return vault.cachedFile("initrd-layers", layer.digest, how, (temp) => unpackLayer(vault, layer, temp, RECOMPRESS[how], how, "initrd-failed"));
}
