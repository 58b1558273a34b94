// Which package manager installs a Node app's dependencies: the one its lock file belongs to
// (package-lock.json, pnpm-lock.yaml, yarn.lock), at the version package.json's `packageManager`
// names (corepack's field), else at ingot's default, pinned in ingot.lock.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { IngotError } from "../errors.ts";
import { findWorkspace, localDependencies, type Workspace, type WorkspacePackage } from "./workspace.ts";

export type PackageManagerKind = "npm" | "pnpm" | "yarn-classic" | "yarn-berry";

export interface PackageManagerSpec {
  /** The npm registry package that is the package manager. */
  package: string;
  /** Its CLI's file inside the package, run by node. */
  bin: string;
  /** What users type, and the names its shims answer to. */
  command: string;
  commands: string[];
  lockfiles: string[];
  /** The releases ingot picks from when packageManager names none: the newest whose engines.node the runtime satisfies. */
  defaultRange: string;
}

export const PACKAGE_MANAGERS: Record<PackageManagerKind, PackageManagerSpec> = {
  npm: { package: "npm", bin: "bin/npm-cli.js", command: "npm", commands: ["npm", "npx"], lockfiles: ["npm-shrinkwrap.json", "package-lock.json"], defaultRange: "10 || 11" },
  pnpm: { package: "pnpm", bin: "bin/pnpm.cjs", command: "pnpm", commands: ["pnpm", "pnpx"], lockfiles: ["pnpm-lock.yaml"], defaultRange: "9 || 10" },
  "yarn-classic": { package: "yarn", bin: "bin/yarn.js", command: "yarn", commands: ["yarn", "yarnpkg"], lockfiles: ["yarn.lock"], defaultRange: "1" },
  "yarn-berry": { package: "@yarnpkg/cli-dist", bin: "bin/yarn.js", command: "yarn", commands: ["yarn", "yarnpkg"], lockfiles: ["yarn.lock"], defaultRange: "4" },
};

export interface PackageManagerChoice {
  kind: PackageManagerKind;
  /** An exact version (from packageManager) or the default range. */
  spec: string;
  /** Where the version came from, for messages: "package.json packageManager", "ingot's default for pnpm-lock.yaml". */
  source: string;
  /** The folder whose lock file is used: the workspace root, else the app folder. */
  root: string;
  /** Its file name in root; "" when the app has nothing to install (a build script alone). */
  lockfile: string;
  /** The app's package in the workspace ("packages/api"), "" when it is the root or on its own. */
  member: WorkspacePackage;
  workspace: Workspace | undefined;
  /** The workspace packages the app depends on, installed as copies of themselves. */
  localPackages: WorkspacePackage[];
}

/**
 * The package manager of the app in `appDir`, its lock file and, for a workspace package, the
 * workspace it belongs to. A lock file in the app folder makes it an app on its own.
 *
 * @example
 * await choosePackageManager("/repo/packages/api"); // { kind: "pnpm", spec: "9.12.0", source: "package.json packageManager", root: "/repo", lockfile: "pnpm-lock.yaml", … }
 */
export async function choosePackageManager(appDir: string, options: { lockfileRequired: boolean } = { lockfileRequired: true }): Promise<PackageManagerChoice> {
  const own = await lockfilesIn(appDir);
  // An app with its own lock file stands alone, unless it is the workspace's root itself.
  const found = own.length > 0
    ? await findWorkspace(appDir).then((item) => (item?.workspace.root === appDir ? item : undefined), () => undefined)
    : await findWorkspace(appDir);
  const root = found?.workspace.root ?? appDir;
  const lockfiles = found ? await lockfilesIn(root) : own;
  const field = await packageManagerField(join(root, "package.json"));
  const member = found?.member ?? { path: "", name: undefined, dependencies: [] };
  const base = { root, member, workspace: found?.workspace, localPackages: found ? localDependencies(found.workspace, found.member) : [] };
  if (field) {
    const kind = kindOf(field.name, field.version, join(root, "package.json"));
    const lockfile = lockfiles.find((item) => item.kind === kind || (kind.startsWith("yarn") && item.kind.startsWith("yarn")));
    if (!lockfile) throw missingLockfile(root, kind, `package.json packageManager is ${field.name}@${field.version}`);
    return { ...base, kind, spec: field.version, source: "package.json packageManager", lockfile: lockfile.name };
  }
  const kinds = [...new Set(lockfiles.map((item) => item.kind))];
  // Only a build script to run and nothing to install: npm runs it, as `npm run build` would.
  if (kinds.length === 0 && !options.lockfileRequired && !found) return { ...base, kind: "npm", spec: PACKAGE_MANAGERS.npm.defaultRange, source: "ingot's default", lockfile: "" };
  if (kinds.length === 0) throw missingLockfile(root, undefined, found ? `the workspace root ${root} has none` : "");
  if (kinds.length > 1) {
    throw new IngotError(`Cannot tell which package manager installs the app's dependencies as ${root} has ${lockfiles.map((item) => item.name).join(" and ")}`, {
      code: "lockfile-ambiguous", hint: 'Delete the lock files of the package managers you do not use, or name yours in package.json: "packageManager": "pnpm@9.12.0"',
    });
  }
  const lockfile = lockfiles[0]!;
  return { ...base, kind: lockfile.kind, spec: PACKAGE_MANAGERS[lockfile.kind].defaultRange, source: `ingot's default for ${lockfile.name}`, lockfile: lockfile.name };
}

