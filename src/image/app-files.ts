// Collects the files of an app folder as image entries under /app, refusing anything that would
// leak the build host into the image (symlinks pointing outside the folder, unreadable files) or
// that an archive cannot carry (FIFOs, devices, files of 4 GiB, names that are not UTF-8).
import type { Stats } from "node:fs";
import { lstat, open, readdir, readlink, realpath } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { IngotError } from "../errors.ts";
import { type Entry, MAX_CPIO_FILE_SIZE } from "./cpio.ts";

/** The kernel's initramfs unpacker skips names of PATH_MAX (4096) bytes or more, NUL included. */
const MAX_IMAGE_PATH_BYTES = 4095;

/**
 * Never part of an image: version control, installed dependencies (reinstalled from the lockfile),
 * ingot's own files (ingot.lock says how the image was made, not what the app reads).
 */
export const EXCLUDED_NAMES = new Set([".git", ".hg", ".svn", "node_modules", ".ingot", "ingot.yaml", "ingot.lock", ".DS_Store"]);

/**
 * Walks `dir` and returns sorted entries rooted at `target` (e.g. /app). File modes are normalized to
 * 0644 / 0755 so that the host's umask does not change the image.
 *
 * @example
 * await appFileEntries("examples/hello", "/app"); // [{ type: "dir", path: "/app", … }, { type: "file", path: "/app/server.js", … }]
 */
export async function appFileEntries(dir: string, target: string, excluded = EXCLUDED_NAMES): Promise<Entry[]> {
  const root = await realpath(resolve(dir));
  const entries: Entry[] = [{ type: "dir", path: target, mode: 0o755 }];
  const problems: string[] = [];
  await walk(root, root, target, entries, problems, excluded);
  if (problems.length > 0) {
    throw new IngotError(`Cannot include the app folder ${root} as:\n${problems.map((problem) => `  ${problem}`).join("\n")}`, {
      code: "app-files-invalid",
      hint: "Make the files readable, replace outside symlinks with copies, or move them out of the app folder",
    });
  }
  return entries.sort((a, b) => comparePaths(a.path, b.path));
}

async function walk(root: string, dir: string, target: string, entries: Entry[], problems: string[], excluded: Set<string>): Promise<void> {
  let rawNames: Buffer[];
  try {
    rawNames = await readdir(dir, { encoding: "buffer" });
  } catch (error) {
    problems.push(`${dir}: cannot be read (${(error as NodeJS.ErrnoException).code})`);
    return;
  }
  for (const rawName of rawNames.sort(Buffer.compare)) {
    const name = utf8(rawName);
    if (name === undefined) {
      problems.push(`${join(dir, rawName.toString("utf8"))}: has a name that is not UTF-8, which the image's paths must be`);
      continue;
    }
    if (excluded.has(name)) continue;
    const hostPath = join(dir, name);
    const imagePath = `${target}/${relative(root, hostPath).split(sep).join("/")}`;
    if (Buffer.byteLength(imagePath) > MAX_IMAGE_PATH_BYTES) {
      problems.push(`${hostPath}: is longer than the ${MAX_IMAGE_PATH_BYTES} bytes a path in the image may have`);
      continue;
    }
    const info = await lstat(hostPath).catch((error: NodeJS.ErrnoException) => error);
    if (info instanceof Error) {
      problems.push(`${hostPath}: cannot be read (${info.code})`);
    } else if (info.isSymbolicLink()) {
      const link = utf8(await readlink(hostPath, { encoding: "buffer" }));
      if (link === undefined) problems.push(`${hostPath}: is a symlink whose target is not UTF-8`);
      else if (isAbsolute(link) || !isInside(root, resolve(dir, link))) problems.push(`${hostPath}: is a symlink pointing outside the app folder, to ${link}`);
      else entries.push({ type: "symlink", path: imagePath, target: link });
    } else if (info.isDirectory()) {
      entries.push({ type: "dir", path: imagePath, mode: 0o755 });
      await walk(root, hostPath, target, entries, problems, excluded);
    } else {
      const entry = await fileEntry(hostPath, imagePath, info);
      if (typeof entry === "string") problems.push(`${hostPath}: ${entry}`);
      else entries.push(entry);
    }
  }
}

/**
 * The entries of one `files:` item of ingot.yaml: a file or folder that must lie inside the app
 * folder once every link is followed (`/etc/shadow`, `../x` or a link in node_modules pointing out
 * are refused), and be something an archive can carry. `label` names the item in errors.
 *
 * @example
 * await includedEntries("examples/hello", "config/prod.json", "/etc/app.json", "files[0].from");
 */
export async function includedEntries(appDir: string, from: string, target: string, label: string): Promise<Entry[]> {
  const root = await realpath(resolve(appDir));
  const hostPath = await realpath(resolve(root, from)).catch((error: NodeJS.ErrnoException) => {
    throw new IngotError(`Cannot include ${label} (files in ingot.yaml) as ${resolve(root, from)} ${error.code === "ENOENT" ? "does not exist" : `cannot be read (${error.code})`}: ${from}`, {
      code: "input-missing", hint: "Fix the path; it is relative to the app folder", cause: error,
    });
  });
  const refuse = (reason: string): IngotError => new IngotError(`Cannot include ${label} (files in ingot.yaml) as ${reason}: ${from}`, {
    code: "files-invalid", hint: "List only regular files and folders inside the app folder; copy outside files in first",
  });
  if (!isInside(root, hostPath)) throw refuse(`it resolves to ${hostPath}, outside the app folder ${root}`);
  const info = await lstat(hostPath);
  if (info.isDirectory()) return appFileEntries(hostPath, target, new Set());
  const entry = await fileEntry(hostPath, target, info);
  if (typeof entry === "string") throw refuse(`${hostPath} ${entry}`);
  return [entry];
}

/** A regular file as an entry, or why it cannot be one. */
async function fileEntry(hostPath: string, imagePath: string, info: Stats): Promise<Entry | string> {
  if (!info.isFile()) return "is a socket, FIFO or device, which an image cannot carry";
  // newc stores the size in 8 hex digits: a larger file would silently corrupt the layer.
  if (info.size > MAX_CPIO_FILE_SIZE) return `is ${(info.size / 2 ** 30).toFixed(1)} GiB, and an image file must be smaller than 4 GiB`;
  // open(), not access(): access() asks about the real user id, open() about the effective one.
  const readable = await open(hostPath, "r").then(async (handle) => { await handle.close(); return true; }, () => false);
  if (!readable) return "is not readable";
  return { type: "file", path: imagePath, mode: info.mode & 0o111 ? 0o755 : 0o644, source: { kind: "host", path: hostPath, size: info.size } };
}

/** The bytes as a string when they are valid UTF-8; otherwise the path in the image would not be the host's. */
function utf8(bytes: Buffer): string | undefined {
  const text = bytes.toString("utf8");
  return Buffer.from(text).equals(bytes) ? text : undefined;
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  // "..." or "..x" is a name inside the folder; only ".." itself or "../…" climbs out.
  return rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** Byte order, so that the result does not depend on the host's locale. */
/** Image paths in byte order, the order of every entry list. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
