// Fuzzes the folder walk and `files:` with random trees of names, links (inside and escaping), FIFOs,
// huge sparse files and modes: every outcome must be entries that stay inside the app folder, or an
// IngotError with a code; nothing is written anywhere.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmod, lstat, mkdir, readdir, realpath, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import fc from "fast-check";
import { tempDir } from "../../test/helpers.ts";
import { IngotError } from "../errors.ts";
import { appFileEntries, includedEntries } from "./app-files.ts";
import { type Entry, MAX_CPIO_FILE_SIZE } from "./cpio.ts";

/** Cases per run: about 3 s on a shared 2-core machine. FUZZ_RUNS raises it for a longer hunt. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);

const NON_UTF8 = Buffer.from([0x63, 0x61, 0x66, 0xe9]);
const folder = fc.array(fc.constantFrom("a", "lib", "node_modules", ".ingot", ".git"), { maxLength: 2 });
const name = fc.constantFrom<string | Buffer>("a", "b", "lib", ".hidden", "node_modules", ".ingot", "ingot.yaml", "x y", "ü", "\u001b[31m", "...", "-", NON_UTF8);
const linkTarget = fc.constantFrom("a", "b", "../a", "../..", "../../outside/secret", "/etc/passwd", "b/../..", ".", "..", "lib/b", "missing", "a/../../outside");
const node = fc.record({
  folder, name,
  kind: fc.constantFrom("file", "file", "dir", "symlink", "symlink", "fifo", "huge"),
  mode: fc.integer({ min: 0, max: 0o777 }),
  target: linkTarget,
});
const from = fc.oneof(linkTarget, fc.constantFrom("a", "lib", "node_modules/a", ".ingot/b", "lib/a", "/etc/passwd", "../outside/secret", ".", "a/b/../../.."));

function at(root: string, parts: (string | Buffer)[]): Buffer {
  return Buffer.concat([Buffer.from(root), ...parts.flatMap((part) => [Buffer.from("/"), Buffer.from(part)])]);
}

/** Makes one node of the tree; a clash with what is already there (a file where a folder should go) is skipped. */
async function make(root: string, spec: { folder: string[]; name: string | Buffer; kind: string; mode: number; target: string }): Promise<void> {
  const path = at(root, [...spec.folder, spec.name]);
  try {
    // Folder by folder, never through a link: the test itself must not write outside the app folder.
    for (let depth = 1; depth <= spec.folder.length; depth++) {
      const parent = join(root, ...spec.folder.slice(0, depth));
      const info = await lstat(parent).catch(() => undefined);
      if (!info) await mkdir(parent);
      else if (!info.isDirectory()) return;
    }
    if (spec.kind === "dir") await mkdir(path);
    else if (spec.kind === "symlink") await symlink(spec.target, path);
    else if (spec.kind === "fifo" && typeof spec.name === "string") execFileSync("mkfifo", [path.toString()], { stdio: "ignore" });
    else await writeFile(path, "content\n", { flag: "wx" });
    if (spec.kind === "huge") await truncate(path, MAX_CPIO_FILE_SIZE + 1);
    if (spec.kind !== "symlink") await chmod(path, spec.mode);
  } catch {
    // EEXIST, ENOTDIR, mkfifo on a taken name: the tree is random, some nodes cannot exist together.
  }
}

/** Every entry stays inside the app folder: files are regular, under 4 GiB, and links point inside. */
async function assertContained(root: string, entries: Entry[], target: string): Promise<void> {
  const realRoot = await realpath(root);
  assert.equal(new Set(entries.map((entry) => entry.path)).size, entries.length, "no path twice");
  for (const entry of entries) {
    assert.ok(entry.path === target || entry.path.startsWith(`${target}/`), entry.path);
    if (entry.type === "file" && entry.source.kind === "host") {
      const real = await realpath(entry.source.path);
      assert.ok(real === realRoot || real.startsWith(`${realRoot}/`), `${entry.source.path} → ${real}`);
      const info = await lstat(real);
      assert.ok(info.isFile() && info.size <= MAX_CPIO_FILE_SIZE, entry.source.path);
    }
    if (entry.type === "symlink") assert.ok(!isAbsolute(entry.target), entry.target);
  }
}

function assertIngotError(error: unknown): void {
  assert.ok(error instanceof IngotError, `not an IngotError: ${(error as Error).stack}`);
  assert.match(error.code, /^[a-z][a-z-]+$/);
}

test(`fuzz: the folder walk and files: give contained entries or an IngotError with a code (${RUNS} cases)`, async (t) => {
  const dir = await tempDir("ingot-fuzz-walk-");
  t.after(dir.remove);
  await chmod(dir.path, 0o755);
  const outside = join(dir.path, "outside");
  await mkdir(outside);
  await writeFile(join(outside, "secret"), "host secret\n");
  const app = join(dir.path, "app");
  let walked = 0;
  await fc.assert(fc.asyncProperty(fc.array(node, { maxLength: 10 }), fc.array(from, { maxLength: 3 }), fc.boolean(), async (nodes, froms, asNobody) => {
    await rm(app, { recursive: true, force: true });
    await mkdir(app, { mode: 0o755 });
    await chmod(app, 0o755);
    for (const spec of nodes) await make(app, spec);
    // Half the cases walk as an unprivileged user, so that modes matter (root reads everything).
    const switchUser = asNobody && process.geteuid!() === 0;
    if (switchUser) process.seteuid!(65534);
    try {
      const entries = await appFileEntries(app, "/app").catch((error: unknown) => error);
      if (entries instanceof Error) assertIngotError(entries);
      else {
        await assertContained(app, entries as Entry[], "/app");
        walked++;
      }
      for (const [index, path] of froms.entries()) {
        const included = await includedEntries(app, path, "/opt/x", `files[${index}].from`).catch((error: unknown) => error);
        if (included instanceof Error) assertIngotError(included);
        else await assertContained(app, included as Entry[], "/opt/x");
      }
    } finally {
      if (switchUser) process.seteuid!(0);
    }
    assert.deepEqual((await readdir(dir.path)).sort(), ["app", "outside"], "nothing written beside the app");
    assert.deepEqual(await readdir(outside), ["secret"]);
  }), { numRuns: RUNS, verbose: process.env.FUZZ_VERBOSE ? 2 : 0 });
  assert.ok(walked >= RUNS / 10, `only ${walked} of ${RUNS} walks succeeded`);
  console.log(`${walked} of ${RUNS} walks gave entries`);
});
