// End to end: apps installed by pnpm, Yarn 1, Yarn 4 (node_modules linker) and an npm workspace,
// each made here by running the real package manager from the npm registry (nothing vendored),
// built into images that hold their production dependencies; the workspace's package boots to
// HTTP 200. And the refusals: a lock file that does not match package.json, a missing package.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { lstat, mkdir, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { choosePackageManager } from "../../src/config/package-manager.ts";
import { installProductionDependencies } from "../../src/image/node-deps.ts";
import { pinPackageManager } from "../../src/image/package-manager-tool.ts";
import { pinNode } from "../../src/image/pinned-inputs.ts";
import { buildImage } from "../../src/image/build.ts";
import type { FileIndexEntry } from "../../src/image/build.ts";
import type { Sbom } from "../../src/image/sbom.ts";
import { IngotError } from "../../src/errors.ts";
import type { PackageManagerKind } from "../../src/config/package-manager.ts";
import { bootImage, hasCommand, runPackageManager, sharedTestVault, tempDir, waitForHttp } from "../helpers.ts";
import type { Vault } from "../../src/vault/vault.ts";

const missing = ["qemu-system-x86_64"].find((command) => !hasCommand(command));
// CI has QEMU: there a missing one fails the test instead of skipping it.
const skip = missing && process.env.CI !== "true" ? `missing: ${missing}` : false;

const SERVER = `const ms = require("ms");
require("http").createServer((req, res) => res.end(JSON.stringify({ minute: ms(60000) }))).listen(process.env.PORT, "0.0.0.0");
`;

// The build script needs the dev dependency and leaves a file named after the package manager that ran it.
const BUILD = "node -e \"require('is-number'); require('fs').writeFileSync('built-by-' + process.env.npm_config_user_agent.split('/')[0], process.version)\"";

async function app(t: { after: (fn: () => Promise<void>) => void }, name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const dir = await tempDir(`ingot-${name}-`);
  t.after(dir.remove);
  await writeFile(join(dir.path, "package.json"), `${JSON.stringify({ name, version: "1.0.0", private: true, scripts: { start: "node server.js", build: BUILD }, ...extra }, null, 2)}\n`);
  await writeFile(join(dir.path, "server.js"), SERVER);
  return dir.path;
}

/** The image's npm packages, as its SBOM lists them, and the paths of its deps layer. */
async function contents(vault: Vault, built: Awaited<ReturnType<typeof buildImage>>): Promise<{ packages: string[]; deps: string[]; app: string[] }> {
  const sbom = await vault.readJson<Sbom>(built.manifest.sbom);
  const packages = sbom.components.filter((item) => item.purl?.startsWith("pkg:npm/") && item.name !== "node").map((item) => `${item.name}@${item.version}`).sort();
  const layer = built.manifest.layers.find((item) => item.name === "deps");
  const deps = layer ? (await vault.readJson<FileIndexEntry[]>(layer.files)).map((entry) => `${entry.type === "symlink" ? "link " : ""}${entry.path}`) : [];
  const app = (await vault.readJson<FileIndexEntry[]>(built.manifest.layers.find((item) => item.name === "app")!.files)).map((entry) => entry.path);
  return { packages, deps, app };
}

for (const [kind, spec, lockfile, install] of [
  ["pnpm", "9", "pnpm-lock.yaml", ["add", "ms@2.1.3"]],
  ["yarn-classic", "1", "yarn.lock", ["add", "ms@2.1.3", "--no-progress"]],
  ["yarn-berry", "4", "yarn.lock", ["add", "ms@2.1.3"]],
] as [PackageManagerKind, string, string, string[]][]) {
  test(`an app installed by ${kind} builds with its lock file, its production dependencies as folders in the image`, { skip }, async (t) => {
    const vault = await sharedTestVault();
    const dir = await app(t, `${kind}-app`, kind === "yarn-berry" ? { packageManager: "yarn@4.5.0" } : {});
    if (kind === "yarn-berry") await writeFile(join(dir, "yarn.lock"), "");
    await runPackageManager(kind, kind === "yarn-berry" ? "4.5.0" : spec, install, dir);
    const pkg = JSON.parse(await readFile(join(dir, "package.json"), "utf8")) as { devDependencies?: unknown };
    assert.ok(await readFile(join(dir, lockfile), "utf8"), `${lockfile} made by ${kind}`);
    // A dev dependency must stay out of the image.
    await runPackageManager(kind, kind === "yarn-berry" ? "4.5.0" : spec, [...(kind === "pnpm" ? ["add", "-D"] : ["add", "--dev"]), "is-number@7.0.0"], dir);
    assert.ok(pkg);
    // Plug'n'Play is what Yarn 2+ does unless told otherwise; ingot installs node_modules all the same.
    if (kind === "yarn-berry") await writeFile(join(dir, ".yarnrc.yml"), "nodeLinker: pnp\n");

    const lines: string[] = [];
    const built = await buildImage(dir, { vault, log: (line) => lines.push(line) });
    const { packages, deps, app: appFiles } = await contents(vault, built);
    assert.deepEqual(packages, ["ms@2.1.3"], deps.join("\n"));
    assert.ok(appFiles.includes(`/app/built-by-${kind === "pnpm" ? "pnpm" : "yarn"}`), `the build script ran with ${kind}: ${appFiles.join(" ")}`);
    assert.ok(deps.includes("/app/node_modules/ms/index.js") && !deps.some((path) => path.startsWith("link ")), deps.join("\n"));
    assert.deepEqual(deps.filter((path) => /\/node_modules\/\.[^/]*$/.test(path)), [], "no package manager's records (they name the staging folder)");
    const lock = JSON.parse(await readFile(join(dir, "ingot.lock"), "utf8")) as { packageManager: { name: string; version: string } };
    const registryPackage = { pnpm: "pnpm", "yarn-classic": "yarn", "yarn-berry": "@yarnpkg/cli-dist", npm: "npm" }[kind];
    assert.equal(lock.packageManager.name, registryPackage);
    if (kind === "yarn-berry") assert.equal(lock.packageManager.version, "4.5.0", "packageManager's version is the one used");
    assert.ok(lines.some((line) => line.startsWith(`package manager: ${registryPackage} ${lock.packageManager.version}`)), lines.join("\n"));
  });
}

