import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { loadSecretKey } from "./secret-key.ts";

describe("loadSecretKey", () => {
  const folder = mkdtempSync(join(tmpdir(), "ingot-secret-key-"));
  after(() => rmSync(folder, { recursive: true, force: true }));

  it("creates a 32-byte key readable by its owner only, and reads the same key again", () => {
    const path = join(folder, "secret.key");
    const key = loadSecretKey(path);
    assert.equal(key.length, 32);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(loadSecretKey(path), key);
    assert.deepEqual(readdirSync(folder), ["secret.key"], "no temporary file is left");
  });

  it("refuses a key file group or others can read, with a hint to chmod 600", () => {
    const path = join(folder, "open.key");
    loadSecretKey(path);
    for (const mode of [0o640, 0o604, 0o644]) {
      chmodSync(path, mode);
      assert.throws(() => loadSecretKey(path), (error: Error & { code?: string; hint?: string }) => error.code === "secret-key-permissions" && error.hint!.includes(`chmod 600 ${path}`));
    }
    chmodSync(path, 0o600);
    assert.equal(loadSecretKey(path).length, 32);
  });

  it("refuses a key of the wrong length instead of replacing it", () => {
    const path = join(folder, "short.key");
    writeFileSync(path, "too short", { mode: 0o600 });
    assert.throws(() => loadSecretKey(path), { code: "secret-key-invalid" });
    assert.equal(statSync(path).size, 9);
  });
});
