// The inputs a build uses, as the lock pins them: the kernel and init by digest from the vault,
// node by version and digest. Without a lock entry (or with --update) each is resolved afresh from
// what this host has and the registry serves; the caller compares the result with the lock.
import { stat } from "node:fs/promises";
import semver from "semver";
import { IngotError } from "../errors.ts";
import type { LockedKernel, LockedNode } from "../lock/lock-file.ts";
import type { Vault } from "../vault/vault.ts";
import { findKernel } from "./kernel.ts";
import { lockedKernelOrExplain, type StoredKernel, storedKernel, storeKernel } from "./kernel-store.ts";
import { hostFile } from "./host-file.ts";
import type { HostFile } from "./layer-plan.ts";
import { fetchNodeRuntime, type NodeRuntime, PINNED_NODE_VERSION, resolveNodeVersion } from "./node-runtime.ts";

/**
 * The kernel to boot: an explicit choice; else the locked one from the vault, or the installed
 * kernel of the locked release when it is the same bytes; else the newest installed kernel.
 */
export async function pinKernel(vault: Vault, choice: string | undefined, locked: LockedKernel | undefined): Promise<StoredKernel> {
  if (choice) return storeKernel(vault, await findKernel(choice));
  if (locked) {
    const stored = await storedKernel(vault, locked.digest);
    if (stored) return stored;
    const sameRelease = await findKernel(locked.release).then((kernel) => storeKernel(vault, kernel), () => undefined);
    if (sameRelease?.digest === locked.digest) return sameRelease;
  }
  try {
    return await storeKernel(vault, await findKernel());
  } catch (error) {
    // No kernel here at all: name the locked one, which is what the user needs.
    if (locked && error instanceof IngotError && error.code === "kernel-missing") return lockedKernelOrExplain(vault, locked.digest, locked.release);
    throw error;
  }
}

/** PID 1: the locked build from the vault, else the file built from init/ (kept in the vault too). */
export async function pinInit(vault: Vault, path: string, locked: { digest: string } | undefined): Promise<HostFile & { digest: string }> {
  if (locked && (await vault.hasBlob(locked.digest))) {
    return { path: "/init", realPath: vault.blobPath(locked.digest), size: (await stat(vault.blobPath(locked.digest))).size, digest: locked.digest };
  }
  const built = await hostFile(path, "/init", "Build it with make -C init (scripts/setup.sh does it)");
  const { digest } = await vault.putFile(path);
  return { ...built, realPath: vault.blobPath(digest), digest };
}

/** The Node.js runtime: the locked release while it still satisfies the app's version spec. */
export async function pinNode(vault: Vault, spec: string | undefined, locked: LockedNode | undefined, source?: string): Promise<NodeRuntime> {
  const wanted = spec ?? PINNED_NODE_VERSION;
  if (locked && semver.satisfies(locked.version, semver.validRange(wanted) ?? wanted)) return fetchNodeRuntime(vault, locked);
  return fetchNodeRuntime(vault, await resolveNodeVersion(vault, spec, source));
}

/** The lock's record of a runtime. */
export function lockedNode(runtime: NodeRuntime): LockedNode {
  return { version: runtime.version, integrity: runtime.integrity, digest: runtime.digest, tarball: runtime.tarball };
}

/** The lock's record of a kernel. */
export function lockedKernel(kernel: StoredKernel): LockedKernel {
  return { release: kernel.release, digest: kernel.digest, config: kernel.config, source: kernel.source };
}
