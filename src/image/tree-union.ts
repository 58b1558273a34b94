// The guest's file system as unpacked package trees laid over one another, resolved without ever reaching the host's own files.

import type { Stats } from "node:fs";
import { lstat, readlink, stat } from "node:fs/promises";
import { dirname, join } from "node:path";

/** A regular file of the union: the host path of its bytes (`realPath`, as a closure file names it) and the tree that holds them. */
export interface UnionFile {
  realPath: string;
  tree: string;
}

// Linux's MAXSYMLINKS: a lookup that needs more hops is a loop.
const MAX_SYMLINK_HOPS = 40;

/**
 * Looks guest paths up in the union of `trees`, component by component: the first tree that holds a
 * component wins, folders of several trees merge, and symlinks are followed inside the union (an
 * absolute target from the union's root, a relative one from its folder; `..` stops at the root).
 * Lookups are cached, so one union should serve one computation.
 *
 * @example
 * const union = new TreeUnion([libc6Tree, libstdcxxTree]);
 * await union.file("/lib64/ld-linux-x86-64.so.2");
 * // { realPath: `${libc6Tree}/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2`, tree: libc6Tree }
 */
export class TreeUnion {
  readonly #entries = new Map<string, Promise<Stats | undefined>>();

  constructor(readonly trees: string[]) {}

  /** The regular file at the guest's absolute `path`, or undefined when no tree holds one there. */
  async file(path: string): Promise<UnionFile | undefined> {
    let pending = components(path);
    // The guest folders walked so far; each is a real folder in the union, never a symlink.
    let folders: string[] = [];
    for (let hops = 0; pending.length > 0;) {
      const [name = "", ...rest] = pending;
      pending = rest;
      if (name === ".") continue;
      if (name === "..") {
        folders.pop();
        continue;
      }
      const guestPath = `/${[...folders, name].join("/")}`;
      const found = await this.#first(guestPath);
      if (found === undefined) return undefined;
      const { tree, stats } = found;
      if (stats.isSymbolicLink()) {
        if (++hops > MAX_SYMLINK_HOPS) return undefined;
        const target = await readlink(join(tree, guestPath));
        if (target.startsWith("/")) folders = [];
        pending = [...components(target), ...pending];
      } else if (pending.length === 0) {
        return stats.isFile() ? { realPath: join(tree, guestPath), tree } : undefined;
      } else if (stats.isDirectory()) {
        folders.push(name);
      } else {
        return undefined;
      }
    }
    return undefined;
  }

  async #first(guestPath: string): Promise<{ tree: string; stats: Stats } | undefined> {
    for (const tree of this.trees) {
      const stats = await this.#entry(tree, guestPath);
      if (stats !== undefined) return { tree, stats };
    }
    return undefined;
  }

  // An entry counts only when every folder above it is a real folder of the same tree, so a symlink
  // inside one tree is never followed by the host (where an absolute target would leave the union).
  #entry(tree: string, guestPath: string): Promise<Stats | undefined> {
    const key = `${tree}\0${guestPath}`;
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = guestPath === "/"
        ? stat(tree).catch(() => undefined)
        : this.#entry(tree, dirname(guestPath)).then((parent) =>
          parent?.isDirectory() === true ? lstat(join(tree, guestPath)).catch(() => undefined) : undefined);
      this.#entries.set(key, entry);
    }
    return entry;
  }
}

function components(path: string): string[] {
  return path.split("/").filter((part) => part !== "");
}
