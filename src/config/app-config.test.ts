import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadAppConfig } from "./app-config.ts";

async function appWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "ingot-config-"));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

test("the example app's ingot.yaml loads with every default filled in", async () => {
  const config = await loadAppConfig("examples/hello");
  assert.equal(config.name, "hello");
  assert.deepEqual(config.command, ["node", "server.js"]);
  assert.deepEqual(config.runtime, { kind: "node", version: "22" });
  assert.deepEqual(config.ports, { http: 8080 });
  assert.deepEqual(config.healthcheck, { type: "http", path: "/health", port: "http", intervalMs: 1000, timeoutMs: 2000, healthyThreshold: 1 });
  assert.equal(config.resources.memoryMiB, 256);
  assert.deepEqual(config.environments.prod, { env: { LOG_LEVEL: "warn" } });
});

test("without ingot.yaml, defaults come from package.json", async (t) => {
  const dir = await appWith({ "package.json": JSON.stringify({ name: "@acme/Shop", version: "2.1.0", main: "index.js", engines: { node: "20.11.1" } }) });
  t.after(() => rm(dir, { recursive: true }));
  const config = await loadAppConfig(dir);
  assert.equal(config.name, "acme-shop");
  assert.equal(config.version, "2.1.0");
  assert.deepEqual(config.command, ["node", "index.js"]);
  assert.deepEqual(config.runtime, { kind: "node", version: "20.11.1" });
  assert.equal(config.runtimeSource, "package.json engines.node");
});

test("every problem is reported at once, each with its path and a hint for typos", async (t) => {
  const dir = await appWith({
    "package.json": "{}",
    "ingot.yaml": "name: Bad Name\nruntim: node@22\nports:\n  http: 99999\nresources:\n  memory: lots\nenvironments:\n  prod:\n    env:\n      1X: y\n",
  });
  t.after(() => rm(dir, { recursive: true }));
  const error = await loadAppConfig(dir).then(() => undefined, (caught: unknown) => caught);
  assert.ok(error instanceof ConfigError);
  const paths = error.problems.map((problem) => problem.path);
  assert.deepEqual(paths.sort(), ["environments.prod.env.1X", "name", "ports.http", "resources.memory", "runtim"]);
  assert.match(error.message, /runtim: is not a known key \(Did you mean "runtime"\?\)/);
});

test("an app with no package.json and no runtime is refused with a hint", async (t) => {
  const dir = await appWith({});
  t.after(() => rm(dir, { recursive: true }));
  await assert.rejects(loadAppConfig(dir), (error: Error & { hint?: string }) => /no package.json/.test(error.message) && /runtime: elf/.test(error.hint ?? ""));
});

test("a package.json without main or a plain start script is refused", async (t) => {
  const dir = await appWith({ "package.json": JSON.stringify({ name: "x", scripts: { start: "nodemon app" } }) });
  t.after(() => rm(dir, { recursive: true }));
  await assert.rejects(loadAppConfig(dir), /no main and no plain "node FILE" start script/);
});
