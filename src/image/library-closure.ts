// Finds every shared library a program loads, searching the way glibc's ld.so does, so the image can carry them.

import { readFile, readdir, realpath, stat } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { IngotError } from "../errors.ts";
import { EM_X86_64, readElf, type ElfInfo } from "./elf.ts";
import { TreeUnion } from "./tree-union.ts";

/** A library the loader opens, under the path it opens it by. */
export interface ClosureFile {
  /** The path the loader finds it at, e.g. `/lib/x86_64-linux-gnu/libc.so.6`; the image must contain this path. */
  path: string;
  /**
   * Where its bytes are on the host, symlinks resolved: e.g. `/usr/lib/x86_64-linux-gnu/libc.so.6`, or
   * `TREE/lib/x86_64-linux-gnu/libc.so.6` for a file a package tree supplied.
   */
  realPath: string;
  /** The tree of `options.trees` that supplied it; absent for a file taken from the host. */
  tree?: string;
  /** The roots and libraries whose PT_INTERP or DT_NEEDED led to it, sorted. */
  neededBy: string[];
}

export interface LibraryClosure {
  /** Sorted by path; the roots themselves are not listed. */
  files: ClosureFile[];
}

export interface LibraryClosureOptions {
  /** Replaces the system search path, which is otherwise read from /etc/ld.so.conf plus ld.so's built-in folders. */
  searchPaths?: string[];
  /**
   * Unpacked package trees that stand for the guest's root (see TreeUnion): the interpreter and
   * every library path are looked up in their union first and on the host only when no tree holds
   * them (a native addon's `$ORIGIN` folder, host-only libraries). The system search path is then
   * ld.so's built-in folders alone, as the guest has no /etc/ld.so.conf. The roots stay host paths.
   */
  trees?: string[];
}

/** Where a path's bytes are on the host, and the tree that supplied them (none for a host file). */
interface Located {
  realPath: string;
  tree?: string;
}

/** A search pass that takes a file wherever it was found. */
const anywhere: (located: Located) => boolean = () => true;

// Debian 12's ld.so (glibc 2.36) searches these after its cache, as `ld.so --help` lists them.
const SYSTEM_DIRECTORIES = ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib"];
// Debian builds glibc with slibdir=/lib/x86_64-linux-gnu, so its ld.so expands $LIB to this (seen with LD_DEBUG=libs).
const LIB_EXPANSION = "lib/x86_64-linux-gnu";
// AT_PLATFORM from the kernel; glibc 2.36 says "haswell" on AVX2 machines, but that depends on the guest's CPU.
const PLATFORM_EXPANSION = "x86_64";

/**
 * Computes the shared libraries that `roots` (executables or shared objects such as native addons) load,
 * transitively, with their interpreter. Every library that cannot be found is reported in one error.
 *
 * @example
 * const { files } = await libraryClosure(["/usr/bin/curl"]);
 * // [{ path: "/lib/x86_64-linux-gnu/libc.so.6", realPath: "/usr/lib/x86_64-linux-gnu/libc.so.6",
 * //    neededBy: ["/lib/x86_64-linux-gnu/libcurl.so.4", "/usr/bin/curl", ...] }, ...]
 * await libraryClosure([process.execPath], { trees: [libc6Tree, libstdcxxTree, libgccTree] });
 * // [..., { path: "/lib64/ld-linux-x86-64.so.2", realPath: `${libc6Tree}/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2`,
 * //         tree: libc6Tree, neededBy: [process.execPath] }, ...]
 */
export async function libraryClosure(roots: string[], options: LibraryClosureOptions = {}): Promise<LibraryClosure> {
  const union = options.trees === undefined ? undefined : new TreeUnion(options.trees);
  const walk: Walk = {
    systemDirectories: options.searchPaths ?? (union === undefined ? await systemSearchPath("/etc/ld.so.conf") : SYSTEM_DIRECTORIES),
    locate: once(async (path) => (await union?.file(path)) ?? (await hostFile(path))),
    systemPasses: union === undefined ? [anywhere] : [(located) => located.tree !== undefined, (located) => located.tree === undefined],
    probe: once(readElf),
    files: new Map(),
    unresolved: new Set(),
  };
  // Each root is its own process (or, for an addon, its own dlopen), so each gets a fresh set of loaded objects.
  for (const root of roots) await walkRoot(resolve(root), walk);

  if (walk.unresolved.size > 0) {
    const list = [...walk.unresolved].join(", ");
    const first = list.split(" ")[0] ?? "";
    throw new IngotError(`Cannot find the shared libraries as no search path holds them: ${list}`, {
      code: "library-unresolved",
      hint: `Install the package that provides each (apt-file search ${first}) or add its folder to the program's RUNPATH`,
    });
  }
  const entries = [...walk.files].map(([path, { located, neededBy }]) => ({ path, ...located, neededBy: [...neededBy].sort() }));
  return { files: entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)) };
}

