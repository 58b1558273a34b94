// The package manager that installs an app's dependencies, taken from the npm registry (never the
// build host's by chance), pinned in ingot.lock like the runtime, and run by the app's own runtime.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import semver from "semver";
import { PACKAGE_MANAGERS, type PackageManagerChoice, type PackageManagerKind } from "../config/package-manager.ts";
import { IngotError } from "../errors.ts";
import type { LockedPackageManager } from "../lock/lock-file.ts";
import { exists, type Vault } from "../vault/vault.ts";
import type { NodeRuntime } from "./node-runtime.ts";
import { downloadTarball, registry } from "./registry-tarball.ts";

const run = promisify(execFile);

export interface PackageManagerTool extends LockedPackageManager {
  kind: PackageManagerKind;
  /** The unpacked package: DIR/bin/pnpm.cjs, and DIR/.ingot-bin with a shim per command. */
  dir: string;
}

interface RegistryVersions {
  versions: Record<string, { engines?: { node?: string }; dist: { integrity: string; tarball: string } }>;
}

/**
 * The package manager at the locked release while it still fits the app's choice (same package,
 * version within the spec); else the newest release of the spec that the runtime can run.
 *
 * @example
 * const pnpm = await pinPackageManager(vault, choice, runtime, lock?.packageManager); // { name: "pnpm", version: "9.15.9", … }
 */
export async function pinPackageManager(vault: Vault, choice: PackageManagerChoice, runtime: NodeRuntime, locked: LockedPackageManager | undefined): Promise<PackageManagerTool> {
  const spec = PACKAGE_MANAGERS[choice.kind];
  if (locked && locked.name === spec.package && semver.satisfies(locked.version, choice.spec)) return unpack(vault, choice.kind, locked);
  const url = `${registry()}/${spec.package.replace("/", "%2f")}`;
  const response = await fetch(url, { headers: { accept: "application/vnd.npm.install-v1+json" } }).catch((error: unknown) => {
    throw new IngotError(`Cannot resolve ${spec.package}@${choice.spec} (${choice.source}) as the npm registry is unreachable: ${url}`, {
      code: "registry-unreachable", hint: "Check the network; once pinned in ingot.lock and kept in the vault, the package manager needs no registry", cause: error,
    });
  });
  if (!response.ok) throw new IngotError(`Cannot resolve ${spec.package}@${choice.spec} as the registry answered ${response.status}: ${url}`, { code: "registry-error", hint: "Try again later" });
  const { versions } = (await response.json()) as RegistryVersions;
  const version = pickPackageManagerVersion(versions, choice.spec, runtime.version);
  if (!version) {
    const inSpec = Object.keys(versions).filter((item) => semver.satisfies(item, choice.spec));
    throw new IngotError(inSpec.length === 0
      ? `Cannot find ${spec.package}@${choice.spec} (${choice.source}) in the npm registry`
      : `Cannot run ${spec.package}@${choice.spec} (${choice.source}) with node ${runtime.version}, the app's runtime, as it needs node ${versions[semver.maxSatisfying(inSpec, choice.spec)!]!.engines?.node}`, {
      code: "package-manager-unavailable",
      hint: inSpec.length === 0 ? 'Name a published version in package.json: "packageManager": "pnpm@9.12.0"' : "Use a newer runtime (engines.node, .nvmrc or runtime: in ingot.yaml), or name an older release in package.json packageManager",
    });
  }
  const dist = versions[version]!.dist;
  return unpack(vault, choice.kind, { name: spec.package, version, integrity: dist.integrity, tarball: dist.tarball, digest: "" });
}

/**
 * The newest version within the spec whose engines.node the runtime satisfies; undefined when none.
 *
 * @example
 * pickPackageManagerVersion({ "10.9.2": { engines: { node: "^18.17.0 || >=20.5.0" }, … }, "11.6.2": { engines: { node: "^20.17.0 || >=22.9.0" }, … } }, "10 || 11", "18.20.4"); // "10.9.2"
 */
export function pickPackageManagerVersion(versions: RegistryVersions["versions"], spec: string, runtimeVersion: string): string | undefined {
  const runnable = Object.keys(versions).filter((version) => {
    const engines = versions[version]!.engines?.node;
    return !engines || semver.satisfies(runtimeVersion, engines);
  });
  return semver.maxSatisfying(runnable, spec) ?? undefined;
}

/** The tarball from the vault (downloaded once, checked), unpacked into a cache folder named by its digest. */
async function unpack(vault: Vault, kind: PackageManagerKind, pinned: LockedPackageManager): Promise<PackageManagerTool> {
  const spec = PACKAGE_MANAGERS[kind];
  const integrityKey = `pm:${pinned.integrity}`;
  const known = pinned.digest || (await vault.cacheGet<{ digest: string }>("package-manager-tarballs", sha256Hex(integrityKey)))?.digest;
  let digest = known;
  if (!digest || !(await vault.hasBlob(digest))) {
    const label = `${spec.package} ${pinned.version}`;
    digest = await downloadTarball(vault, { what: label, locked: label, tarball: pinned.tarball, integrity: pinned.integrity, ...(pinned.digest ? { digest: pinned.digest } : {}) });
    await vault.cacheSet("package-manager-tarballs", sha256Hex(integrityKey), { digest });
  }
  const dir = join(vault.root, "cache", "package-managers", `${spec.package.replace("/", "+")}-${pinned.version}-${digest.slice(7, 23)}`);
  const tool = { ...pinned, digest, kind, dir };
  if (await exists(join(dir, ".ingot-bin"))) return tool;
  const temp = vault.tempPath("package-manager");
  await mkdir(temp, { recursive: true });
  try {
    await run("tar", ["-xzf", vault.blobPath(digest), "-C", temp, "--no-same-owner"]);
    // Shims, so a script that calls `pnpm run x` (or a build tool that spawns yarn) gets this one.
    await mkdir(join(temp, "package", ".ingot-bin"));
    for (const command of spec.commands) {
      const file = join(temp, "package", ".ingot-bin", command);
      const target = command === "npx" ? "bin/npx-cli.js" : command === "pnpx" ? "bin/pnpx.cjs" : spec.bin;
      await writeFile(file, `#!/bin/sh\nexec node "${join(dir, target)}" "$@"\n`);
      await chmod(file, 0o755);
    }
    await mkdir(join(vault.root, "cache", "package-managers"), { recursive: true });
    await rename(join(temp, "package"), dir).catch((error: NodeJS.ErrnoException) => {
      // Another build unpacked the same package manager first; theirs is identical.
      if (error.code !== "ENOTEMPTY" && error.code !== "EEXIST") throw error;
    });
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  return tool;
}

/** The lock's record of a package manager. */
export function lockedPackageManager(tool: PackageManagerTool): LockedPackageManager {
  return { name: tool.name, version: tool.version, integrity: tool.integrity, digest: tool.digest, tarball: tool.tarball };
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
