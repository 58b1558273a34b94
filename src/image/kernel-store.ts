// Kernels as content-addressed blobs in the vault, each with a record of what it is and what it
// was built from, so a locked build boots the pinned kernel even after the host's has moved on.
import { readdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { IngotError } from "../errors.ts";
import { fileSha256Hex, type Vault } from "../vault/vault.ts";
import { debianPackages } from "./debian-packages.ts";
import type { Kernel } from "./kernel.ts";
import { type KernelBlob, kernelBlob } from "./kernel-blob.ts";

const RECORDS = "kernel-records";

export interface StoredKernel extends KernelBlob {
  release: string;
  /** sha256:… of the kernel's .config. */
  config: string;
  /** What it was built from: ingot's kernel names its source package, a distribution kernel its binary package. */
  source: string;
  /** False for a kernel built without module support (ingot's): no module list in the image. */
  modular: boolean;
  /**
   * The same build as an EFI application (the bzImage kernel/install.sh puts beside vmlinux), kept
   * in the vault so `ingot export` boots the very kernel the image pins; absent when none was found.
   */
  efi?: { digest: string; size: number };
}

/**
 * Puts an installed kernel into the vault (once per file) and records it under the blob's digest.
 *
 * @example
 * const stored = await storeKernel(vault, await findKernel()); // { digest, release: "6.1.192-ingot", source: "linux-source-6.1 6.1.192-3", … }
 */
export async function storeKernel(vault: Vault, kernel: Kernel): Promise<StoredKernel> {
  const blob = await kernelBlob(vault, kernel.path);
  // Kept by the digest the record names, so a build can tell what the kernel supports (kernel-features.ts).
  if (kernel.configPath) await vault.putFile(kernel.configPath);
  const known = await vault.cacheGet<StoredKernel>(RECORDS, blob.digest);
  if (known?.efi && (await vault.hasBlob(known.efi.digest))) return known;
  const efiPath = await efiImageOf(kernel.path);
  if (known && !efiPath) return known;
  // A record made before the EFI image was kept gains it now.
  const stored: StoredKernel = known ?? {
    ...blob,
    release: kernel.version,
    config: kernel.configPath ? `sha256:${await fileSha256Hex(kernel.configPath)}` : `sha256:${"0".repeat(64)}`,
    source: kernel.builtFrom ?? (await owningPackage(kernel.path)),
    modular: kernel.modulesDir !== undefined,
  };
  if (efiPath) stored.efi = await vault.putFile(efiPath);
  await vault.cacheSet(RECORDS, blob.digest, stored);
  return stored;
}

/**
 * ingot's kernel: the bzImage installed beside its vmlinux. A distribution's kernel is not kept a
 * second time: it has its disk drivers as modules, so its images are initrd images, never exported.
 */
async function efiImageOf(path: string): Promise<string | undefined> {
  if (basename(path) !== "vmlinux") return undefined;
  const candidate = join(dirname(path), "bzImage");
  return (await stat(candidate).then((info) => info.isFile(), () => false)) ? candidate : undefined;
}

/** The vault's kernel by digest, or undefined when its blob or record is gone. */
export async function storedKernel(vault: Vault, digest: string): Promise<StoredKernel | undefined> {
  const stored = await vault.cacheGet<StoredKernel>(RECORDS, digest);
  return stored && (await vault.hasBlob(stored.digest)) ? stored : undefined;
}

/** Every kernel in the vault, newest release first (`ingot kernel ls`). */
export async function storedKernels(vault: Vault): Promise<StoredKernel[]> {
  const names = await readdir(`${vault.root}/cache/${RECORDS}`).catch(() => [] as string[]);
  const kernels = await Promise.all(names.filter((name) => /^[0-9a-f]{64}$/.test(name)).map((hex) => storedKernel(vault, `sha256:${hex}`)));
  return kernels.filter((kernel): kernel is StoredKernel => kernel !== undefined)
    .sort((a, b) => b.release.localeCompare(a.release, "en", { numeric: true }) || (a.digest < b.digest ? -1 : 1));
}

/** The kernel a lock pins, when the vault holds it. */
export async function lockedKernelOrExplain(vault: Vault, digest: string, release: string): Promise<StoredKernel> {
  const stored = await storedKernel(vault, digest);
  if (stored) return stored;
  throw new IngotError(`Cannot use the kernel ingot.lock pins (${release}, ${digest}) as neither the vault nor this host has it`, {
    code: "lock-kernel-missing",
    hint: "Build it on this host with kernel/install.sh from the same source package, or copy the vault from a machine that has it; ingot lock --update pins the kernel installed here",
  });
}

async function owningPackage(path: string): Promise<string> {
  const owner = (await debianPackages([path]).catch(() => new Map())).get(path);
  return owner ? `${owner.package} ${owner.version}` : "unknown";
}
