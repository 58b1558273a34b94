// The bins the app's installed production dependencies provide, read from each package's package.json
// `bin` as npm links them into node_modules/.bin, so a start script's `fastify start` finds its file.
import { open, readdir, readFile } from "node:fs/promises";
import { join, posix } from "node:path";
import type { BinFile } from "../config/start-script.ts";

/**
 * Bin name → its file relative to the app folder (node_modules/PACKAGE/FILE) and its `#!` line, for
 * the top-level packages of node_modules (those npm links into .bin). Packages are read in name order
 * and the first to claim a name keeps it, so the result does not depend on the order on disk.
 *
 * @example
 * (await installedBins("/tmp/deps/node_modules")).get("fastify"); // { path: "node_modules/fastify-cli/cli.js", shebang: "#!/usr/bin/env node" }
 */
export async function installedBins(nodeModules: string | undefined): Promise<Map<string, BinFile>> {
  const bins = new Map<string, BinFile>();
  if (nodeModules === undefined) return bins;
  for (const name of await packageNames(nodeModules)) {
    const pkg = await readFile(join(nodeModules, name, "package.json"), "utf8").then((text) => JSON.parse(text) as { name?: string; bin?: unknown }, () => undefined);
    if (!pkg) continue;
    for (const [bin, file] of Object.entries(binEntries(pkg.bin, pkg.name ?? name))) {
      // A bin pointing outside its package (../x) is not something npm links either.
      const relative = posix.normalize(file.replace(/^\.\//, ""));
      if (bins.has(bin) || relative.startsWith("../") || posix.isAbsolute(relative)) continue;
      bins.set(bin, { path: `node_modules/${name}/${relative}`, ...(await shebangOf(join(nodeModules, name, relative))) });
    }
  }
  return bins;
}

/** package.json `bin`: a string names one bin after the package (without its scope), an object several. */
function binEntries(bin: unknown, packageName: string): Record<string, string> {
  if (typeof bin === "string") return { [packageName.replace(/^@[^/]+\//, "")]: bin };
  if (bin === null || typeof bin !== "object") return {};
  return Object.fromEntries(Object.entries(bin).filter((entry): entry is [string, string] => typeof entry[1] === "string" && !entry[0].includes("/")));
}

async function packageNames(nodeModules: string): Promise<string[]> {
  const names: string[] = [];
  for (const entry of (await readdir(nodeModules, { withFileTypes: true }).catch(() => [])).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (entry.name.startsWith(".")) continue;
    if (!entry.name.startsWith("@")) names.push(entry.name);
    else for (const scoped of (await readdir(join(nodeModules, entry.name)).catch(() => [])).sort()) names.push(`${entry.name}/${scoped}`);
  }
  return names;
}

async function shebangOf(file: string): Promise<{ shebang?: string }> {
  const handle = await open(file, "r").catch(() => undefined);
  if (!handle) return {};
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(256), 0, 256, 0);
    const head = buffer.subarray(0, bytesRead).toString("utf8");
    return head.startsWith("#!") ? { shebang: head.split("\n")[0]!.trim() } : {};
  } finally {
    await handle.close();
  }
}