/**
 * corepack's `packageManager` field: NAME@VERSION with an optional +HASH, which ingot does not need as
 * it checks the registry's integrity and pins the tarball's sha256 in ingot.lock.
 *
 * @example
 * parsePackageManagerField("pnpm@9.12.0+sha512.4abf…"); // { name: "pnpm", version: "9.12.0" }
 */
export function parsePackageManagerField(value: unknown, file = "package.json"): { name: string; version: string } | undefined {
  if (value === undefined) return undefined;
  const match = typeof value === "string" ? /^(npm|pnpm|yarn)@(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)(?:\+[0-9A-Za-z.]+)?$/.exec(value) : null;
  if (!match) {
    throw new IngotError(`Cannot tell which package manager installs the app's dependencies as ${file} packageManager is not NAME@VERSION of npm, pnpm or yarn: ${JSON.stringify(value)}`, {
      code: "package-manager-invalid", hint: 'Write it as corepack does, with an exact version: "packageManager": "pnpm@9.12.0"',
    });
  }
  return { name: match[1]!, version: match[2]! };
}

function kindOf(name: string, version: string, _file: string): PackageManagerKind {
  if (name === "yarn") return Number(version.split(".")[0]) >= 2 ? "yarn-berry" : "yarn-classic";
  return name as "npm" | "pnpm";
}

async function packageManagerField(file: string): Promise<{ name: string; version: string } | undefined> {
  const text = await readFile(file, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  let pkg: { packageManager?: unknown };
  try {
    pkg = JSON.parse(text) as { packageManager?: unknown };
  } catch {
    return undefined;
  }
  return parsePackageManagerField(pkg.packageManager, file);
}

async function lockfilesIn(dir: string): Promise<{ name: string; kind: PackageManagerKind }[]> {
  const found: { name: string; kind: PackageManagerKind }[] = [];
  for (const name of ["npm-shrinkwrap.json", "package-lock.json", "pnpm-lock.yaml", "yarn.lock"]) {
    const text = await readFile(join(dir, name), "utf8").catch(() => undefined);
    if (text === undefined) continue;
    // Yarn 2+ writes a __metadata entry; Yarn 1's lock is its own format without it.
    const kind: PackageManagerKind = name === "yarn.lock" ? (/^__metadata:/m.test(text) ? "yarn-berry" : "yarn-classic") : name === "pnpm-lock.yaml" ? "pnpm" : "npm";
    // npm prefers the shrinkwrap when both are there; one npm lock is enough.
    if (kind === "npm" && found.some((item) => item.kind === "npm")) continue;
    found.push({ name, kind });
  }
  return found;
}

function missingLockfile(root: string, kind: PackageManagerKind | undefined, why: string): IngotError {
  const install = kind ? `${PACKAGE_MANAGERS[kind].command} install` : "npm install (or pnpm install, yarn install)";
  const file = kind ? PACKAGE_MANAGERS[kind].lockfiles.at(-1)! : "its lock file";
  return new IngotError(`Cannot install the app's dependencies reproducibly as ${root} has no ${kind ? file : "package-lock.json, pnpm-lock.yaml or yarn.lock"}${why ? ` (${why})` : ""}`, {
    code: "lockfile-missing", hint: `Run ${install} in ${root} and commit ${file}`,
  });
}
