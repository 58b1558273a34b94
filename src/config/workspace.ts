// Workspaces (monorepos): the root above an app folder that declares it as one of its packages,
// through npm's and Yarn's `workspaces` in package.json or pnpm's pnpm-workspace.yaml. The root
// holds the lock file; the app's local dependencies are the workspace packages it depends on.
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { parse } from "yaml";
import { IngotError } from "../errors.ts";

export interface WorkspacePackage {
  /** Relative to the workspace root, with "/" ("packages/api"); "" for the root itself. */
  path: string;
  name: string | undefined;
  /** Names in dependencies and optionalDependencies: what a production install brings. */
  dependencies: string[];
}

export interface Workspace {
  root: string;
  /** Where the packages are declared, for messages: "package.json workspaces", "pnpm-workspace.yaml". */
  declaredIn: string;
  patterns: string[];
  packages: WorkspacePackage[];
}

/** Folders a workspace pattern never reaches into, and how deep `**` looks. */
const SKIPPED = new Set(["node_modules", ".git", ".hg", ".svn", ".yarn", ".ingot"]);
const MAX_DEPTH = 6;

/**
 * The workspace that has `appDir` as one of its packages (or as its root), found in the nearest
 * folder above that declares workspaces; undefined for an app on its own.
 *
 * @example
 * const found = await findWorkspace("/repo/packages/api"); // { workspace: { root: "/repo", … }, member: { path: "packages/api", name: "api", … } }
 */
