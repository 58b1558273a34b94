// Production dependencies of a Node app: installed by the app's own package manager (npm, pnpm,
// Yarn), pinned from the registry and run by the app's runtime, frozen to the lock file, in a
// staging folder (never the user's node_modules), cached by the digest of what it was given.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { cp, lstat, mkdir, readdir, readFile, readlink, realpath, rename, rm, symlink } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { promisify } from "node:util";
import type { PackageManagerChoice } from "../config/package-manager.ts";
import { PACKAGE_MANAGERS } from "../config/package-manager.ts";
import { readPackageJson } from "../config/package-json.ts";
import { IngotError } from "../errors.ts";
import { runHostTool } from "../process/host-tool.ts";
import { exists, type Vault } from "../vault/vault.ts";
import { installCommands, type PackageManagerCommand, runCommand } from "./install-plan.ts";
import type { NodeRuntime } from "./node-runtime.ts";
import type { PackageManagerTool } from "./package-manager-tool.ts";

const run = promisify(execFile);

/** Bumped when the way dependencies are installed changes, so old cached installs are not reused. */
const INSTALL_FORMAT = 7;

/** The package manager an app is installed with: what the app chose and the pinned release that does it. */
export interface PackageManager {
  choice: PackageManagerChoice;
  tool: PackageManagerTool;
}

export interface InstalledDependencies {
  /** Folder holding node_modules; undefined when the app has no production dependencies. */
  dir: string | undefined;
  key: string;
}

/** Files of a root that change what a package manager installs, besides package.json and the lock file. */
const SETTINGS = [".npmrc", ".yarnrc", ".yarnrc.yml", "pnpm-workspace.yaml", ".pnpmfile.cjs", "patches", ".yarn/patches", ".yarn/plugins"];
/** Never copied into a staging folder: installed trees and version control. */
const NOT_STAGED = new Set(["node_modules", ".git", ".hg", ".svn", ".ingot", ".pnp.cjs", ".pnp.loader.mjs"]);

/**
 * Installs the app's production dependencies (once per lock file, package manager and runtime) and
 * returns where. A workspace package gets one node_modules holding its dependencies and copies of
 * the workspace packages it depends on, so nothing in the image links out of it.
 *
 * @example
 * const deps = await installProductionDependencies(vault, "examples/api", runtime, packageManager);
 */
