// The initrd QEMU boots: the image's layers concatenated in order, which the kernel unpacks one
// after the other. Assembled once per image and kept in the vault's cache.
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { ImageManifest } from "../image/manifest.ts";
import type { Vault } from "../vault/vault.ts";

/**
 * Verifies every layer blob (a corrupted one is an error naming it) and returns the initrd's path.
 *
 * @example
 * const initrd = await assembleInitrd(vault, digest, manifest);
 */
export async function assembleInitrd(vault: Vault, digest: string, manifest: ImageManifest): Promise<string> {
  for (const layer of manifest.layers) await vault.verifyBlob(layer.digest);
  await vault.verifyBlob(manifest.kernel.digest);
  const dir = join(vault.root, "cache", "initrd");
  const path = join(dir, `${digest.replace("sha256:", "")}.img`);
  const expected = manifest.layers.reduce((sum, layer) => sum + layer.size, 0);
  if ((await stat(path).catch(() => undefined))?.size === expected) return path;
  await mkdir(dir, { recursive: true });
  const temp = vault.tempPath("initrd");
  try {
    const out = createWriteStream(temp);
    for (const layer of manifest.layers) await pipeline(createReadStream(vault.blobPath(layer.digest)), out, { end: false });
    out.end();
    await new Promise<void>((resolve, reject) => out.on("close", resolve).on("error", reject));
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return path;
}