export async function findWorkspace(appDir: string): Promise<{ workspace: Workspace; member: WorkspacePackage } | undefined> {
  for (let dir = appDir; ; dir = dirname(dir)) {
    const patterns = await declaredPatterns(dir);
    if (patterns) {
      const path = relative(dir, appDir).split(sep).join("/");
      const workspace = { root: dir, declaredIn: patterns.declaredIn, patterns: patterns.patterns, packages: await listPackages(dir, patterns.patterns) };
      const member = workspace.packages.find((item) => item.path === path);
      if (member) return { workspace, member };
      // A folder under a root that does not list it: the nearest root decides, as package managers do.
      throw notAMember(workspace, appDir, path);
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The workspace that would hold `appDir` when it does not exist (yet): for the hint of "ingot build
 * packages/apii", the packages there are.
 */
export async function workspaceAbove(appDir: string): Promise<Workspace | undefined> {
  for (let dir = dirname(appDir); dirname(dir) !== dir; dir = dirname(dir)) {
    const patterns = await declaredPatterns(dir).catch(() => undefined);
    if (patterns) return { root: dir, declaredIn: patterns.declaredIn, patterns: patterns.patterns, packages: await listPackages(dir, patterns.patterns) };
  }
  return undefined;
}

/**
 * The workspace packages `member` depends on for production, directly or through each other.
 *
 * @example
 * localDependencies(workspace, api); // [{ path: "packages/lib", name: "@acme/lib", … }]
 */
export function localDependencies(workspace: Workspace, member: WorkspacePackage): WorkspacePackage[] {
  const byName = new Map(workspace.packages.filter((item) => item.name !== undefined).map((item) => [item.name!, item]));
  const found = new Map<string, WorkspacePackage>();
  const visit = (item: WorkspacePackage): void => {
    for (const name of item.dependencies) {
      const local = byName.get(name);
      if (local && local !== member && !found.has(local.path)) {
        found.set(local.path, local);
        visit(local);
      }
    }
  };
  visit(member);
  return [...found.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
}

/**
 * Whether a package folder (relative, "/"-separated) is matched by the workspace's patterns: globs
 * as npm, Yarn and pnpm write them (`packages/*`, `apps/**`), with `!` excluding.
 *
 * @example
 * isWorkspacePath(["packages/*", "!packages/old"], "packages/api"); // true
 */
export function isWorkspacePath(patterns: string[], path: string): boolean {
  const included = patterns.filter((pattern) => !pattern.startsWith("!")).some((pattern) => globRegExp(pattern).test(path));
  return included && !patterns.filter((pattern) => pattern.startsWith("!")).some((pattern) => globRegExp(pattern.slice(1)).test(path));
}

function globRegExp(pattern: string): RegExp {
  const clean = pattern.replace(/^\.\//, "").replace(/\/+$/, "");
  let source = "";
  for (let index = 0; index < clean.length; index++) {
    const char = clean[index]!;
    if (char === "*" && clean[index + 1] === "*") {
      // "a/**" matches a and everything below it; "**/x" any depth above x.
      source += clean[index + 2] === "/" ? "(?:.*/)?" : ".*";
      index += clean[index + 2] === "/" ? 2 : 1;
    } else if (char === "*") source += "[^/]*";
    else if (char === "?") source += "[^/]";
    else source += char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

async function declaredPatterns(dir: string): Promise<{ patterns: string[]; declaredIn: string } | undefined> {
  const pnpmFile = join(dir, "pnpm-workspace.yaml");
  const pnpmText = await readFile(pnpmFile, "utf8").catch(() => undefined);
  if (pnpmText !== undefined) {
    let value: unknown;
    try {
      value = parse(pnpmText);
    } catch (error) {
      throw new IngotError(`Cannot read ${pnpmFile} as it is not valid YAML: ${(error as Error).message.split("\n")[0]}`, { code: "workspace-invalid", hint: "Fix the YAML; pnpm reads the same file", cause: error });
    }
    const packages = (value as { packages?: unknown } | null)?.packages;
    // pnpm 9+ also keeps settings there without packages; then the folder alone is the project.
    if (Array.isArray(packages)) return { patterns: packages.filter((item): item is string => typeof item === "string"), declaredIn: "pnpm-workspace.yaml" };
  }
  const text = await readFile(join(dir, "package.json"), "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  let workspaces: unknown;
  try {
    workspaces = (JSON.parse(text) as { workspaces?: unknown }).workspaces;
  } catch {
    // Not ours to report here: the app's own package.json is read (and its errors placed) elsewhere.
    return undefined;
  }
  // Yarn classic also accepts { packages: [...], nohoist: [...] }.
  const list = Array.isArray(workspaces) ? workspaces : (workspaces as { packages?: unknown } | undefined)?.packages;
  return Array.isArray(list) ? { patterns: list.filter((item): item is string => typeof item === "string"), declaredIn: "package.json workspaces" } : undefined;
}

async function listPackages(root: string, patterns: string[]): Promise<WorkspacePackage[]> {
  const found: WorkspacePackage[] = [await packageAt(root, "")];
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) return;
    for (const entry of (await readdir(dir, { withFileTypes: true }).catch(() => [])).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (!entry.isDirectory() || SKIPPED.has(entry.name)) continue;
      const path = relative(root, join(dir, entry.name)).split(sep).join("/");
      if (isWorkspacePath(patterns, path) && (await stat(join(root, path, "package.json")).catch(() => undefined))) found.push(await packageAt(root, path));
      await walk(join(dir, entry.name), depth + 1);
    }
  };
  await walk(root, 1);
  return found;
}

async function packageAt(root: string, path: string): Promise<WorkspacePackage> {
  const pkg = await readFile(join(root, path, "package.json"), "utf8").then((text) => JSON.parse(text) as Record<string, unknown>, () => ({} as Record<string, unknown>));
  const names = (value: unknown): string[] => (value && typeof value === "object" ? Object.keys(value) : []);
  return { path, name: typeof pkg.name === "string" ? pkg.name : undefined, dependencies: [...names(pkg.dependencies), ...names(pkg.optionalDependencies)].sort() };
}

function notAMember(workspace: Workspace, appDir: string, path: string): IngotError {
  return new IngotError(`Cannot build ${appDir} as it is inside the workspace ${workspace.root} but not one of its packages (${workspace.declaredIn}: ${workspace.patterns.join(", ")}): ${path}`, {
    code: "workspace-package-unknown", hint: workspaceHint(workspace),
  });
}

/** The packages there are, as the hint of a build that named none of them. */
export function workspaceHint(workspace: Workspace): string {
  const paths = workspace.packages.filter((item) => item.path !== "").map((item) => item.path);
  return paths.length > 0
    ? `Build one of the workspace's packages: ${paths.slice(0, 10).join(", ")}${paths.length > 10 ? ", …" : ""}; or add the folder to ${workspace.declaredIn}`
    : `The workspace lists no packages yet; add the folder to ${workspace.declaredIn}`;
}
