import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { basename, join } from "node:path";
import { tempDir } from "../../test/helpers.ts";
import { createRunFolder, removeOrphanedRunFolders, runFolderBase } from "./run-folder.ts";

test("the run folder is under $XDG_RUNTIME_DIR when its path is short and plain, else /tmp, never $TMPDIR", () => {
  assert.equal(runFolderBase({ XDG_RUNTIME_DIR: "/run/user/1000", TMPDIR: "/var/tmp" }, undefined), "/run/user/1000");
  assert.equal(runFolderBase({ TMPDIR: "/tmp/with a space" }, undefined), "/tmp");
  assert.equal(runFolderBase({ XDG_RUNTIME_DIR: "/run/user/with space" }, undefined), "/tmp");
  assert.equal(runFolderBase({ XDG_RUNTIME_DIR: `/run/${"x".repeat(60)}` }, undefined), "/tmp");
  assert.equal(runFolderBase({ XDG_RUNTIME_DIR: "relative/dir" }, undefined), "/tmp");
  assert.equal(runFolderBase({ XDG_RUNTIME_DIR: "/run/user/1000,x" }, undefined), "/tmp", "a comma means something to QEMU's options");
  assert.equal(runFolderBase({ XDG_RUNTIME_DIR: "/run/user/0" }, { uid: 2113929300, gid: 2113929300, groups: [] }), "/tmp",
    "a QEMU with its own user cannot enter root's 0700 runtime folder");
});

test("a run folder is 0700, holds a socket path under 108 bytes for the longest base, and is removed", async (t) => {
  const base = await tempDir("ingot-base-");
  t.after(base.remove);
  const folder = await createRunFolder("i-1a2b3c4d; rm -rf /", undefined, base.path);
  assert.equal((await stat(folder.path)).mode & 0o777, 0o700);
  assert.match(folder.path, /\/ingot-i-1a2b3c4drm-rf-[A-Za-z0-9]{6}$/, "the label is reduced to plain characters");
  const longest = `/${"x".repeat(47)}/ingot-i-1a2b3c4d-XXXXXX/metadata.sock`;
  assert.ok(Buffer.byteLength(longest) < 108, `${longest.length} bytes`);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(join(folder.path, "metadata.sock"), resolve));
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await folder.remove();
  await assert.rejects(stat(folder.path), /ENOENT/);
});

test("with a QEMU user, the folder and what is handed over belong to that user", { skip: process.getuid?.() !== 0 && process.env.CI !== "true" && "needs root to chown (CI runs as root, so it never skips there)" }, async (t) => {
  const base = await tempDir("ingot-base-");
  t.after(base.remove);
  const user = { uid: 2113929300, gid: 2113929301, groups: [] };
  const folder = await createRunFolder("i-1", user, base.path);
  const info = await stat(folder.path);
  assert.deepEqual([info.uid, info.gid, info.mode & 0o777], [2113929300, 2113929301, 0o700]);
});

test("a run folder left by an ingot that is gone is removed when the next one is made; a live one's stays", async (t) => {
  const base = await tempDir("ingot-base-orphans-");
  t.after(base.remove);
  const live = await createRunFolder("i-live", undefined, base.path);
  const orphan = await createRunFolder("i-orphan", undefined, base.path);
  // What a SIGKILLed ingot leaves: its owner file names a process that no longer runs as that pid.
  await writeFile(join(orphan.path, "owner.json"), JSON.stringify({ pid: process.pid, startTime: "1" }));
  const unowned = await createRunFolder("i-unowned", undefined, base.path);
  await rm(join(unowned.path, "owner.json"));
  const next = await createRunFolder("i-next", undefined, base.path);
  const names = await readdir(base.path);
  for (const kept of [live, unowned, next]) assert.ok(names.includes(basename(kept.path)), `${kept.path} stays`);
  assert.equal(names.includes(basename(orphan.path)), false, "the orphan is gone");
  assert.deepEqual(await removeOrphanedRunFolders(base.path), []);
});
