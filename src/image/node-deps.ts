// Production dependencies of a Node app: installed with `npm ci --omit=dev` from the lockfile in a
// staging folder (never the user's node_modules), cached by the digest of the lockfile and runtime.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { cp, mkdir, readFile, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { IngotError } from "../errors.ts";
import { exists, type Vault } from "../vault/vault.ts";
import type { NodeRuntime } from "./node-runtime.ts";

const run = promisify(execFile);

/** Bumped when the way dependencies are installed changes, so old cached installs are not reused. */
const INSTALL_FORMAT = 3;

export interface InstalledDependencies {
  /** Folder holding node_modules; undefined when the app has no production dependencies. */
  dir: string | undefined;
  key: string;
}

interface PackageJson {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
}

/**
 * Installs the app's production dependencies (once per lockfile and runtime) and returns where.
 * Native addons compile against the target runtime's own headers, not the host's Node.
 *
 * @example
 * const deps = await installProductionDependencies(vault, "examples/api", runtime);
 */
export async function installProductionDependencies(vault: Vault, appDir: string, runtime: NodeRuntime): Promise<InstalledDependencies> {
  const pkg = JSON.parse(await readFile(join(appDir, "package.json"), "utf8")) as PackageJson;
  if (Object.keys(pkg.dependencies ?? {}).length === 0) return { dir: undefined, key: "none" };
  const lock = await readLockfile(appDir);
  const key = createHash("sha256").update(JSON.stringify([INSTALL_FORMAT, runtime.integrity, lock.name, lock.text, pkg.dependencies])).digest("hex");
  const dir = join(vault.root, "cache", "deps", key);
  if (await exists(join(dir, "node_modules"))) return { dir, key };
  await npmCiInto(vault, appDir, lock.name, runtime, ["--omit=dev"], dir);
  return { dir, key };
}

/**
 * Runs the app's build script in a staging copy (with all dependencies, dev included) and returns
 * the staging folder; the caller takes the built files from there and removes it.
 */
export async function runBuildScript(vault: Vault, appDir: string, runtime: NodeRuntime, excluded: Set<string>): Promise<string | undefined> {
  const pkg = JSON.parse(await readFile(join(appDir, "package.json"), "utf8")) as PackageJson;
  if (!pkg.scripts?.build) return undefined;
  const staging = vault.tempPath("build");
  // verbatimSymlinks: without it cp rewrites a relative link (alias.js → server.js) to an absolute path
  // into the app folder, which the walk then refuses as pointing outside the staging folder.
  await cp(appDir, staging, { recursive: true, verbatimSymlinks: true, filter: (source) => !excluded.has(source.split("/").at(-1)!) || source === appDir });
  const hasDependencies = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).length > 0;
  try {
    if (hasDependencies) {
      const lock = await readLockfile(appDir);
      const key = createHash("sha256").update(JSON.stringify([INSTALL_FORMAT, "full", runtime.integrity, lock.text])).digest("hex");
      const full = join(vault.root, "cache", "deps-full", key);
      if (!(await exists(join(full, "node_modules")))) await npmCiInto(vault, appDir, lock.name, runtime, [], full);
      await cp(join(full, "node_modules"), join(staging, "node_modules"), { recursive: true, verbatimSymlinks: true });
    }
    await npm(["run", "build"], staging, runtime, "the app's build script (npm run build) failed");
    await rm(join(staging, "node_modules"), { recursive: true, force: true });
    return staging;
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

async function npmCiInto(vault: Vault, appDir: string, lockName: string, runtime: NodeRuntime, flags: string[], dir: string): Promise<void> {
  const staging = vault.tempPath("deps");
  await mkdir(staging, { recursive: true });
  try {
    await cp(join(appDir, "package.json"), join(staging, "package.json"));
    await cp(join(appDir, lockName), join(staging, lockName));
    await npm(["ci", ...flags, "--no-audit", "--no-fund", "--loglevel=error"], staging, runtime, "npm ci failed while installing the app's dependencies");
    await pruneNativeBuildLeftovers(join(staging, "node_modules"));
    await rm(dir, { recursive: true, force: true });
    await mkdir(join(dir, ".."), { recursive: true });
    await rename(staging, dir);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

async function npm(args: string[], cwd: string, runtime: NodeRuntime, what: string): Promise<void> {
  const env = {
    ...process.env,
    // node-gyp builds native addons against these headers: the target runtime's, not the host's.
    npm_config_nodedir: join(runtime.dir),
    npm_config_update_notifier: "false",
  };
  try {
    await run("npm", args, { cwd, env, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    // A build's own errors may be on stdout (tsc writes its diagnostics there), npm's on stderr.
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    const output = `${stdout.trim()}\n${stderr.trim()}`.trim().split("\n").slice(-15).join("\n");
    throw new IngotError(`Cannot build the image as ${what}:\n${output}`, { code: "npm-failed", hint: `Run npm ${args.join(" ")} in the app folder to see the whole output`, cause: error });
  }
}

async function readLockfile(appDir: string): Promise<{ name: string; text: string }> {
  for (const name of ["npm-shrinkwrap.json", "package-lock.json"]) {
    const text = await readFile(join(appDir, name), "utf8").catch(() => undefined);
    if (text !== undefined) return { name, text };
  }
  throw new IngotError(`Cannot install the app's dependencies reproducibly as ${appDir} has no package-lock.json`, {
    code: "lockfile-missing",
    hint: "Run npm install in the app folder and commit package-lock.json",
  });
}

/**
 * node-gyp leaves its Makefiles, object files and dependency lists (full of build-host paths) in
 * each addon's build/ folder; only the compiled *.node files are needed at run time.
 */
async function pruneNativeBuildLeftovers(nodeModules: string): Promise<void> {
  const prune = async (dir: string): Promise<boolean> => {
    let keep = false;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      // obj.target holds the linker's intermediate copy of each .node; the final one is beside it.
      const kept = entry.isDirectory() ? entry.name !== "obj.target" && (await prune(path)) : entry.name.endsWith(".node");
      if (!kept) await rm(path, { recursive: true, force: true });
      keep ||= kept;
    }
    return keep;
  };
  for (const addon of await findFiles(nodeModules, (name) => name === "binding.gyp")) {
    const build = join(addon, "..", "build");
    if (await exists(build)) await prune(build);
  }
}

/** Native addons (*.node) inside an installed node_modules tree; their libraries go into the image too. */
export async function findNativeAddons(dir: string): Promise<string[]> {
  return findFiles(dir, (name) => name.endsWith(".node"));
}

async function findFiles(dir: string, wanted: (name: string) => boolean): Promise<string[]> {
  const found: string[] = [];
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && wanted(entry.name)) found.push(path);
    }
  };
  await walk(dir);
  return found.sort();
}
