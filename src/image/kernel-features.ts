// What a kernel must have built in to boot a disk-form image, checked at build time against its
// .config (kept in the vault by storeKernel), so an unsuitable kernel is refused before any boot.
import { IngotError } from "../errors.ts";
import type { Vault } from "../vault/vault.ts";
import type { StoredKernel } from "./kernel-store.ts";

/**
 * Built in (=y), not modules: a disk-form guest has no initrd to load modules from, and verity must
 * be set up (dm-mod.create) before the root filesystem is mounted.
 */
export const DISK_KERNEL_OPTIONS: Record<string, string> = {
  CONFIG_VIRTIO_BLK: "the layers' virtio disks",
  CONFIG_EROFS_FS: "the layers' filesystem",
  CONFIG_OVERLAY_FS: "the layers stacked as /",
  CONFIG_BLK_DEV_DM: "device mapper",
  CONFIG_DM_INIT: "dm-mod.create= on the command line",
  CONFIG_DM_VERITY: "dm-verity",
  CONFIG_CRYPTO_BLAKE2B: "the layers' verity hash, blake2b-512",
  CONFIG_DEVTMPFS_MOUNT: "/dev before init runs",
};

/**
 * @example
 * missingDiskOptions("CONFIG_VIRTIO_BLK=m\nCONFIG_EROFS_FS=y\n"); // ["CONFIG_VIRTIO_BLK", "CONFIG_OVERLAY_FS", …]
 */
export function missingDiskOptions(config: string): string[] {
  const builtIn = new Set(config.split("\n").filter((line) => line.endsWith("=y")).map((line) => line.slice(0, -2)));
  return Object.keys(DISK_KERNEL_OPTIONS).filter((option) => !builtIn.has(option));
}

/** Whether the kernel can boot disk layers, as far as its config in the vault says. */
export async function bootsDisks(vault: Vault, kernel: StoredKernel): Promise<boolean> {
  return (await missingOptionsOf(vault, kernel))?.length === 0;
}

async function missingOptionsOf(vault: Vault, kernel: StoredKernel): Promise<string[] | undefined> {
  const config = await vault.readBlob(kernel.config).then((bytes) => bytes.toString("utf8"), () => undefined);
  return config === undefined ? undefined : missingDiskOptions(config);
}

export async function assertKernelBootsDisks(vault: Vault, kernel: StoredKernel): Promise<void> {
  const missing = await missingOptionsOf(vault, kernel);
  if (missing?.length === 0) return;
  const what = missing === undefined
    ? "ingot cannot tell whether it has them: its .config is not in the vault (a kernel stored by an older ingot, or one installed without it)"
    : `it lacks ${missing.map((option) => `${option}=y (${DISK_KERNEL_OPTIONS[option]})`).join(", ")}`;
  throw new IngotError(`Cannot build verified disk layers for the kernel ${kernel.release} (${kernel.digest.slice(0, 19)}) as ${what}`, {
    code: "kernel-lacks-disk-support",
    hint: "Use ingot's kernel: scripts/setup.sh builds it with these options, and ingot lock --update pins it when ingot.lock names an older one; or build with --initrd to boot the layers from memory",
  });
}
