// What each package manager is asked to do, as data: a frozen install of production (or all)
// dependencies into a node_modules folder that can be copied into the image, and a script run.
import type { PackageManagerChoice, PackageManagerKind } from "../config/package-manager.ts";

export interface PackageManagerCommand {
  args: string[];
  /** Relative to the install's root ("" or the workspace package's path). */
  cwd: string;
  env: Record<string, string>;
}

/**
 * The frozen install: it fails, with the package manager's own message, when the lock file does
 * not match package.json, instead of resolving afresh. Production installs of a workspace package
 * take only what that package needs where the package manager can tell (npm, pnpm, Yarn 2+).
 * The commands run in order.
 *
 * @example
 * installCommands({ kind: "pnpm", member: { path: "packages/api" }, … }, true)[0].args;
 * // ["install", "--frozen-lockfile", "--prod", "--config.node-linker=hoisted", "--filter", "./packages/api...", …]
 */
export function installCommands(choice: Pick<PackageManagerChoice, "kind" | "member">, production: boolean): PackageManagerCommand[] {
  const member = choice.member.path;
  const env = packageManagerEnv(choice.kind);
  switch (choice.kind) {
    case "npm":
      return [{ cwd: "", env, args: ["ci", ...(production ? ["--omit=dev"] : ["--include=dev"]), ...(production && member ? ["--workspace", member] : []), "--no-audit", "--no-fund", "--loglevel=error"] }];
    case "pnpm":
      // pnpm's own layout links packages from node_modules/.pnpm; hoisted gives folders as npm does,
      // which the image carries as they are. Filtering "./path..." takes the package and its local dependencies.
      return [{
        cwd: "", env,
        args: ["install", "--frozen-lockfile", ...(production ? ["--prod", "--config.node-linker=hoisted"] : []), ...(production && member ? ["--filter", `./${member}...`] : []), "--reporter=append-only"],
      }];
    case "yarn-classic":
      return [{ cwd: "", env, args: ["install", "--frozen-lockfile", `--production=${production}`, "--non-interactive", "--no-progress"] }];
    case "yarn-berry":
      // focus installs one workspace's dependencies (--production: without devDependencies), but
      // resolves what the lock file lacks without a word: an immutable install, without builds, checks it first.
      return production
        ? [{ cwd: "", env, args: ["install", "--immutable", "--mode=skip-build"] }, { cwd: member, env, args: ["workspaces", "focus", "--production"] }]
        : [{ cwd: "", env, args: ["install", "--immutable"] }];
  }
}

/**
 * `npm run build`, `pnpm run build`, `yarn run build`, in the app's folder.
 *
 * @example
 * runCommand({ kind: "yarn-classic", member: { path: "packages/api" }, … }, "build"); // { args: ["run", "build"], cwd: "packages/api", … }
 */
export function runCommand(choice: Pick<PackageManagerChoice, "kind" | "member">, script: string): PackageManagerCommand {
  return { cwd: choice.member.path, env: packageManagerEnv(choice.kind), args: ["run", script] };
}

/** Settings through the environment, so the app's own rc files stay as they are. */
export function packageManagerEnv(kind: PackageManagerKind): Record<string, string> {
  const common = { npm_config_update_notifier: "false", COREPACK_ENABLE_STRICT: "0", COREPACK_ENABLE_AUTO_PIN: "0" };
  switch (kind) {
    case "npm":
      return common;
    case "pnpm":
      // pnpm would otherwise fetch the version packageManager names itself; ingot already runs that one.
      return { ...common, npm_config_manage_package_manager_versions: "false", npm_config_package_manager_strict: "false" };
    case "yarn-classic":
      return { ...common, YARN_IGNORE_PATH: "1", YARN_ENABLE_TELEMETRY: "0" };
    case "yarn-berry":
      // Plug'n'Play needs its .pnp.cjs loader and zip archives; the image holds node_modules folders.
      // YARN_IGNORE_PATH: a yarnPath in .yarnrc.yml is not the pinned release, so it is not run.
      return { ...common, YARN_NODE_LINKER: "node-modules", YARN_ENABLE_IMMUTABLE_INSTALLS: "true", YARN_IGNORE_PATH: "1", YARN_ENABLE_TELEMETRY: "0", YARN_ENABLE_PROGRESS_BARS: "false", YARN_ENABLE_COLORS: "false" };
  }
}
