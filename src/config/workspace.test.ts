import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "../../test/helpers.ts";
import { IngotError } from "../errors.ts";
import { findWorkspace, isWorkspacePath, localDependencies, workspaceAbove } from "./workspace.ts";

test("workspace patterns match as npm, Yarn and pnpm write them, with ! excluding", () => {
  assert.ok(isWorkspacePath(["packages/*"], "packages/api"));
  assert.ok(!isWorkspacePath(["packages/*"], "packages/api/sub"));
  assert.ok(isWorkspacePath(["./apps/**"], "apps/web/site"));
  assert.ok(isWorkspacePath(["**/svc-?"], "deep/down/svc-a"));
  assert.ok(!isWorkspacePath(["packages/*", "!packages/old"], "packages/old"));
  assert.ok(!isWorkspacePath(["packages/*"], "packages.x/api"), "a dot is not a wildcard");
});

async function tree(files: Record<string, unknown>): Promise<{ path: string; remove: () => Promise<void> }> {
  const dir = await tempDir("ingot-workspace-");
  for (const [path, value] of Object.entries(files)) {
    await mkdir(join(dir.path, path, ".."), { recursive: true });
    await writeFile(join(dir.path, path), typeof value === "string" ? value : JSON.stringify(value));
  }
  return dir;
}

test("a package of an npm workspace finds its root and its local dependencies, through each other", async (t) => {
  const dir = await tree({
    "package.json": { workspaces: ["packages/*"] },
    "packages/api/package.json": { name: "api", dependencies: { "@a/lib": "*", express: "4" }, devDependencies: { "@a/test": "*" } },
    "packages/lib/package.json": { name: "@a/lib", dependencies: { "@a/util": "*" } },
    "packages/util/package.json": { name: "@a/util" },
    "packages/test/package.json": { name: "@a/test" },
  });
  t.after(dir.remove);
  const found = await findWorkspace(join(dir.path, "packages/api"));
  assert.ok(found);
  assert.equal(found.workspace.root, dir.path);
  assert.equal(found.member.path, "packages/api");
  assert.deepEqual(localDependencies(found.workspace, found.member).map((item) => item.name), ["@a/lib", "@a/util"], "dev dependencies are not production's");
  assert.equal(await findWorkspace(join(dir.path, "packages")).catch((error: unknown) => (error as IngotError).code), "workspace-package-unknown");
});

test("pnpm-workspace.yaml declares a pnpm workspace; a folder with settings only is not one", async (t) => {
  const dir = await tree({
    "pnpm-workspace.yaml": "packages:\n  - 'apps/*'\n",
    "package.json": { name: "root" },
    "apps/web/package.json": { name: "web" },
    "alone/pnpm-workspace.yaml": "onlyBuiltDependencies: [esbuild]\n",
  });
  t.after(dir.remove);
  assert.equal((await findWorkspace(join(dir.path, "apps/web")))?.workspace.declaredIn, "pnpm-workspace.yaml");
  const above = await workspaceAbove(join(dir.path, "apps/nope"));
  assert.deepEqual(above?.packages.map((item) => item.path), ["", "apps/web"]);
});

test("an app on its own has no workspace", async (t) => {
  const dir = await tree({ "package.json": { name: "alone" } });
  t.after(dir.remove);
  assert.equal(await findWorkspace(dir.path), undefined);
});
