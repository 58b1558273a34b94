import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, readlink, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sharedTestVault, tempDir } from "../../test/helpers.ts";
import { choosePackageManager } from "../config/package-manager.ts";
import { appFileEntries, EXCLUDED_NAMES } from "./app-files.ts";
import { runBuildScript } from "./node-deps.ts";
import { pinPackageManager } from "./package-manager-tool.ts";
import { pinNode } from "./pinned-inputs.ts";

test("a build script's staging copy keeps relative symlinks as written, so the walk accepts them", async (t) => {
  const dir = await tempDir("ingot-build-script-");
  t.after(dir.remove);
  const app = join(dir.path, "app");
  await mkdir(app);
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "built", main: "server.js", scripts: { build: "node -e \"require('fs').writeFileSync('built.txt', process.version)\"" } }));
  await writeFile(join(app, "server.js"), "// app\n");
  await symlink("server.js", join(app, "alias.js"));
  // The runtime and npm from the registry (kept in the shared test vault), as a build takes them.
  const vault = await sharedTestVault();
  const runtime = await pinNode(vault, "22", undefined);
  const choice = await choosePackageManager(app, { lockfileRequired: false });
  const manager = { choice, tool: await pinPackageManager(vault, choice, runtime, undefined) };
  const built = await runBuildScript(vault, app, runtime, manager, EXCLUDED_NAMES);
  assert.ok(built);
  t.after(built.remove);
  assert.equal(await readlink(join(built.dir, "alias.js")), "server.js");
  const entries = await appFileEntries(built.dir, "/app");
  assert.deepEqual(entries.map((entry) => entry.path), ["/app", "/app/alias.js", "/app/built.txt", "/app/package.json", "/app/server.js"]);
  assert.equal(await readFile(join(built.dir, "built.txt"), "utf8"), `v${runtime.version}`, "the script ran with the app's runtime, not the host's node");
});
