// What QEMU needs to give a guest its image's layers, whichever form they were built in: the
// disk form's read-only disks and the kernel arguments that check them, or the initrd form's initrd.
import type { ImageManifest } from "../image/manifest.ts";
import type { Vault } from "../vault/vault.ts";
import { assembleInitrd, initrdForm } from "./initrd.ts";
import { isDiskImage, layerCmdline, layerDisks } from "./layer-disks.ts";
import type { VmSpec } from "./qemu-args.ts";

export type GuestLayers = Pick<VmSpec, "initrd" | "layerDisks"> & { cmdline: string };

/**
 * @example
 * const layers = await guestLayers(vault, digest, manifest, 256);
 * QemuVm.start({ kernel, ...layers, cmdline: `${manifest.kernel.cmdline} ${layers.cmdline}`, … });
 */
export async function guestLayers(vault: Vault, digest: string, manifest: ImageManifest, memoryMiB: number): Promise<GuestLayers> {
  return isDiskImage(manifest)
    ? { layerDisks: await layerDisks(vault, manifest), cmdline: layerCmdline(manifest) }
    : { initrd: await assembleInitrd(vault, digest, manifest, initrdForm(manifest, memoryMiB)), cmdline: "" };
}
