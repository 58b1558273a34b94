// End to end: builds are reproducible, cached per layer, atomic, and bad input gets a clear error.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFile, readdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildImage } from "../../src/image/build.ts";
import { Vault } from "../../src/vault/vault.ts";
import { copyOfExample, sharedTestVault, tempDir } from "../helpers.ts";

let vault: Vault;
before(async () => {
  vault = await sharedTestVault();
});

test("building the same app twice, from fresh copies with other mtimes, an empty vault and the first build's ingot.lock (--locked), gives the same digest", async (t) => {
  const first = await copyOfExample(new Date("2001-01-01T00:00:00Z"));
  const second = await copyOfExample(new Date("2024-06-15T12:34:56Z"));
  const emptyVault = await tempDir("ingot-vault-");
  t.after(async () => { await first.remove(); await second.remove(); await emptyVault.remove(); });

  const a = await buildImage(first.path, { vault });
  await copyFile(join(first.path, "ingot.lock"), join(second.path, "ingot.lock"));
  const b = await buildImage(second.path, { vault: await Vault.open(emptyVault.path), locked: true });
  assert.ok(b.layers.every((layer) => !layer.cached), "the second build starts from nothing");
  assert.deepEqual(b.layers.map((layer) => [layer.name, layer.digest]), a.layers.map((layer) => [layer.name, layer.digest]));
  assert.equal(b.digest, a.digest);
});

test("changing only app code rebuilds only the app layer", async (t) => {
  const app = await copyOfExample(new Date("2001-01-01T00:00:00Z"));
  t.after(app.remove);
  await buildImage(app.path, { vault });
  // Unique content: the shared test vault remembers layers from earlier runs.
  await writeFile(join(app.path, "extra.js"), `export const builtAt = ${Date.now()};\n`);
  const rebuilt = await buildImage(app.path, { vault });
  assert.deepEqual(rebuilt.layers.map((layer) => [layer.name, layer.cached]), [["base", true], ["runtime", true], ["app", false]]);
});

test("a symlink pointing outside the app folder is refused and named", async (t) => {
  const app = await copyOfExample(new Date());
  t.after(app.remove);
  await symlink("/etc/passwd", join(app.path, "leak"));
  await assert.rejects(buildImage(app.path, { vault }), (error: Error) => error.message.includes(`${join(app.path, "leak")}: is a symlink pointing outside the app folder, to /etc/passwd`));
});

test("an unknown Node.js version is an error listing close versions", async (t) => {
  const app = await copyOfExample(new Date());
  t.after(app.remove);
  await writeFile(join(app.path, "ingot.yaml"), "runtime: node@22.99.0\n");
  await assert.rejects(buildImage(app.path, { vault }), (error: Error & { hint?: string }) =>
    /Cannot find Node.js 22.99.0/.test(error.message) && /^Close versions that exist: 22\.\d+\.\d+/.test(error.hint ?? ""));
});

test("a missing kernel is an error that says how to install one", async () => {
  await assert.rejects(buildImage("examples/hello", { vault, kernel: "/nonexistent/vmlinuz" }), (error: Error & { hint?: string }) =>
    /does not exist/.test(error.message) && /apt-get install linux-image-cloud-amd64/.test(error.hint ?? ""));
});

test("a disk that fills up mid-build leaves no image, no tag and no temporary files", async (t) => {
  // A 1 MiB tmpfs as the vault: the base layer fits, the kernel (~1.9 MiB as xz) does not.
  const small = await tempDir("ingot-full-");
  const app = await tempDir("ingot-elf-");
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", small.path]);
  t.after(async () => { execFileSync("umount", [small.path]); await small.remove(); await app.remove(); });
  execFileSync("gcc", ["-O2", "-o", join(app.path, "server"), "test/fixtures/http-server.c"]);
  await writeFile(join(app.path, "ingot.yaml"), "name: full\nruntime: elf\ncommand: [./server]\n");
  const full = await Vault.open(small.path);
  await assert.rejects(buildImage(app.path, { vault: full }), (error: Error & { code?: string; hint?: string }) =>
    error.code === "disk-full" && /nothing was half-written/.test(error.hint ?? ""));
  assert.deepEqual(await full.tags(), []);
  assert.deepEqual(await readdir(join(small.path, "tmp")), []);
});
