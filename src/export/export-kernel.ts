// The kernel an exported disk boots: the EFI bzImage of the very build whose vmlinux the image
// pins (manifest.kernel.digest), from the vault's kernel record, never whatever is installed now.
import { IngotError } from "../errors.ts";
import { findKernel } from "../image/kernel.ts";
import { storedKernel, storeKernel } from "../image/kernel-store.ts";
import type { ImageManifest } from "../image/manifest.ts";
import type { Vault } from "../vault/vault.ts";

/**
 * The vault path of the image kernel's EFI application. A record made before bzImages were kept
 * gains one from the installed kernel of the same release, only when its vmlinux is the same bytes.
 *
 * @example
 * await exportKernel(vault, manifest); // "/…/blobs/sha256/3f…" (the bzImage)
 */
export async function exportKernel(vault: Vault, manifest: Pick<ImageManifest, "kernel" | "name">): Promise<string> {
  let stored = await storedKernel(vault, manifest.kernel.digest);
  if (!stored?.efi || !(await vault.hasBlob(stored.efi.digest))) {
    const installed = await findKernel(manifest.kernel.version).then((kernel) => storeKernel(vault, kernel), () => undefined);
    if (installed?.digest === manifest.kernel.digest) stored = installed;
  }
  if (!stored?.efi || !(await vault.hasBlob(stored.efi.digest))) {
    throw new IngotError(`Cannot export ${manifest.name} as the vault has no EFI image (bzImage) of its kernel ${manifest.kernel.version} (${manifest.kernel.digest.slice(0, 19)})`, {
      code: "export-kernel-missing",
      hint: "Install the same kernel with kernel/install.sh (it puts bzImage beside vmlinux), then export again; or rebuild the image with the kernel installed here",
    });
  }
  await vault.verifyBlob(stored.efi.digest);
  return vault.blobPath(stored.efi.digest);
}