interface Walk {
  systemDirectories: string[];
  /** The regular file the guest opens at a path: the trees' if they hold it, else the host's. */
  locate: (path: string) => Promise<Located | undefined>;
  /** The system folders are searched once per pass, each pass taking only the files it accepts. */
  systemPasses: ((located: Located) => boolean)[];
  /** Reads a candidate's headers once (by its real path), however many objects search for it. */
  probe: (realPath: string) => Promise<ElfInfo | undefined>;
  /** Library path → where it is and the objects that need it. */
  files: Map<string, { located: Located; neededBy: Set<string> }>;
  /** `name (needed by path)` for every library not found. */
  unresolved: Set<string>;
}

async function walkRoot(root: string, walk: Walk): Promise<void> {
  const { files, unresolved } = walk;
  const record = (path: string, located: Located, needer: string): void => {
    const entry = files.get(path) ?? { located, neededBy: new Set<string>() };
    files.set(path, entry);
    entry.neededBy.add(needer);
  };
  const elf = await readRoot(root);
  const realRoot = await realpath(root);
  // The kernel hands ld.so the executable's resolved path, so a root's $ORIGIN is its real folder.
  const main: LoadedObject = { path: root, located: { realPath: realRoot }, elf, origin: dirname(realRoot), names: new Set() };
  const loaded = [main];
  const queue = [main];
  if (elf.interpreter !== undefined) {
    const located = await walk.locate(elf.interpreter);
    const interpreter = located === undefined ? undefined : await walk.probe(located.realPath);
    if (located === undefined || interpreter === undefined || !sameArchitecture(interpreter, elf)) {
      unresolved.add(`${elf.interpreter} (needed by ${root})`);
    } else {
      // ld.so is loaded before anything else, so a later DT_NEEDED of its soname finds it rather than a copy.
      loaded.push({ path: elf.interpreter, located, elf: interpreter, origin: dirname(elf.interpreter), names: new Set() });
      record(elf.interpreter, located, root);
    }
  }
  // Breadth-first, like _dl_map_object_deps: the order decides which object "loaded" which, and so whose RPATH applies.
  for (let object = queue.shift(); object !== undefined; object = queue.shift()) {
    for (const name of object.elf.needed) {
      const already = loaded.find((other) => matches(other, name));
      if (already !== undefined) {
        if (already !== main) record(already.path, already.located, object.path);
        continue;
      }
      const found = await search(name, object, walk);
      if (found === undefined) {
        unresolved.add(`${name} (needed by ${object.path})`);
        continue;
      }
      record(found.path, found.located, object.path);
      // ld.so notices a file it already mapped under another name (same inode) and reuses it.
      const same = loaded.find((other) => other.located.realPath === found.located.realPath);
      if (same !== undefined) {
        same.names.add(name);
        continue;
      }
      const library: LoadedObject = { ...found, origin: dirname(found.path), loader: object, names: new Set([name]) };
      loaded.push(library);
      queue.push(library);
    }
  }
}

interface LoadedObject {
  /** The path the object was opened by; `$ORIGIN` of a library is its folder, as glibc keeps it. */
  path: string;
  located: Located;
  elf: ElfInfo;
  origin: string;
  /** The object whose DT_NEEDED first loaded this one (glibc's l_loader). */
  loader?: LoadedObject;
  /** The DT_NEEDED names it was loaded under. */
  names: Set<string>;
}

// _dl_name_match_p: an already loaded object satisfies a name it was opened by, its path, or its soname.
function matches(object: LoadedObject, name: string): boolean {
  return object.names.has(name) || object.path === name || object.elf.soname === name;
}

function sameArchitecture(candidate: ElfInfo, needer: ElfInfo): boolean {
  return candidate.class === needer.class && candidate.machine === needer.machine;
}

async function readRoot(path: string): Promise<ElfInfo> {
  const elf = await readElf(path);
  const unsupported = (reason: string, hint: string): IngotError =>
    new IngotError(`Cannot compute the library closure as ${reason}: ${path}`, { code: "elf-unsupported", hint });
  if (elf === undefined) {
    throw unsupported("the file is not an ELF binary", "List only native executables and shared objects as roots");
  }
  if (elf.class !== 64 || elf.machine !== EM_X86_64) {
    throw unsupported(
      `the binary is ${elf.class}-bit for machine ${elf.machine}, not x86-64`,
      "Use an x86-64 build of the program; images only run x86-64 code",
    );
  }
  if (elf.type !== "exec" && elf.type !== "dyn") {
    throw unsupported(`the file is an ELF ${elf.type} object`, "Link it into an executable or shared object first");
  }
  return elf;
}

// What open_verify in glibc opens: a regular file (whether it is a usable ELF object is the probe's to say).
async function hostFile(path: string): Promise<Located | undefined> {
  try {
    if (!(await stat(path)).isFile()) return undefined;
  } catch {
    return undefined;
  }
  return { realPath: await realpath(path) };
}

/** Memoizes an async lookup by its key, so concurrent and repeated lookups share one promise. */
function once<T>(lookup: (key: string) => Promise<T>): (key: string) => Promise<T> {
  const results = new Map<string, Promise<T>>();
  return (key) => {
    let result = results.get(key);
    if (result === undefined) results.set(key, (result = lookup(key)));
    return result;
  };
}