export async function installProductionDependencies(vault: Vault, appDir: string, runtime: NodeRuntime, manager: PackageManager | undefined): Promise<InstalledDependencies> {
  const pkg = await readPackageJson(join(appDir, "package.json"));
  if (Object.keys(pkg?.dependencies ?? {}).length === 0 || !manager) return { dir: undefined, key: "none" };
  const staging = vault.tempPath("deps");
  try {
    const key = await stage(manager.choice, staging, ["production", runtime.integrity, manager.tool.integrity]);
    const dir = join(vault.root, "cache", "deps", key);
    if (await exists(join(dir, "node_modules"))) return { dir, key };
    for (const command of installCommands(manager.choice, true)) await packageManager(manager, runtime, command, staging, "install the app's dependencies");
    const nodeModules = await composeNodeModules(staging, manager.choice);
    // The package managers' own records (.modules.yaml, .yarn-integrity, .yarn-state.yml, .pnpm,
    // .package-lock.json) name the staging folder: the image would differ from build to build.
    for (const name of await readdir(nodeModules)) if (name.startsWith(".")) await rm(join(nodeModules, name), { recursive: true, force: true });
    await pruneNativeBuildLeftovers(nodeModules);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await rename(nodeModules, join(dir, "node_modules"));
    return { dir, key };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Runs the app's build script with its package manager (`pnpm run build`) in a staging copy, with
 * all dependencies, dev included; returns the app's folder in that copy, which the caller takes the
 * built files from, and its removal.
 */
export async function runBuildScript(vault: Vault, appDir: string, runtime: NodeRuntime, manager: PackageManager | undefined, excluded: Set<string>): Promise<{ dir: string; remove: () => Promise<void> } | undefined> {
  const pkg = await readPackageJson(join(appDir, "package.json"));
  if (!pkg?.scripts?.build || !manager) return undefined;
  const staging = vault.tempPath("build");
  const remove = (): Promise<void> => rm(staging, { recursive: true, force: true });
  const { choice } = manager;
  try {
    if (choice.workspace) {
      // The whole workspace as the package manager sees it; it links local packages within it.
      await stage(choice, staging, []);
      for (const command of installCommands(choice, false)) await packageManager(manager, runtime, command, staging, "install the workspace's dependencies");
    } else {
      // verbatimSymlinks: without it cp rewrites a relative link (alias.js → server.js) to an absolute path
      // into the app folder, which the walk then refuses as pointing outside the staging folder.
      await cp(appDir, staging, { recursive: true, verbatimSymlinks: true, filter: (source) => !excluded.has(source.split("/").at(-1)!) || source === appDir });
      if (choice.lockfile && Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).length > 0) {
        await linkTree(await fullInstall(vault, manager, runtime), join(staging, "node_modules"));
      }
    }
    const command = runCommand(choice, "build");
    await packageManager(manager, runtime, command, staging, "build the app with its build script");
    return { dir: join(staging, choice.member.path), remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

/**
 * The cached install, hard-linked file by file into the staging folder (as pnpm's store is into a
 * node_modules): 0.1 s for notes' 4 200 files where a copy took 2 s of each app-only rebuild. What
 * the build script creates or replaces there (a tool's .cache, a rebuilt file) stays in staging
 * (tested); only a write into an installed file in place would reach the cache, as with pnpm's store.
 */
async function linkTree(source: string, target: string): Promise<void> {
  await runHostTool({
    argv: ["cp", "-al", source, target], purpose: "stage the app's dependencies for its build script", debianPackage: "coreutils",
    codes: { missing: "build-staging-failed", failed: "build-staging-failed" }, failedHint: "Check that the vault's disk has inodes left (df -i)",
  });
}

/** All dependencies of an app on its own, for its build script, cached like the production ones. */
async function fullInstall(vault: Vault, manager: PackageManager, runtime: NodeRuntime): Promise<string> {
  const staging = vault.tempPath("deps-full");
  try {
    const key = await stage(manager.choice, staging, ["full", runtime.integrity, manager.tool.integrity]);
    const dir = join(vault.root, "cache", "deps-full", key);
    if (await exists(join(dir, "node_modules"))) return join(dir, "node_modules");
    for (const command of installCommands(manager.choice, false)) await packageManager(manager, runtime, command, staging, "install the app's dependencies");
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await rename(join(staging, "node_modules"), join(dir, "node_modules"));
    return join(dir, "node_modules");
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Copies what the package manager reads into `staging`: package.json, the lock file and the
 * settings of the root; for a workspace, every package folder too (their files become the copies
 * installed in node_modules). Returns the cache key: the digest of every file copied and `salt`.
 */
async function stage(choice: PackageManagerChoice, staging: string, salt: string[]): Promise<string> {
  await mkdir(staging, { recursive: true });
  const filter = (source: string): boolean => !NOT_STAGED.has(source.split(sep).at(-1)!);
  const copy = async (path: string): Promise<void> => {
    if (await exists(join(choice.root, path))) await cp(join(choice.root, path), join(staging, path), { recursive: true, verbatimSymlinks: true, filter });
  };
  for (const name of ["package.json", choice.lockfile, ...SETTINGS].filter(Boolean)) await copy(name);
  if (choice.workspace) {
    for (const entry of await readdir(choice.root, { withFileTypes: true })) if (entry.isFile()) await copy(entry.name);
    for (const item of choice.workspace.packages) if (item.path) await copy(item.path);
  }
  const hash = createHash("sha256").update(JSON.stringify([INSTALL_FORMAT, choice.kind, choice.member.path, ...salt]));
  for (const file of await filesBelow(staging)) {
    const info = await lstat(join(staging, file));
    hash.update(`${file}\0${info.isSymbolicLink() ? `-> ${await readlink(join(staging, file))}` : (await readFile(join(staging, file))).toString("base64")}\0`);
  }
  return hash.digest("hex");
}

/**
 * The app's node_modules from a finished install: the root's, with the workspace package's own
 * folder merged in and every link to a workspace package replaced by a copy of it (the image has
 * no workspace to link to). Links to the app itself and to packages it does not use are dropped.
 */
async function composeNodeModules(root: string, choice: PackageManagerChoice): Promise<string> {
  const target = join(root, "node_modules");
  await mkdir(target, { recursive: true });
  if (!choice.workspace) return target;
  const own = join(root, choice.member.path, "node_modules");
  if (choice.member.path && (await exists(own))) {
    for (const name of await packageNames(own)) {
      const from = join(own, name);
      const to = join(target, name);
      if (await exists(to)) {
        if ((await realpath(from)) === (await realpath(to)) || (await versionOf(from)) === (await versionOf(to))) continue;
        throw new IngotError(`Cannot lay out the dependencies of ${choice.member.path} as ${name} is installed both at the workspace root (${await versionOf(to)}) and in the package (${await versionOf(from)})`, {
          code: "workspace-layout", hint: `Use one version of ${name} across the workspace, or build the package on its own with its own lock file`,
        });
      }
      await mkdir(dirname(to), { recursive: true });
      const info = await lstat(from);
      if (info.isSymbolicLink()) await symlink(await realpath(from), to);
      else await rename(from, to);
    }
  }
  const wanted = new Set(choice.localPackages.map((item) => join(root, item.path)));
  await materializeLinks(target, root, wanted, join(root, choice.member.path));
  // pnpm's hoisted linker and Yarn 1 install every package's dependencies, whatever the filter.
  await pruneUnreachable(target, choice.member.dependencies);
  return target;
}

/**
 * Removes the packages of `nodeModules` that nothing reaches from `names` (the app's production
 * dependencies) by node's own lookup: a package's dependencies, optional and peer dependencies are
 * looked up in its own node_modules, then in each node_modules above it.
 */
async function pruneUnreachable(nodeModules: string, names: string[]): Promise<void> {
  const reached = new Set<string>();
  const visit = async (from: string, dependencies: string[]): Promise<void> => {
    for (const name of dependencies) {
      let found: string | undefined;
      for (let dir = from; !found && dir.length >= dirname(nodeModules).length; dir = dirname(dir)) {
        if (dir.split(sep).at(-1) === "node_modules") continue;
        if (await exists(join(dir, "node_modules", name, "package.json"))) found = join(dir, "node_modules", name);
      }
      if (!found || reached.has(found)) continue;
      reached.add(found);
      const pkg = await readFile(join(found, "package.json"), "utf8").then((text) => JSON.parse(text) as Record<string, Record<string, string> | undefined>, () => ({} as Record<string, undefined>));
      await visit(found, Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies }));
    }
  };
  await visit(dirname(nodeModules), names);
  for (const name of await packageNames(nodeModules)) {
    if (!reached.has(join(nodeModules, name))) await rm(join(nodeModules, name), { recursive: true, force: true });
  }
}

/** Replaces links to workspace packages with copies, below `nodeModules`, at any depth. */
async function materializeLinks(nodeModules: string, root: string, wanted: Set<string>, app: string): Promise<void> {
  for (const name of await packageNames(nodeModules)) {
    const path = join(nodeModules, name);
    const info = await lstat(path);
    if (info.isSymbolicLink()) {
      const real = await realpath(path).catch(() => undefined);
      const inWorkspace = real !== undefined && !relative(root, real).startsWith("..") && !real.split(sep).includes("node_modules");
      if (!inWorkspace) continue;
      await rm(path);
      if (real === app || !wanted.has(real)) continue;
      await cp(real, path, { recursive: true, verbatimSymlinks: true, filter: (source) => source.split(sep).at(-1) !== ".git" });
    }
    if (await exists(join(path, "node_modules"))) await materializeLinks(join(path, "node_modules"), root, wanted, app);
  }
}

async function packageNames(nodeModules: string): Promise<string[]> {
  const names: string[] = [];
  for (const entry of await readdir(nodeModules, { withFileTypes: true }).catch(() => [])) {
    if (entry.name.startsWith(".")) continue;
    if (entry.name.startsWith("@") && entry.isDirectory()) for (const scoped of await readdir(join(nodeModules, entry.name))) names.push(`${entry.name}/${scoped}`);
    else names.push(entry.name);
  }
  return names.sort();
}

async function versionOf(dir: string): Promise<string> {
  return readFile(join(dir, "package.json"), "utf8").then((text) => String((JSON.parse(text) as { version?: string }).version), () => "unknown");
}

/**
 * Runs the pinned package manager with the app's runtime: node and the package manager's shims
 * first on PATH, so install and build scripts (and native addons, built against the runtime's
 * headers) see the Node.js the image will run.
 */
async function packageManager(manager: PackageManager, runtime: NodeRuntime, command: PackageManagerCommand, root: string, action: string): Promise<void> {
  const node = join(runtime.dir, "bin", "node");
  const env = {
    ...process.env,
    ...command.env,
    PATH: [join(manager.tool.dir, ".ingot-bin"), join(runtime.dir, "bin"), process.env.PATH ?? "/usr/bin:/bin"].join(":"),
    // node-gyp builds native addons against these headers: the target runtime's, not the host's.
    npm_config_nodedir: runtime.dir,
  };
  const spec = PACKAGE_MANAGERS[manager.choice.kind];
  try {
    await run(node, [join(manager.tool.dir, spec.bin), ...command.args], { cwd: join(root, command.cwd), env, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    const output = failureOutput(stdout, stderr);
    const where = manager.choice.root;
    const verb = command.args.filter((arg) => !arg.startsWith("-")).join(" ");
    throw new IngotError(`Cannot ${action} as ${spec.command} ${verb} failed (${manager.tool.name} ${manager.tool.version}):\n${output}`, {
      code: "install-failed",
      hint: `When the lock file does not match package.json, run ${spec.command} install in ${where} and commit ${manager.choice.lockfile || "the lock file"}; to see the whole output, run ${spec.command} ${command.args.join(" ")} in ${join(where, command.cwd)}`,
      cause: error,
    });
  }
}

/**
 * What a failed package manager said, shortened: pnpm and Yarn report on stdout, npm on stderr,
 * the reason last; but npm ci follows its reason with its usage, which is cut off.
 *
 * @example
 * failureOutput("", "npm error `npm ci` can only install …\nnpm error\nnpm error Clean install a project\n…"); // "npm error `npm ci` can only install …"
 */
export function failureOutput(stdout: string, stderr: string): string {
  const usage = stderr.search(/^npm error (Clean install a project|Usage:)/m);
  const reason = (usage >= 0 ? stderr.slice(0, usage) : stderr).replace(/(^npm error\s*\n)+|(\nnpm error\s*)+$/g, "");
  const tail = (text: string): string => text.trim().split("\n").slice(-12).join("\n");
  return `${tail(stdout)}\n${tail(reason)}`.trim();
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

/** The files below `dir` whose name is wanted, sorted. */
export async function findFiles(dir: string, wanted: (name: string) => boolean): Promise<string[]> {
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

/** Every file and link below `dir`, relative, in byte order (the cache key must not depend on the disk's order). */
async function filesBelow(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else found.push(relative(dir, path));
    }
  };
  await walk(dir);
  return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
