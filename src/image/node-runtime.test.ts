import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Vault } from "../vault/vault.ts";
import { resolveNodeVersion } from "./node-runtime.ts";

test("a range resolves to the newest matching release from the npm registry, then from the vault while the registry is unreachable", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "ingot-resolve-"));
  t.after(() => rm(root, { recursive: true }));
  const vault = await Vault.open(root);
  const resolved = await resolveNodeVersion(vault, "22");
  assert.match(resolved.version, /^22\.\d+\.\d+$/);
  assert.match(resolved.integrity, /^sha512-/);
  const saved = process.env.npm_config_registry;
  process.env.npm_config_registry = "http://127.0.0.1:9"; // nothing listens on the discard port
  t.after(() => { if (saved === undefined) delete process.env.npm_config_registry; else process.env.npm_config_registry = saved; });
  assert.deepEqual(await resolveNodeVersion(vault, "22"), resolved);
  assert.deepEqual(await resolveNodeVersion(vault, resolved.version), resolved);
  await assert.rejects(resolveNodeVersion(vault, "21"), (error: Error & { code?: string }) => error.code === "registry-unreachable");
});
