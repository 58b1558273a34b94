import { test } from "node:test";
import assert from "node:assert/strict";
import { installCommands, runCommand } from "./install-plan.ts";

const installCommand = (...args: Parameters<typeof installCommands>) => installCommands(...args).at(-1)!;

const alone = { path: "", name: undefined, dependencies: [] };
const api = { path: "packages/api", name: "api", dependencies: [] };

test("every package manager installs frozen to its lock file, production only, into node_modules folders", () => {
  assert.deepEqual(installCommand({ kind: "npm", member: alone }, true).args, ["ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"]);
  assert.deepEqual(installCommand({ kind: "pnpm", member: alone }, true).args, ["install", "--frozen-lockfile", "--prod", "--config.node-linker=hoisted", "--reporter=append-only"]);
  assert.deepEqual(installCommand({ kind: "yarn-classic", member: alone }, true).args, ["install", "--frozen-lockfile", "--production=true", "--non-interactive", "--no-progress"]);
  const berry = installCommand({ kind: "yarn-berry", member: alone }, true);
  assert.deepEqual(berry.args, ["workspaces", "focus", "--production"]);
  assert.equal(berry.env.YARN_NODE_LINKER, "node-modules", "Plug'n'Play is never used");
  assert.equal(berry.env.YARN_ENABLE_IMMUTABLE_INSTALLS, "true");
  // focus alone would resolve what the lock lacks: an immutable install without builds checks it first.
  assert.deepEqual(installCommands({ kind: "yarn-berry", member: alone }, true)[0]!.args, ["install", "--immutable", "--mode=skip-build"]);
});

test("a workspace package's production install takes that package (and its local dependencies) only", () => {
  assert.deepEqual(installCommand({ kind: "npm", member: api }, true).args.slice(0, 4), ["ci", "--omit=dev", "--workspace", "packages/api"]);
  assert.deepEqual(installCommand({ kind: "pnpm", member: api }, true).args.slice(4, 6), ["--filter", "./packages/api..."]);
  assert.equal(installCommand({ kind: "yarn-berry", member: api }, true).cwd, "packages/api");
  // The build needs the whole workspace's tools (a root devDependency like typescript).
  assert.deepEqual(installCommand({ kind: "npm", member: api }, false).args, ["ci", "--include=dev", "--no-audit", "--no-fund", "--loglevel=error"]);
  assert.deepEqual(installCommand({ kind: "yarn-berry", member: api }, false).args, ["install", "--immutable"]);
});

test("the build script runs with the app's own package manager, in the app's folder", () => {
  assert.deepEqual(runCommand({ kind: "pnpm", member: api }, "build"), { cwd: "packages/api", args: ["run", "build"], env: runCommand({ kind: "pnpm", member: api }, "build").env });
  assert.equal(runCommand({ kind: "pnpm", member: api }, "build").env.npm_config_manage_package_manager_versions, "false");
});
