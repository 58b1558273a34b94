// Collects the files of an app folder as image entries under /app, refusing anything that would
// leak the build host into the image: symlinks pointing outside the folder, unreadable files.
import { lstat, open, readdir, readlink, realpath } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { IngotError } from "../errors.ts";
import type { Entry } from "./cpio.ts";

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
  return entries.sort((a, b) => compare(a.path, b.path));
}

async function walk(root: string, dir: string, target: string, entries: Entry[], problems: string[], excluded: Set<string>): Promise<void> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (error) {
    problems.push(`${dir}: cannot be read (${(error as NodeJS.ErrnoException).code})`);
    return;
  }
  for (const name of names) {
    if (excluded.has(name)) continue;
    const hostPath = join(dir, name);
    const imagePath = `${target}/${relative(root, hostPath).split(sep).join("/")}`;
    const info = await lstat(hostPath);
    if (info.isSymbolicLink()) {
      const link = await readlink(hostPath);
      const pointsTo = resolve(dir, link);
      if (isAbsolute(link) || !isInside(root, pointsTo)) problems.push(`${hostPath}: is a symlink pointing outside the app folder, to ${link}`);
      else entries.push({ type: "symlink", path: imagePath, target: link });
    } else if (info.isDirectory()) {
      entries.push({ type: "dir", path: imagePath, mode: 0o755 });
      await walk(root, hostPath, target, entries, problems, excluded);
    } else if (info.isFile()) {
      // open(), not access(): access() asks about the real user id, open() about the effective one.
      const readable = await open(hostPath, "r").then(async (handle) => { await handle.close(); return true; }, () => false);
      if (!readable) problems.push(`${hostPath}: is not readable`);
      else entries.push({ type: "file", path: imagePath, mode: info.mode & 0o111 ? 0o755 : 0o644, source: { kind: "host", path: hostPath, size: info.size } });
    } else {
      problems.push(`${hostPath}: is a socket, FIFO or device, which an image cannot carry`);
    }
  }
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** Byte order, so that the result does not depend on the host's locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
