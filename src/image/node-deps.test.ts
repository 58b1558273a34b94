import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "../../test/helpers.ts";
import { Vault } from "../vault/vault.ts";
import { appFileEntries, EXCLUDED_NAMES } from "./app-files.ts";
import { runBuildScript } from "./node-deps.ts";
import type { NodeRuntime } from "./node-runtime.ts";

test("a build script's staging copy keeps relative symlinks as written, so the walk accepts them", async (t) => {
  const dir = await tempDir("ingot-build-script-");
  t.after(dir.remove);
  const app = join(dir.path, "app");
  const vault = await Vault.open(join(dir.path, "vault"));
  await mkdir(app);
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "built", main: "server.js", scripts: { build: "node -e \"require('fs').writeFileSync('built.txt', 'x')\"" } }));
  await writeFile(join(app, "server.js"), "// app\n");
  await symlink("server.js", join(app, "alias.js"));
  // The build script runs with the host's npm; of the runtime only its headers folder is passed on.
  const staging = await runBuildScript(vault, app, { dir: "/nonexistent" } as NodeRuntime, EXCLUDED_NAMES);
  assert.ok(staging);
  t.after(() => rm(staging, { recursive: true, force: true }));
  assert.equal(await readlink(join(staging, "alias.js")), "server.js");
  const entries = await appFileEntries(staging, "/app");
  assert.deepEqual(entries.map((entry) => entry.path), ["/app", "/app/alias.js", "/app/built.txt", "/app/package.json", "/app/server.js"]);
});
