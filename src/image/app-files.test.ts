import { test } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appFileEntries } from "./app-files.ts";

async function app(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "ingot-app-files-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await chmod(dir, 0o755);
  await mkdir(join(dir, "lib"));
  await mkdir(join(dir, "node_modules"));
  await writeFile(join(dir, "server.js"), "// app\n");
  await writeFile(join(dir, "lib", "run.sh"), "#!/bin/false\n", { mode: 0o700 });
  await writeFile(join(dir, "node_modules", "ignored.js"), "\n");
  await symlink("server.js", join(dir, "main.js"));
  return dir;
}

test("app files become sorted entries under /app with normalized modes; node_modules is left out", async (t) => {
  const dir = await app(t);
  const entries = await appFileEntries(dir, "/app");
  assert.deepEqual(entries.map((entry) => [entry.path, entry.type, "mode" in entry ? entry.mode.toString(8) : entry.target]), [
    ["/app", "dir", "755"],
    ["/app/lib", "dir", "755"],
    ["/app/lib/run.sh", "file", "755"],
    ["/app/main.js", "symlink", "server.js"],
    ["/app/server.js", "file", "644"],
  ]);
});

test("every problem is named at once: outside symlinks and unreadable files", async (t) => {
  const dir = await app(t);
  await symlink("/etc/shadow", join(dir, "shadow"));
  await symlink("../../outside", join(dir, "lib", "up"));
  await writeFile(join(dir, "secret.txt"), "root only\n", { mode: 0o600 });
  // Read as an unprivileged user (root reads everything); restored before any assertion can throw.
  process.seteuid!(65534);
  const error = await appFileEntries(dir, "/app").then(() => undefined, (caught: Error) => caught).finally(() => process.seteuid!(0));
  assert.ok(error);
  assert.match(error.message, new RegExp(`${join(dir, "shadow")}: is a symlink pointing outside the app folder, to /etc/shadow`));
  assert.match(error.message, new RegExp(`${join(dir, "lib", "up")}: is a symlink pointing outside the app folder`));
  assert.match(error.message, new RegExp(`${join(dir, "secret.txt")}: is not readable`));
});
