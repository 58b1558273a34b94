import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "../../test/helpers.ts";
import { IngotError } from "../errors.ts";
import { choosePackageManager, parsePackageManagerField } from "./package-manager.ts";

test("corepack's packageManager field: name and exact version, the hash left to ingot's own checks", () => {
  assert.deepEqual(parsePackageManagerField("pnpm@9.12.0+sha512.4abf"), { name: "pnpm", version: "9.12.0" });
  assert.deepEqual(parsePackageManagerField("yarn@4.5.0"), { name: "yarn", version: "4.5.0" });
  assert.equal(parsePackageManagerField(undefined), undefined);
  for (const bad of ["pnpm", "pnpm@9", "bun@1.1.0", 3]) assert.throws(() => parsePackageManagerField(bad), (error: IngotError) => error.code === "package-manager-invalid");
});

async function app(files: Record<string, string>): Promise<{ path: string; remove: () => Promise<void> }> {
  const dir = await tempDir("ingot-pm-");
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir.path, name, ".."), { recursive: true });
    await writeFile(join(dir.path, name), text);
  }
  return dir;
}

test("the lock file names the package manager; Yarn's tells classic from berry; packageManager names the version", async (t) => {
  const cases: [Record<string, string>, string, string][] = [
    [{ "package.json": "{}", "package-lock.json": "{}" }, "npm", "10 || 11"],
    [{ "package.json": "{}", "pnpm-lock.yaml": "lockfileVersion: '9.0'\n" }, "pnpm", "9 || 10"],
    [{ "package.json": "{}", "yarn.lock": "# yarn lockfile v1\n" }, "yarn-classic", "1"],
    [{ "package.json": "{}", "yarn.lock": "__metadata:\n  version: 8\n" }, "yarn-berry", "4"],
    [{ "package.json": JSON.stringify({ packageManager: "yarn@3.8.1" }), "yarn.lock": "__metadata:\n  version: 6\n" }, "yarn-berry", "3.8.1"],
  ];
  for (const [files, kind, spec] of cases) {
    const dir = await app(files);
    t.after(dir.remove);
    const choice = await choosePackageManager(dir.path);
    assert.deepEqual([choice.kind, choice.spec, choice.workspace], [kind, spec, undefined], JSON.stringify(files));
  }
});

test("no lock file, two package managers' lock files, or packageManager without its lock file are refused with a hint", async (t) => {
  const cases: [Record<string, string>, string, RegExp][] = [
    [{ "package.json": "{}" }, "lockfile-missing", /Run npm install \(or pnpm install, yarn install\)/],
    [{ "package.json": "{}", "package-lock.json": "{}", "yarn.lock": "" }, "lockfile-ambiguous", /packageManager/],
    [{ "package.json": JSON.stringify({ packageManager: "pnpm@9.12.0" }), "package-lock.json": "{}" }, "lockfile-missing", /Run pnpm install .* commit pnpm-lock.yaml/],
  ];
  for (const [files, code, hint] of cases) {
    const dir = await app(files);
    t.after(dir.remove);
    const error = await choosePackageManager(dir.path).then(() => undefined, (caught: unknown) => caught as IngotError);
    assert.equal(error?.code, code, JSON.stringify(files));
    assert.match(error.hint ?? "", hint);
  }
});

test("a workspace package uses the root's lock file and names its local dependencies", async (t) => {
  const dir = await app({
    "package.json": JSON.stringify({ workspaces: ["packages/*"] }),
    "pnpm-lock.yaml": "lockfileVersion: '9.0'\n",
    "packages/api/package.json": JSON.stringify({ name: "api", dependencies: { lib: "workspace:*" } }),
    "packages/lib/package.json": JSON.stringify({ name: "lib" }),
  });
  t.after(dir.remove);
  const choice = await choosePackageManager(join(dir.path, "packages/api"));
  assert.deepEqual([choice.kind, choice.root, choice.lockfile, choice.member.path, choice.localPackages.map((item) => item.path)], ["pnpm", dir.path, "pnpm-lock.yaml", "packages/api", ["packages/lib"]]);
});

test("with nothing to install, a build script alone runs with npm and needs no lock file", async (t) => {
  const dir = await app({ "package.json": "{}" });
  t.after(dir.remove);
  assert.equal((await choosePackageManager(dir.path, { lockfileRequired: false })).kind, "npm");
});

test("a workspace's root is built as a workspace; a package with a lock file of its own stands alone", async (t) => {
  const dir = await app({
    "package.json": JSON.stringify({ workspaces: ["packages/*"] }),
    "package-lock.json": "{}",
    "packages/api/package.json": JSON.stringify({ name: "api" }),
    "tools/x/package.json": JSON.stringify({ name: "x" }),
    "tools/x/package-lock.json": "{}",
  });
  t.after(dir.remove);
  const root = await choosePackageManager(dir.path);
  assert.deepEqual([root.workspace?.root, root.member.path], [dir.path, ""]);
  const alone = await choosePackageManager(join(dir.path, "tools/x"));
  assert.deepEqual([alone.workspace, alone.root], [undefined, join(dir.path, "tools/x")]);
});