/** The search order of glibc's _dl_map_object, minus LD_LIBRARY_PATH and the hwcaps subfolders. */
async function search(
  name: string,
  needer: LoadedObject,
  walk: Walk,
): Promise<Found | undefined> {
  // The first place holding a path (a tree, else the host) is the file the guest has there; `pass` may refuse it.
  const accept = async (path: string, pass: (located: Located) => boolean): Promise<Found | undefined> => {
    const located = await walk.locate(path);
    if (located === undefined || !pass(located)) return undefined;
    const elf = await walk.probe(located.realPath);
    return elf !== undefined && sameArchitecture(elf, needer.elf) ? { path, elf, located } : undefined;
  };
  // A name with a slash is opened as a path, with no search; ld.so resolves a relative one against the cwd.
  const expandedName = name.includes("$") ? expandTokens(name, needer.origin) : name;
  if (expandedName.includes("/")) return accept(resolve(expandedName), anywhere);

  const directories: string[] = [];
  // DT_RPATH of the needer, then of whoever loaded it, up to the root; but not at all when the needer has DT_RUNPATH.
  if (needer.elf.runpath.length === 0) {
    for (let object: LoadedObject | undefined = needer; object !== undefined; object = object.loader) {
      if (object.elf.runpath.length > 0) continue;
      directories.push(...object.elf.rpath.map((entry) => expandTokens(entry, object.origin)));
    }
  }
  directories.push(...needer.elf.runpath.map((entry) => expandTokens(entry, needer.origin)));
  const searches = directories.map((directory) => ({ directory, pass: anywhere }));
  // With trees, a library a package ships wins over a host copy in any system folder (a merged-/usr host
  // has every library under /lib too); the host's folders serve only what no tree holds.
  for (const pass of walk.systemPasses) searches.push(...walk.systemDirectories.map((directory) => ({ directory, pass })));
  for (const { directory, pass } of searches) {
    if (!isAbsolute(directory)) continue;
    const found = await accept(join(directory, expandedName), pass);
    if (found !== undefined) return found;
  }
  return undefined;
}

interface Found {
  path: string;
  elf: ElfInfo;
  located: Located;
}

// Dynamic string tokens as _dl_dst_substitute knows them: $NAME or ${NAME}; an unknown one stays literal.
function expandTokens(entry: string, origin: string): string {
  const values: Record<string, string> = { ORIGIN: origin, LIB: LIB_EXPANSION, PLATFORM: PLATFORM_EXPANSION };
  return entry.replace(/\$(?:\{(ORIGIN|LIB|PLATFORM)\}|(ORIGIN|LIB|PLATFORM)(?![A-Za-z0-9_]))/g, (token, braced, bare) => {
    return values[(braced ?? bare) as string] ?? token;
  });
}

/**
 * The folders ld.so finds libraries in by default: its cache, built by ldconfig from ld.so.conf,
 * then its compiled-in system folders.
 */
async function systemSearchPath(configPath: string): Promise<string[]> {
  const directories = await readLdSoConf(configPath, new Set());
  return [...new Set([...directories, ...SYSTEM_DIRECTORIES])];
}

async function readLdSoConf(configPath: string, seen: Set<string>): Promise<string[]> {
  if (seen.has(configPath)) return [];
  seen.add(configPath);
  let text: string;
  try {
    text = await readFile(configPath, "utf8");
  } catch {
    return [];
  }
  const directories: string[] = [];
  for (const rawLine of text.split("\n")) {
    const line = rawLine.replace(/#.*/, "").trim();
    if (line === "" || /^hwcap\s/i.test(line)) continue;
    const include = /^include\s+(.*)$/.exec(line);
    if (include === null) {
      // ldconfig drops trailing slashes; some old configurations also separate folders with spaces, commas or colons.
      for (const directory of line.split(/[\s,:]+/)) directories.push(directory.replace(/(.)\/+$/, "$1"));
      continue;
    }
    for (const pattern of (include[1] ?? "").split(/\s+/)) {
      const absolute = isAbsolute(pattern) ? pattern : join(dirname(configPath), pattern);
      for (const included of await glob(absolute)) directories.push(...(await readLdSoConf(included, seen)));
    }
  }
  return directories;
}

// Node 20 has no fs.glob; ld.so.conf includes only ever use * and ? (and sometimes [...]) in file names.
async function glob(pattern: string): Promise<string[]> {
  let matches = ["/"];
  for (const component of pattern.split("/").filter((part) => part !== "")) {
    if (!/[*?[]/.test(component)) {
      matches = matches.map((base) => join(base, component));
      continue;
    }
    const expression = new RegExp(
      `^${component.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`,
    );
    const next: string[] = [];
    for (const base of matches) {
      const names = await readdir(base).catch(() => [] as string[]);
      for (const name of names.sort()) if (!name.startsWith(".") && expression.test(name)) next.push(join(base, name));
    }
    matches = next;
  }
  return matches;
}
