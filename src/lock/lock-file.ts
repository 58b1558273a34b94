// ingot.lock: every input of an image pinned by digest, beside ingot.yaml, committed like
// package-lock.json. Read and validated before any work, written only when its content changes.
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { IngotError } from "../errors.ts";

export const LOCK_FILE = "ingot.lock";
/** Bumped when the format changes incompatibly; a lock from a newer ingot is refused, never guessed at. */
export const LOCK_FORMAT = 1;

/** The Node.js runtime: the registry's package, by its integrity and the tarball's sha256. */
export interface LockedNode {
  version: string;
  /** The registry's Subresource Integrity string (sha512-…). */
  integrity: string;
  /** sha256:… of the tarball, the vault blob it is kept as. */
  digest: string;
  tarball: string;
}

/** The package manager that installs the app's dependencies: its npm registry package, pinned like node. */
export interface LockedPackageManager {
  /** The registry package: npm, pnpm, yarn (Yarn 1) or @yarnpkg/cli-dist (Yarn 2+). */
  name: string;
  version: string;
  integrity: string;
  digest: string;
  tarball: string;
}

/** The kernel as the vault stores it (a blob), with what it was built from. */
export interface LockedKernel {
  release: string;
  /** sha256:… of the kernel blob in the vault (what the manifest names). */
  digest: string;
  /** sha256:… of the kernel's .config. */
  config: string;
  /** The Debian source package ingot's kernel was built from ("linux-source-6.1 6.1.192-3"), or the binary package of a distribution kernel. */
  source: string;
}

/** A Debian package that supplies files of the image, by the sha256 of its .deb. */
export interface LockedPackage {
  name: string;
  version: string;
  architecture: string;
  /** Hex sha256 of the .deb, as the archive's signed index lists it. */
  sha256: string;
}

/** A library no Debian package owns (a /usr/local build), pinned by content. */
export interface LockedHostFile {
  path: string;
  digest: string;
}

export interface LockFile {
  lockfileVersion: typeof LOCK_FORMAT;
  node?: LockedNode;
  packageManager?: LockedPackageManager;
  kernel: LockedKernel;
  init: { digest: string };
  packages: LockedPackage[];
  hostFiles: LockedHostFile[];
}

/** A lock that cannot be used: not JSON, a wrong shape, an unknown key, a newer format. */
export class LockError extends IngotError {
  override name = "LockError";
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const HEX = /^[0-9a-f]{64}$/;
const INTEGRITY = /^sha512-[A-Za-z0-9+/]+={0,2}$/;
const PACKAGE_NAME = /^[a-z0-9][a-z0-9.+-]+$/;
const DEBIAN_VERSION = /^[A-Za-z0-9.+~:-]+$/;
// Printable text: no control characters (they would reach terminals and file names).
// eslint-disable-next-line no-control-regex
const TEXT = /^[^\0-\x1f\x7f]{1,200}$/;

type Field = [name: string, pattern: RegExp];
const SHAPES: Record<string, Field[]> = {
  node: [["version", /^\d+\.\d+\.\d+$/], ["integrity", INTEGRITY], ["digest", DIGEST], ["tarball", /^https?:\/\/\S+$/]],
  packageManager: [["name", /^(npm|pnpm|yarn|@yarnpkg\/cli-dist)$/], ["version", /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/], ["integrity", INTEGRITY], ["digest", DIGEST], ["tarball", /^https?:\/\/\S+$/]],
  kernel: [["release", TEXT], ["digest", DIGEST], ["config", DIGEST], ["source", TEXT]],
  init: [["digest", DIGEST]],
  package: [["name", PACKAGE_NAME], ["version", DEBIAN_VERSION], ["architecture", /^[a-z0-9-]+$/], ["sha256", HEX]],
  hostFile: [["path", /^\/[^\0]{1,4095}$/], ["digest", DIGEST]],
};

/**
 * Reads DIR/ingot.lock; undefined when there is none. Every problem is named by its path.
 *
 * @example
 * const lock = await readLock("examples/hello"); // { lockfileVersion: 1, node: { version: "22.23.5", … }, … }
 */
export async function readLock(dir: string): Promise<LockFile | undefined> {
  const file = join(dir, LOCK_FILE);
  const text = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw new LockError(`Cannot read ${file} as ${error.message}`, { code: "lock-unreadable", hint: "Check the file's permissions", cause: error });
  });
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new LockError(`Cannot use ${file} as it is not valid JSON: ${(cause as Error).message}`, { code: "lock-invalid", hint: `Restore it from version control, or delete it and run ingot lock to pin the current inputs`, cause });
  }
  return parseLock(value, file);
}

