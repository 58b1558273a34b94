// Base libraries from pinned Debian packages: pins what the host has installed to a .deb the archive serves, fetches it into the vault once by sha256, and unpacks it once.

import { execFile } from "node:child_process";
import { copyFile, mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { IngotError } from "../errors.ts";
import { exists, fileSha256Hex, type Vault } from "../vault/vault.ts";
import type { DebianPackage } from "./debian-packages.ts";

const run = promisify(execFile);

/** A Debian package pinned by the sha256 of its .deb, as ingot.lock records it. */
export interface PinnedPackage {
  name: string;
  version: string;
  /** `amd64`, or `all` for architecture-independent packages. */
  architecture: string;
  /** The .deb's sha256, 64 hex digits. */
  sha256: string;
}

/** Puts the pinned package's .deb into `intoDirectory` (an empty folder in the vault) and returns the file's path. */
export type DebDownload = (pinned: PinnedPackage, intoDirectory: string) => Promise<string>;

export interface DebianArchiveOptions {
  /** Replaces `apt-get download` (tests, offline mirrors); its file is verified like apt's. */
  download?: DebDownload;
  /** apt's own cache of downloaded .debs, tried before downloading. */
  aptCacheDirectory?: string;
}

// Images only run x86-64 code, so a package dpkg lists without an architecture is taken as amd64.
const DEFAULT_ARCHITECTURE = "amd64";
const APT_CACHE_DIRECTORY = "/var/cache/apt/archives";
// As root, apt downloads as the _apt user, which cannot write a vault folder private to root; the file is verified anyway.
const APT_DOWNLOAD_OPTIONS = ["-o", "APT::Sandbox::User=root"];

/**
 * The archive's record of one version: its .deb's SHA256 from apt's index, or undefined when no
 * configured archive serves that version (a version only dpkg's status knows has no SHA256).
 *
 * @example
 * await archivePackage("libgcc-s1", "12.2.0-14+deb12u1", "amd64");
 * // { name: "libgcc-s1", version: "12.2.0-14+deb12u1", architecture: "amd64", sha256: "3016e62c…" }
 */
export async function archivePackage(name: string, version: string, architecture: string): Promise<PinnedPackage | undefined> {
  const { stdout } = await apt("apt-cache", ["show", `${name}:${architecture}=${version}`], { missingIsEmpty: true });
  for (const stanza of stdout.split(/\n\s*\n/)) {
    const fields = new Map([...stanza.matchAll(/^(Version|Architecture|SHA256):[ \t]*(\S+)/gm)].map((match) => [match[1], match[2]]));
    const sha256 = fields.get("SHA256");
    if (sha256 !== undefined && fields.get("Version") === version && fields.get("Architecture") === architecture) {
      return { name, version, architecture, sha256 };
    }
  }
  return undefined;
}

/**
 * What to lock for a package installed on the host: the installed version while the archive still
 * serves it, else apt's candidate version, so the lock always names a version that can be downloaded.
 *
 * @example
 * await pinPackage({ package: "tzdata", version: "2025b-0+deb12u2", architecture: "all" });
 * // the archive dropped 2025b-0+deb12u2: { name: "tzdata", version: "2026f-0+deb12u1", architecture: "all", sha256: "…" }
 */
export async function pinPackage(installed: DebianPackage): Promise<PinnedPackage> {
  const { package: name, version } = installed;
  const architecture = installed.architecture ?? DEFAULT_ARCHITECTURE;
  const pinned = await archivePackage(name, version, architecture);
  if (pinned !== undefined) return pinned;
  const { stdout } = await apt("apt-cache", ["policy", `${name}:${architecture}`], { missingIsEmpty: true });
  const candidate = /^\s*Candidate:\s*(\S+)/m.exec(stdout)?.[1];
  const served = candidate === undefined || candidate === "(none)" ? undefined : await archivePackage(name, candidate, architecture);
  if (served !== undefined) return served;
  throw new IngotError(`Cannot pin a Debian package as no configured archive serves any version of it: ${name}:${architecture}=${version}`, {
    code: "package-unavailable",
    hint: "Run apt-get update so apt knows what the archive serves now, then lock again",
  });
}

/**
 * The .deb as the vault blob `sha256:<sha256>`, fetched once: from the vault, else from apt's cache,
 * else downloaded with apt. The bytes are verified before they are kept; a mismatch keeps nothing.
 *
 * @example
 * const deb = await fetchDeb(vault, await pinPackage(installed)); // $INGOT_HOME/blobs/sha256/3016e62c…
 */
export async function fetchDeb(vault: Vault, pinned: PinnedPackage, options: DebianArchiveOptions = {}): Promise<string> {
  const digest = `sha256:${pinned.sha256}`;
  const blob = vault.blobPath(digest);
  if (await exists(blob)) return blob;
  const temp = vault.tempPath("deb");
  try {
    await mkdir(temp);
    const file = (await fromAptCache(pinned, temp, options.aptCacheDirectory ?? APT_CACHE_DIRECTORY))
      ?? (await (options.download ?? aptDownload)(pinned, temp));
    const actual = await fileSha256Hex(file);
    if (actual !== pinned.sha256) {
      throw new IngotError(`Cannot use the Debian package ${label(pinned)} as its .deb's sha256 is ${actual}, not the locked ${pinned.sha256}`, {
        code: "package-digest-mismatch",
        hint: "The archive or a mirror serves other bytes under this version; check the mirror, or re-pin with ingot lock --update",
      });
    }
    await vault.adoptBlob(file, digest);
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  return blob;
}

/**
 * The .deb's files, unpacked once into the vault's cache/debs/<sha256>/ (fetching the .deb first if
 * needed). Symlinks are kept as the package ships them, e.g. lib64/ld-linux-x86-64.so.2 → /lib/….
 *
 * @example
 * const tree = await unpackedDeb(vault, pinned);
 * join(tree, "lib/x86_64-linux-gnu/libgcc_s.so.1");
 */
export async function unpackedDeb(vault: Vault, pinned: PinnedPackage, options: DebianArchiveOptions = {}): Promise<string> {
  return vault.cachedFolder("debs", `sha256:${pinned.sha256}`, async (temp) => {
    const deb = await fetchDeb(vault, pinned, options);
    await run("dpkg-deb", ["-x", deb, temp]).catch((cause: unknown) => {
      throw new IngotError(`Cannot unpack the Debian package ${label(pinned)} as dpkg-deb failed: ${stderrOf(cause)}`, {
        code: "package-unpack",
        hint: (cause as NodeJS.ErrnoException).code === "ENOENT" ? "Install dpkg (apt-get install dpkg)" : `Check the vault's copy: ${deb}`,
        cause,
      });
    });
  });
}

/** apt's file name for a .deb: an epoch's colon is written %3a. */
function debFileName(pinned: PinnedPackage): string {
  return `${pinned.name}_${pinned.version.replace(/:/g, "%3a")}_${pinned.architecture}.deb`;
}

// A copy, not a move: apt owns its cache. A file there with other bytes is just not the one we want.
async function fromAptCache(pinned: PinnedPackage, temp: string, cacheDirectory: string): Promise<string | undefined> {
  const cached = join(cacheDirectory, debFileName(pinned));
  if (!(await exists(cached)) || (await fileSha256Hex(cached)) !== pinned.sha256) return undefined;
  const copy = join(temp, debFileName(pinned));
  await copyFile(cached, copy);
  return copy;
}

const aptDownload: DebDownload = async (pinned, intoDirectory) => {
  try {
    await apt("apt-get", [...APT_DOWNLOAD_OPTIONS, "download", label(pinned)], { cwd: intoDirectory });
  } catch (error) {
    // apt-get only says it found no source; whether the archive dropped this version is apt-cache's to tell.
    if ((error as IngotError).code !== "apt-failed" || (await archivePackage(pinned.name, pinned.version, pinned.architecture)) !== undefined) throw error;
    throw new IngotError(`Cannot fetch the locked Debian package as no configured archive serves it any more and the vault does not hold it: ${label(pinned)}`, {
      code: "package-not-served",
      hint: "Re-pin to what the archive serves with ingot lock --update (or run apt-get update if apt's lists are stale)",
      cause: error,
    });
  }
  const debs = (await readdir(intoDirectory)).filter((name) => name.endsWith(".deb"));
  return join(intoDirectory, debs[0] ?? debFileName(pinned));
};

/** Runs an apt tool; with `missingIsEmpty`, a package apt has never heard of gives no output rather than an error. */
async function apt(command: string, args: string[], options: { cwd?: string; missingIsEmpty?: boolean } = {}): Promise<{ stdout: string }> {
  try {
    return await run(command, args, { cwd: options.cwd, maxBuffer: 64 * 1024 * 1024 });
  } catch (cause) {
    const commandLine = `${command} ${args.join(" ")}`;
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") {
      throw new IngotError(`Cannot query Debian's archive as ${command} is not installed: ${commandLine}`, {
        code: "apt-missing",
        hint: "Build on a Debian or Ubuntu host with apt, where the base libraries come from pinned .deb files",
        cause,
      });
    }
    // apt-cache show exits 100 for a name it does not know (and 0, printing nothing, for an unknown version of a known one).
    if (options.missingIsEmpty === true && /No packages found/.test(stderrOf(cause))) return { stdout: "" };
    throw new IngotError(`Cannot query Debian's archive as ${command} failed: ${commandLine}: ${stderrOf(cause)}`, {
      code: "apt-failed",
      hint: "Check the network and apt's sources (apt-get update), then build again",
      cause,
    });
  }
}

function label(pinned: PinnedPackage): string {
  return `${pinned.name}:${pinned.architecture}=${pinned.version}`;
}

function stderrOf(error: unknown): string {
  const stderr = (error as { stderr?: string }).stderr?.trim();
  return stderr !== undefined && stderr !== "" ? stderr.split("\n").at(-1) ?? stderr : (error as Error).message;
}
