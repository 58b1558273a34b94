import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { IngotError } from "../errors.ts";
import { appFileEntries, includedEntries } from "./app-files.ts";

async function mkfifo(path: string): Promise<void> {
  execFileSync("mkfifo", [path]);
}

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

test("files: entries must stay inside the app folder after following links, and be regular files or folders", async (t) => {
  const dir = await app(t);
  const outside = await mkdtemp(join(tmpdir(), "ingot-outside-"));
  t.after(() => rm(outside, { recursive: true, force: true }));
  await writeFile(join(outside, "secret"), "host secret\n");
  await mkdir(join(dir, ".ingot"));
  await symlink(join(outside, "secret"), join(dir, "node_modules", "leak"));
  await symlink("../../../../../../../../etc/passwd", join(dir, ".ingot", "leak"));
  await mkfifo(join(dir, "pipe"));
  for (const [from, reason] of [
    ["/etc/shadow", /it resolves to \/etc\/shadow, outside the app folder/],
    [`../${basename(outside)}/secret`, /it resolves to .*, outside the app folder/],
    ["node_modules/leak", /it resolves to .*ingot-outside-.*secret, outside the app folder/],
    [".ingot/leak", /it resolves to \/etc\/passwd, outside the app folder/],
    ["pipe", /is a socket, FIFO or device/],
  ] as const) {
    await assert.rejects(includedEntries(dir, from, "/etc/x", "files[2].from"), (error: Error & { code?: string }) =>
      error.code === "files-invalid" && error.message.startsWith("Cannot include files[2].from (files in ingot.yaml) as ") && reason.test(error.message), from);
  }
  await assert.rejects(includedEntries(dir, "missing.txt", "/x", "files[0].from"), { code: "input-missing" });
  assert.deepEqual((await includedEntries(dir, "main.js", "/etc/main.js", "files[0].from")).map((entry) => [entry.path, entry.type]), [["/etc/main.js", "file"]]);
  assert.deepEqual((await includedEntries(dir, "./lib", "/opt/lib", "files[1].from")).map((entry) => entry.path), ["/opt/lib", "/opt/lib/run.sh"]);
});

test("a file of 4 GiB or more, which newc cannot hold, is refused by name (a sparse file, nothing written)", async (t) => {
  const dir = await app(t);
  for (const [name, size] of [["huge.bin", 2 ** 32], ["largest.bin", 2 ** 32 - 1]] as const) {
    await writeFile(join(dir, name), "");
    await truncate(join(dir, name), size);
  }
  await assert.rejects(appFileEntries(dir, "/app"), (error: Error) =>
    error.message.includes(`${join(dir, "huge.bin")}: is 4.0 GiB, and an image file must be smaller than 4 GiB`) && !error.message.includes("largest.bin"));
  await assert.rejects(includedEntries(dir, "huge.bin", "/huge.bin", "files[0].from"), /Cannot include files\[0\]\.from .* is 4\.0 GiB/);
});

test("names that are not UTF-8 and paths over 4 KiB are named problems, not crashes", async (t) => {
  const dir = await app(t);
  const latin1 = Buffer.concat([Buffer.from(`${dir}/caf`), Buffer.from([0xe9])]);
  await writeFile(latin1, "x");
  const cwd = process.cwd();
  try {
    // Folders nested past 4 KiB, made one step at a time as no single call may take such a path.
    await mkdir(join(dir, "deep"));
    process.chdir(join(dir, "deep"));
    for (let depth = 0; depth < 20; depth++) {
      await mkdir("d".repeat(250));
      process.chdir("d".repeat(250));
    }
    await writeFile("f", "x");
    process.chdir(cwd);
    const error = await appFileEntries(dir, "/app").then(() => undefined, (caught: Error) => caught);
    assert.ok(error instanceof IngotError, String(error));
    assert.equal(error.code, "app-files-invalid");
    assert.match(error.message, /caf\uFFFD: has a name that is not UTF-8/);
    assert.match(error.message, /: is longer than the 4095 bytes a path in the image may have/);
  } finally {
    process.chdir(cwd);
    // Node's rm cannot remove a tree this deep; GNU rm can.
    execFileSync("rm", ["-rf", join(dir, "deep")]);
  }
});

test("names that merely start with two dots (...x, ..x) are inside the folder", async (t) => {
  const dir = await app(t);
  await writeFile(join(dir, "..config"), "x");
  await symlink("..config", join(dir, "dots"));
  const entries = await appFileEntries(dir, "/app");
  assert.ok(entries.some((entry) => entry.path === "/app/dots" && entry.type === "symlink"));
  assert.deepEqual((await includedEntries(dir, "..config", "/etc/config", "files[0].from")).map((entry) => entry.path), ["/etc/config"]);
});