/** Validates a parsed lock; exported for tests. */
export function parseLock(value: unknown, file = LOCK_FILE): LockFile {
  const problems: string[] = [];
  if (!isObject(value)) throw invalid(file, ["(top): must be an object"]);
  if (typeof value.lockfileVersion === "number" && value.lockfileVersion > LOCK_FORMAT) {
    throw new LockError(`Cannot use ${file} as it was written by a newer ingot (lock format ${value.lockfileVersion}, this ingot reads ${LOCK_FORMAT})`, {
      code: "lock-too-new", hint: "Upgrade ingot, or run ingot lock --update to re-pin with this one",
    });
  }
  if (value.lockfileVersion !== LOCK_FORMAT) problems.push(`lockfileVersion: must be ${LOCK_FORMAT}, got ${JSON.stringify(value.lockfileVersion)}`);
  unknownKeys(value, ["lockfileVersion", "node", "packageManager", "kernel", "init", "packages", "hostFiles"], "", problems);
  if (value.node !== undefined) checkShape(value.node, "node", SHAPES.node!, problems);
  if (value.packageManager !== undefined) checkShape(value.packageManager, "packageManager", SHAPES.packageManager!, problems);
  checkShape(value.kernel, "kernel", SHAPES.kernel!, problems);
  checkShape(value.init, "init", SHAPES.init!, problems);
  checkList(value.packages, "packages", SHAPES.package!, problems);
  checkList(value.hostFiles, "hostFiles", SHAPES.hostFile!, problems);
  if (problems.length > 0) throw invalid(file, problems);
  return value as unknown as LockFile;
}

/** The lock's text: sorted lists, two-space JSON, a final newline, so diffs in review are small. */
export function formatLock(lock: LockFile): string {
  const byName = <T extends { name?: string; path?: string }>(items: T[]): T[] =>
    [...items].sort((a, b) => ((a.name ?? a.path ?? "") < (b.name ?? b.path ?? "") ? -1 : 1));
  const ordered: LockFile = {
    lockfileVersion: lock.lockfileVersion,
    ...(lock.node ? { node: lock.node } : {}),
    ...(lock.packageManager ? { packageManager: lock.packageManager } : {}),
    kernel: lock.kernel,
    init: lock.init,
    packages: byName(lock.packages),
    hostFiles: byName(lock.hostFiles),
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

/** Writes DIR/ingot.lock through a temporary file, so an interrupted write never leaves half a lock. */
export async function writeLock(dir: string, lock: LockFile): Promise<void> {
  const file = join(dir, LOCK_FILE);
  const temp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(temp, formatLock(lock));
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw new IngotError(`Cannot write ${file} as ${(error as Error).message}`, { code: "lock-write", hint: "Make the app folder writable, or build with --locked to use the lock as it is", cause: error });
  }
}

function checkList(value: unknown, path: string, fields: Field[], problems: string[]): void {
  if (!Array.isArray(value)) {
    problems.push(`${path}: must be a list`);
    return;
  }
  value.forEach((item, index) => checkShape(item, `${path}[${index}]`, fields, problems));
  const keys = value.map((item) => (isObject(item) ? JSON.stringify([item.name ?? item.path, item.architecture]) : ""));
  const repeated = value.find((_item, index) => keys.indexOf(keys[index]!) !== index) as Record<string, unknown> | undefined;
  if (repeated) problems.push(`${path}: names ${String(repeated.name ?? repeated.path)} twice`);
}

function checkShape(value: unknown, path: string, fields: Field[], problems: string[]): void {
  if (!isObject(value)) {
    problems.push(`${path}: must be an object with ${fields.map(([name]) => name).join(", ")}`);
    return;
  }
  for (const [name, pattern] of fields) {
    const field = value[name];
    if (typeof field !== "string" || !pattern.test(field)) problems.push(`${path}.${name}: must match ${pattern.source}, got ${JSON.stringify(field)?.slice(0, 80)}`);
  }
  unknownKeys(value, fields.map(([name]) => name), `${path}.`, problems);
}

function unknownKeys(value: Record<string, unknown>, known: string[], prefix: string, problems: string[]): void {
  for (const key of Object.keys(value)) if (!known.includes(key)) problems.push(`${prefix}${key}: is not a key of ingot.lock`);
}

function invalid(file: string, problems: string[]): LockError {
  return new LockError(`Cannot use ${file} as it has ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n${problems.map((problem) => `  ${problem}`).join("\n")}`, {
    code: "lock-invalid", hint: "Restore it from version control, or run ingot lock --update to pin the current inputs afresh",
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
