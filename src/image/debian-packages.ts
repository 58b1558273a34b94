// Tells which installed Debian package ships a file, from dpkg's own database, for the image's SBOM.

import { readFile, readdir, realpath } from "node:fs/promises";
import { join } from "node:path";
import { IngotError } from "../errors.ts";

/** An installed package as dpkg records it. */
export interface DebianPackage {
  package: string;
  version: string;
  /** `amd64`, or `all` for architecture-independent packages. */
  architecture?: string;
}

export interface DebianPackagesOptions {
  /** dpkg's administrative folder, holding `status` and `info/*.list`. */
  adminDirectory?: string;
}

// Folders that merged-usr turned into symlinks into /usr; dpkg may list a file under either spelling.
const MERGED_USR = /^\/(bin|sbin|lib|lib32|lib64|libx32)\//;
const PARALLEL_READS = 32;

/**
 * Maps each of `paths` to the installed package that owns it. Paths owned by no package are absent.
 * A file looked up as `/lib/x86_64-linux-gnu/libc.so.6` is also matched as `/usr/lib/...` and by its real path.
 *
 * @example
 * const owners = await debianPackages(["/lib/x86_64-linux-gnu/libc.so.6"]);
 * owners.get("/lib/x86_64-linux-gnu/libc.so.6"); // { package: "libc6", version: "2.36-9+deb12u10", architecture: "amd64" }
 */
export async function debianPackages(
  paths: string[],
  options: DebianPackagesOptions = {},
): Promise<Map<string, DebianPackage>> {
  const adminDirectory = options.adminDirectory ?? "/var/lib/dpkg";
  // Every spelling we accept, mapped to the requested paths it stands for and how good a match it is (lower wins).
  const spellings = new Map<string, { path: string; rank: number }[]>();
  const addSpelling = (spelling: string, path: string, rank: number): void => {
    const list = spellings.get(spelling) ?? [];
    list.push({ path, rank });
    spellings.set(spelling, list);
  };
  for (const path of new Set(paths)) {
    const real = await realpath(path).catch(() => path);
    [path, real].forEach((spelling, index) => {
      addSpelling(spelling, path, index * 2);
      addSpelling(otherUsrSpelling(spelling), path, index * 2 + 1);
    });
  }

  const infoDirectory = join(adminDirectory, "info");
  let names: string[];
  try {
    names = (await readdir(infoDirectory)).filter((name) => name.endsWith(".list")).sort();
  } catch (cause) {
    throw new IngotError(`Cannot find package owners as dpkg's database is unreadable: ${infoDirectory}`, {
      code: "dpkg-unreadable",
      hint: "Build on a Debian or Ubuntu host, where dpkg records installed files in /var/lib/dpkg",
      cause,
    });
  }
  const owners = new Map<string, { listName: string; rank: number }>();
  for (let start = 0; start < names.length; start += PARALLEL_READS) {
    const batch = names.slice(start, start + PARALLEL_READS);
    const texts = await Promise.all(batch.map((name) => readFile(join(infoDirectory, name), "utf8")));
    texts.forEach((text, index) => {
      const listName = (batch[index] ?? "").slice(0, -".list".length);
      for (const line of text.split("\n")) {
        for (const { path, rank } of spellings.get(line) ?? []) {
          const best = owners.get(path);
          if (best === undefined || rank < best.rank) owners.set(path, { listName, rank });
        }
      }
    });
  }

  const installed = await readStatus(join(adminDirectory, "status"));
  const result = new Map<string, DebianPackage>();
  for (const path of paths) {
    const owner = owners.get(path);
    if (owner === undefined) continue;
    // Multi-Arch: same packages name their list `libc6:amd64.list`; others just `bash.list`.
    const [name = "", architecture] = owner.listName.split(":");
    const candidates = installed.get(name) ?? [];
    const entry = candidates.find((candidate) => architecture === undefined || candidate.architecture === architecture);
    if (entry !== undefined) result.set(path, entry);
  }
  return result;
}

function otherUsrSpelling(path: string): string {
  if (MERGED_USR.test(path)) return `/usr${path}`;
  const withoutUsr = path.startsWith("/usr/") ? path.slice("/usr".length) : path;
  return MERGED_USR.test(withoutUsr) ? withoutUsr : path;
}

// The status file is RFC 822-style stanzas separated by blank lines; we only need three fields from each.
async function readStatus(statusPath: string): Promise<Map<string, DebianPackage[]>> {
  let text: string;
  try {
    text = await readFile(statusPath, "utf8");
  } catch (cause) {
    throw new IngotError(`Cannot find package versions as dpkg's status file is unreadable: ${statusPath}`, {
      code: "dpkg-unreadable",
      hint: "Build on a Debian or Ubuntu host, where dpkg records installed packages in /var/lib/dpkg/status",
      cause,
    });
  }
  const packages = new Map<string, DebianPackage[]>();
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const match of stanza.matchAll(/^(Package|Version|Architecture):[ \t]*(.*)$/gm)) {
      fields.set(match[1] ?? "", (match[2] ?? "").trim());
    }
    const name = fields.get("Package");
    const version = fields.get("Version");
    if (name === undefined || version === undefined) continue;
    const architecture = fields.get("Architecture");
    const entry: DebianPackage = { package: name, version, ...(architecture === undefined ? {} : { architecture }) };
    packages.set(name, [...(packages.get(name) ?? []), entry]);
  }
  return packages;
}
