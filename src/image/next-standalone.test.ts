import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { nextStandalone } from "./next-standalone.ts";

async function builtApp(files: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "ingot-next-"));
  for (const file of files) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await writeFile(join(dir, file), file);
  }
  return dir;
}

test("a standalone build ships server.js, its .next, .next/static and public under /app, its traced node_modules apart, and nothing else", async (t) => {
  const dir = await builtApp([
    "app/page.js", "next.config.js", "package.json", ".next/cache/webpack/x.pack", ".next/server/app/page.js", ".next/static/chunks/main.js",
    ".next/standalone/server.js", ".next/standalone/package.json", ".next/standalone/.next/BUILD_ID", ".next/standalone/node_modules/next/package.json",
    "public/robots.txt",
  ]);
  t.after(() => rm(dir, { recursive: true }));
  const layout = (await nextStandalone(dir))!;
  assert.deepEqual(layout.appEntries.map((entry) => entry.path), [
    "/app", "/app/.next", "/app/.next/BUILD_ID", "/app/.next/static", "/app/.next/static/chunks", "/app/.next/static/chunks/main.js",
    "/app/package.json", "/app/public", "/app/public/robots.txt", "/app/server.js",
  ]);
  assert.equal(layout.nodeModules, join(dir, ".next/standalone/node_modules"));
  assert.deepEqual([layout.command, layout.env], [["node", "server.js"], { HOSTNAME: "0.0.0.0" }]);
});

test("without .next/standalone/server.js (no output: \"standalone\") the app is built as any other", async (t) => {
  const dir = await builtApp(["app/page.js", ".next/server/app/page.js", ".next/static/chunks/main.js"]);
  t.after(() => rm(dir, { recursive: true }));
  assert.equal(await nextStandalone(dir), undefined);
});
