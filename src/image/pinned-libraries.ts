// The shared libraries an image's programs load, taken from pinned Debian packages (the .debs the
// lock names, unpacked in the vault) instead of the build host's /lib, so the same lock gives the
// same bytes on any machine. A library no locked package supplies is pinned from the host's owner
// package; one that no package owns (a /usr/local build) is pinned by content.
import { fileSha256Hex, type Vault } from "../vault/vault.ts";
import type { LockedHostFile, LockedPackage } from "../lock/lock-file.ts";
import { type DebianPackage, debianPackages } from "./debian-packages.ts";
import { pinPackage, unpackedDeb } from "./debian-archive.ts";
import { hostFile } from "./host-file.ts";
import type { HostFile } from "./layer-plan.ts";
import { libraryClosure } from "./library-closure.ts";

export interface PinnedLibraries {
  /** Library files with the path the guest's loader opens and the bytes' path on this machine. */
  files: HostFile[];
  /** The packages that supplied at least one file, for the lock. */
  packages: LockedPackage[];
  hostFiles: LockedHostFile[];
  /** Guest path → the package that supplied it (for the SBOM). */
  owners: Map<string, LockedPackage>;
}

/** Rounds of "pin the owners of what the locked packages lack": a new package can need another. */
const MAX_ROUNDS = 4;

/**
 * @example
 * const { files, packages } = await pinnedLibraries(vault, ["/…/bin/node"], lock?.packages ?? []);
 * packages.map((p) => p.name); // ["libc6", "libgcc-s1", "libstdc++6"]
 */
export async function pinnedLibraries(vault: Vault, roots: string[], locked: LockedPackage[], options: { ownFolders?: string[]; log?: (line: string) => void } = {}): Promise<PinnedLibraries> {
  let packages = uniquePackages(locked);
  const ownFolders = options.ownFolders ?? [];
  for (let round = 0; ; round++) {
    const trees = await Promise.all(packages.map((pinned) => unpackedDeb(vault, pinned)));
    const { files } = await libraryClosure(roots, { trees });
    // Libraries inside node_modules (an addon's $ORIGIN, sharp's libvips) are the app's own files,
    // already in the image where the addon finds them: neither the system's nor added again.
    const isOwn = (file: { realPath: string }): boolean => ownFolders.some((dir) => file.realPath.startsWith(`${dir}/`));
    const fromHost = files.filter((file) => file.tree === undefined && !isOwn(file));
    const owners = fromHost.length > 0 && round < MAX_ROUNDS ? await debianPackages(fromHost.map((file) => file.path)) : new Map<string, DebianPackage>();
    const known = new Set(packages.map((pinned) => `${pinned.name}:${pinned.architecture}`));
    const missing = new Map<string, DebianPackage>();
    for (const owner of owners.values()) {
      const key = `${owner.package}:${owner.architecture ?? "amd64"}`;
      if (!known.has(key)) missing.set(key, owner);
    }
    if (missing.size > 0) {
      for (const owner of missing.values()) options.log?.(`lock: pinning Debian package ${owner.package} ${owner.version}`);
      packages = [...packages, ...(await Promise.all([...missing.values()].map((owner) => pinPackage(owner))))];
      continue;
    }
    const treeOwner = new Map(trees.map((tree, index) => [tree, packages[index]!]));
    const fileOwners = new Map(files.flatMap((file) => (file.tree === undefined ? [] : [[file.path, treeOwner.get(file.tree)!] as const])));
    const used = packages.filter((pinned) => [...fileOwners.values()].includes(pinned));
    return {
      files: await Promise.all(files.filter((file) => !isOwn(file)).map((file) => hostFile(file.realPath, file.path))),
      packages: used,
      hostFiles: await Promise.all(fromHost.map(async (file) => ({ path: file.path, digest: `sha256:${await fileSha256Hex(file.realPath)}` }))),
      owners: fileOwners,
    };
  }
}

/** The libraries of two closures (the runtime's, then native addons'), each file and package once. */
export function combinedLibraries(first: PinnedLibraries, second: PinnedLibraries): PinnedLibraries {
  const byPath = <T extends { path: string }>(items: T[]): T[] => [...new Map(items.map((item) => [item.path, item])).values()];
  return {
    files: byPath([...second.files, ...first.files]),
    packages: uniquePackages([...first.packages, ...second.packages]),
    hostFiles: byPath([...second.hostFiles, ...first.hostFiles]),
    owners: new Map([...second.owners, ...first.owners]),
  };
}

function uniquePackages(packages: LockedPackage[]): LockedPackage[] {
  return [...new Map(packages.map((pinned) => [`${pinned.name}:${pinned.architecture}`, pinned])).values()];
}