for (const [kind, own] of [
  ["pnpm", /ERR_PNPM_OUTDATED_LOCKFILE/],
  ["npm", /npm ci. can only install packages when your package\.json and package-lock\.json/],
  ["yarn-classic", /Your lockfile needs to be updated/],
  ["yarn-berry", /YN0028|lockfile would have been modified/],
] as [PackageManagerKind, RegExp][]) {
  test(`a lock file that does not match package.json stops the build with ${kind}'s own error, and no image`, { skip }, async (t) => {
    const vault = await sharedTestVault();
    const name = `stale-lock-${kind}`;
    const dir = await app(t, name);
    // The shared vault outlives runs: only this run's build may leave a tag.
    await vault.removeTag(name, "1.0.0").catch(() => {});
    if (kind === "yarn-berry") await writeFile(join(dir, "yarn.lock"), "");
    const add = kind === "npm" ? ["install", "--no-audit", "--no-fund", "ms@2.1.3"] : ["add", "ms@2.1.3"];
    await runPackageManager(kind, { npm: "10", pnpm: "9", "yarn-classic": "1", "yarn-berry": "4" }[kind], add, dir);
    const pkg = JSON.parse(await readFile(join(dir, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    await writeFile(join(dir, "package.json"), JSON.stringify({ ...pkg, scripts: { start: "node server.js" }, dependencies: { ...pkg.dependencies, "is-number": "7.0.0" } }));
    const error = await buildImage(dir, { vault }).then(() => undefined, (caught: unknown) => caught);
    assert.ok(error instanceof IngotError && error.code === "install-failed", String(error));
    assert.match(error.message, /^Cannot install the app's dependencies as (npm ci|pnpm install|yarn install|yarn workspaces focus) failed/);
    assert.match(error.message, own);
    assert.match(error.hint ?? "", /run (npm|pnpm|yarn) install in .* and commit/);
    assert.ok(!(await vault.tags()).some((tag) => tag.name === name), "no image was tagged");
  });
}

/** A workspace: api depends on the local @acme/lib (which depends on ms); web is unrelated. */
async function workspace(t: { after: (fn: () => Promise<void>) => void }, kind: PackageManagerKind): Promise<string> {
  const root = await tempDir(`ingot-${kind}-workspace-`);
  t.after(root.remove);
  const write = async (path: string, value: unknown): Promise<void> => {
    await mkdir(join(root.path, path, ".."), { recursive: true });
    await writeFile(join(root.path, path), typeof value === "string" ? value : `${JSON.stringify(value, null, 2)}\n`);
  };
  // pnpm and Yarn 2+ link local packages named with the workspace: protocol; npm and Yarn 1 by a matching version.
  const local = kind === "pnpm" || kind === "yarn-berry" ? "workspace:*" : "1.0.0";
  await write("package.json", { name: "monorepo", private: true, ...(kind === "pnpm" ? {} : { workspaces: ["packages/*"] }) });
  if (kind === "pnpm") await write("pnpm-workspace.yaml", "packages:\n  - 'packages/*'\n");
  // An empty yarn.lock tells Yarn 2+ this folder is a project of its own, not part of one above.
  if (kind === "yarn-berry") await write("yarn.lock", "");
  await write("packages/lib/package.json", { name: "@acme/lib", version: "1.0.0", main: "index.js", dependencies: { ms: "2.1.3" } });
  await write("packages/lib/index.js", "const ms = require('ms');\nmodule.exports = () => ({ minute: ms(60000), from: 'lib' });\n");
  await write("packages/api/package.json", { name: "api", version: "1.0.0", private: true, scripts: { start: "node server.js" }, dependencies: { "@acme/lib": local } });
  await write("packages/api/server.js", "const lib = require('@acme/lib');\nrequire('http').createServer((req, res) => res.end(JSON.stringify(lib()))).listen(process.env.PORT, '0.0.0.0');\n");
  await write("packages/web/package.json", { name: "web", version: "1.0.0", dependencies: { "is-number": "7.0.0" } });
  const install = { npm: ["install", "--package-lock-only", "--no-audit", "--no-fund"], pnpm: ["install", "--lockfile-only"], "yarn-classic": ["install", "--no-progress"], "yarn-berry": ["install"] }[kind];
  await runPackageManager(kind, { npm: "10", pnpm: "9", "yarn-classic": "1", "yarn-berry": "4" }[kind], install, root.path);
  return root.path;
}

test("ingot build packages/api builds one package of an npm workspace with its local dependency as a copy, and it boots to HTTP 200", { skip }, async (t) => {
  const vault = await sharedTestVault();
  const root = await workspace(t, "npm");
  const notThere = await buildImage(join(root, "packages/apii"), { vault }).then(() => undefined, (caught: unknown) => caught);
  assert.ok(notThere instanceof IngotError && notThere.code === "workspace-package-unknown", String(notThere));
  assert.match(notThere.hint ?? "", /packages\/api, packages\/lib, packages\/web/);

  const built = await buildImage(join(root, "packages/api"), { vault });
  const { packages, deps } = await contents(vault, built);
  assert.deepEqual(packages, ["@acme/lib@1.0.0", "ms@2.1.3"], "the local package and its dependency; not web's");
  assert.ok(deps.includes("/app/node_modules/@acme/lib/index.js") && !deps.some((path) => path.startsWith("link ")), deps.join("\n"));
  const lock = JSON.parse(await readFile(join(root, "packages/api/ingot.lock"), "utf8")) as { packageManager: { name: string } };
  assert.equal(lock.packageManager.name, "npm");

  const booted = await bootImage(vault, built.digest);
  t.after(booted.close);
  assert.deepEqual(JSON.parse(await waitForHttp(`${booted.url(8080)}/`, 180_000, booted.vm)), { minute: "1m", from: "lib" });
});

for (const kind of ["pnpm", "yarn-classic", "yarn-berry"] as const) {
  test(`a package of a ${kind} workspace builds with the root's lock file and its local dependency as a copy`, { skip }, async (t) => {
    const vault = await sharedTestVault();
    const root = await workspace(t, kind);
    const built = await buildImage(join(root, "packages/api"), { vault });
    const { packages, deps } = await contents(vault, built);
    // pnpm's hoisted linker and Yarn 1 install web's is-number too; ingot keeps what api reaches.
    // Yarn 2+ builds the package its own way: focus (without devDependencies) in packages/api.
    assert.deepEqual(packages, ["@acme/lib@1.0.0", "ms@2.1.3"], deps.join("\n"));
    assert.ok(deps.includes("/app/node_modules/@acme/lib/index.js") && !deps.some((path) => path.startsWith("link ")), deps.join("\n"));
  });
}

for (const kind of ["pnpm", "yarn-classic", "yarn-berry"] as const) {
  test(`two installs by ${kind} of the same lock give the same node_modules, naming no staging folder`, async (t) => {
    const vault = await sharedTestVault();
    const dir = await app(t, `same-${kind}`);
    if (kind === "yarn-berry") await writeFile(join(dir, "yarn.lock"), "");
    await runPackageManager(kind, { pnpm: "9", "yarn-classic": "1", "yarn-berry": "4" }[kind], ["add", "ms@2.1.3"], dir);
    const runtime = await pinNode(vault, "22", undefined);
    const choice = await choosePackageManager(dir);
    const manager = { choice, tool: await pinPackageManager(vault, choice, runtime, undefined) };
    const trees: string[] = [];
    for (let round = 0; round < 2; round++) {
      const installed = await installProductionDependencies(vault, dir, runtime, manager);
      trees.push(await treeDigest(join(installed.dir!, "node_modules"), vault.root));
      // The next round installs afresh, into another staging folder.
      await rm(installed.dir!, { recursive: true, force: true });
    }
    assert.equal(trees[0], trees[1]);
  });
}

/** Every path and file's bytes below `dir`; fails when a file names the vault (where staging folders are). */
async function treeDigest(dir: string, vaultRoot: string): Promise<string> {
  const hash = createHash("sha256");
  for (const entry of (await readdir(dir, { recursive: true, withFileTypes: true })).map((item) => join(item.parentPath, item.name)).sort()) {
    const info = await lstat(entry);
    const bytes = info.isFile() ? await readFile(entry) : info.isSymbolicLink() ? Buffer.from(await readlink(entry)) : Buffer.alloc(0);
    assert.ok(!bytes.includes(vaultRoot), `${entry} names the vault`);
    hash.update(`${relative(dir, entry)}\0${info.isDirectory() ? "dir" : bytes.toString("base64")}\0`);
  }
  return hash.digest("hex");
}
