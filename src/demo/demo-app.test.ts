import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "../../test/helpers.ts";
import { DEMO_VERSIONS, DemoApp, NOTES_EXAMPLE } from "./demo-app.ts";

test("the demo's copy of examples/notes takes every version's edits, and leaves the example and its build outputs alone", async (t) => {
  const app = await DemoApp.copy();
  t.after(app.remove);
  const example = await readFile(join(NOTES_EXAMPLE, "src", "server.ts"), "utf8");
  for (const version of [DEMO_VERSIONS.v2, DEMO_VERSIONS.v3]) await app.apply(version);
  assert.match(await readFile(join(app.path, "src", "page.ts"), "utf8"), /shipped by ingot demo/);
  assert.match(await readFile(join(app.path, "src", "server.ts"), "utf8"), /if \(!process\.env\.NOTES_FEATURES\) throw/);
  assert.equal(await readFile(join(NOTES_EXAMPLE, "src", "server.ts"), "utf8"), example, "the example itself is untouched");
  assert.ok(!existsSync(join(app.path, "node_modules")) && !existsSync(join(app.path, "dist")));
  await app.remove();
  assert.ok(!existsSync(app.path));
});

test("an edit whose text the app no longer has is refused, naming the file and what to update", async (t) => {
  const source = await tempDir("ingot-demo-source-");
  t.after(source.remove);
  await mkdir(join(source.path, "src"));
  await writeFile(join(source.path, "src", "page.ts"), "<h1>Renamed</h1>\n");
  const app = await DemoApp.copy(source.path);
  t.after(app.remove);
  await assert.rejects(app.apply(DEMO_VERSIONS.v2), (error: Error & { hint?: string }) => {
    assert.match(error.message, /^Cannot make notes:1\.1\.0 of the demo as src\/page\.ts of the example no longer has "<h1>Notes<\/h1>" once$/);
    assert.match(error.hint ?? "", /DEMO_VERSIONS in src\/demo\/demo-app\.ts/);
    return true;
  });
});

test("a missing example is refused with how to get it", async () => {
  await assert.rejects(DemoApp.copy("/nonexistent/notes"), /Cannot copy the example app \/nonexistent\/notes as it is missing/);
});
