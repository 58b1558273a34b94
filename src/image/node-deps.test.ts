import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readdir, readFile, readlink, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runPackageManager, sharedTestVault, tempDir } from "../../test/helpers.ts";
import { choosePackageManager } from "../config/package-manager.ts";
import { appFileEntries, EXCLUDED_NAMES } from "./app-files.ts";
import { failureOutput, runBuildScript } from "./node-deps.ts";
import { pinPackageManager } from "./package-manager-tool.ts";
import type { NodeRuntime } from "./node-runtime.ts";
import { pinNode } from "./pinned-inputs.ts";
import type { Vault } from "../vault/vault.ts";

/** Runs the app's build script with the runtime and npm from the registry (kept in the shared test vault), as a build takes them. */
async function buildScriptOf(app: string, t: TestContext): Promise<{ built: { dir: string }; runtime: NodeRuntime; vault: Vault }> {
  const vault = await sharedTestVault();
  const runtime = await pinNode(vault, "22", undefined);
  const choice = await choosePackageManager(app, { lockfileRequired: false });
  const manager = { choice, tool: await pinPackageManager(vault, choice, runtime, undefined) };
  const built = await runBuildScript(vault, app, runtime, manager, EXCLUDED_NAMES);
  assert.ok(built);
  t.after(built.remove);
  return { built, runtime, vault };
}

test("a build script's staging copy keeps relative symlinks as written, so the walk accepts them", async (t) => {
  const dir = await tempDir("ingot-build-script-");
  t.after(dir.remove);
  const app = join(dir.path, "app");
  await mkdir(app);
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "built", main: "server.js", scripts: { build: "node -e \"require('fs').writeFileSync('built.txt', process.version)\"" } }));
  await writeFile(join(app, "server.js"), "// app\n");
  await symlink("server.js", join(app, "alias.js"));
  const { built, runtime } = await buildScriptOf(app, t);
  assert.equal(await readlink(join(built.dir, "alias.js")), "server.js");
  const entries = await appFileEntries(built.dir, "/app");
  assert.deepEqual(entries.map((entry) => entry.path), ["/app", "/app/alias.js", "/app/built.txt", "/app/package.json", "/app/server.js"]);
  assert.equal(await readFile(join(built.dir, "built.txt"), "utf8"), `v${runtime.version}`, "the script ran with the app's runtime, not the host's node");
});

test("a build script writes into its staging node_modules, never into the cached install that is hard-linked there", async (t) => {
  const dir = await tempDir("ingot-build-links-");
  t.after(dir.remove);
  const app = join(dir.path, "app");
  await mkdir(app);
  // Creates a tool's cache folder and replaces an installed file, as build tools do (write, then rename).
  const script = "const fs=require('fs');fs.mkdirSync('node_modules/.cache/tool',{recursive:true});fs.writeFileSync('node_modules/.cache/tool/x','1');"
    + "fs.writeFileSync('node_modules/is-number/index.js.new','module.exports=0');fs.renameSync('node_modules/is-number/index.js.new','node_modules/is-number/index.js');fs.writeFileSync('built.txt',String(require('is-number')))";
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "linked", version: "1.0.0", scripts: { build: `node -e "${script}"` }, devDependencies: { "is-number": "7.0.0" } }));
  await runPackageManager("npm", "11", ["install", "--package-lock-only", "--ignore-scripts"], app);
  const { built, vault } = await buildScriptOf(app, t);
  assert.equal(await readFile(join(built.dir, "built.txt"), "utf8"), "0", "the script saw its own replacement");
  // The cached install the staging folder was linked from: the one whose is-number shares an inode with nothing changed.
  const cache = join(vault.root, "cache", "deps-full");
  const installs = [];
  for (const key of await readdir(cache)) {
    const original = join(cache, key, "node_modules", "is-number", "index.js");
    if (await stat(original).catch(() => undefined)) installs.push(join(cache, key, "node_modules"));
  }
  assert.ok(installs.length > 0, "the full install is cached");
  for (const install of installs) {
    assert.match(await readFile(join(install, "is-number", "index.js"), "utf8"), /isFinite/, `${install}: is-number is the registry's`);
    assert.equal(await stat(join(install, ".cache")).catch(() => undefined), undefined, `${install}: no tool's cache folder`);
  }
});

test("a failed npm ci shows its reason, not the usage it prints after it", () => {
  const stderr = ["npm error code EUSAGE", "npm error", "npm error `npm ci` can only install packages when your package.json and package-lock.json are in sync.", "npm error", "npm error Missing: is-number@7.0.0 from lock file", "npm error", "npm error Clean install a project", "npm error", "npm error Usage:", "npm error npm ci", "npm error A complete log of this run can be found in: /root/.npm/_logs/x.log"].join("\n");
  assert.equal(failureOutput("", stderr), ["npm error code EUSAGE", "npm error", "npm error `npm ci` can only install packages when your package.json and package-lock.json are in sync.", "npm error", "npm error Missing: is-number@7.0.0 from lock file"].join("\n"));
  assert.equal(failureOutput(" ERR_PNPM_OUTDATED_LOCKFILE  Cannot install\n", ""), "ERR_PNPM_OUTDATED_LOCKFILE  Cannot install");
});
