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
  assert.equal(config.portSource, undefined, "a declared port is not followed");
  assert.deepEqual(config.healthcheck, { type: "http", path: "/health", port: "http", intervalMs: 1000, timeoutMs: 2000, healthyThreshold: 1, startTimeoutMs: 120_000 });
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
  assert.deepEqual([config.ports, config.portSource], [{ http: 8080 }, "ingot's default, PORT=8080"], "PORT=8080, followed where the app listens");
  assert.deepEqual(config.healthcheck && [config.healthcheck.type, config.healthcheck.port], ["tcp", "http"]);
});

test("an ELF program without ports: in ingot.yaml has no port and no health check to follow", async (t) => {
  const dir = await appWith({ "ingot.yaml": "name: x\nruntime: elf\ncommand: [./x]\n" });
  t.after(() => rm(dir, { recursive: true }));
  const config = await loadAppConfig(dir);
  assert.deepEqual([config.ports, config.portSource, config.healthcheck], [{}, undefined, false]);
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

test("a package.json with no start script, no main and no server.js is refused; server.js is npm start's default", async (t) => {
  const dir = await appWith({ "package.json": JSON.stringify({ name: "x", scripts: { test: "node --test" } }) });
  t.after(() => rm(dir, { recursive: true }));
  await assert.rejects(loadAppConfig(dir), (error: Error & { hint?: string }) => /has no start script and no main, and there is no server\.js/.test(error.message) && /"start": "node server\.js"/.test(error.hint ?? ""));
  await writeFile(join(dir, "server.js"), "");
  const config = await loadAppConfig(dir);
  assert.deepEqual(config.command, ["node", "server.js"]);
  assert.equal(config.commandSource, "server.js (npm start's default)");
});

test("the start script wins over main; its VAR=value prefixes are baked under ingot.yaml's env, and its PORT is the default port", async (t) => {
  const dir = await appWith({ "package.json": JSON.stringify({ name: "x", main: "lib/index.js", scripts: { start: "NODE_ENV=production PORT=3000 npm run serve", serve: "fastify start -l info app.js" } }) });
  t.after(() => rm(dir, { recursive: true }));
  const config = await loadAppConfig(dir);
  assert.deepEqual(config.command, ["node_modules/.bin/fastify", "start", "-l", "info", "app.js"], "the bin is resolved by the build, once dependencies are installed");
  assert.equal(config.commandSource, "scripts.start: NODE_ENV=production PORT=3000 npm run serve → scripts.serve: fastify start -l info app.js");
  assert.deepEqual(config.env, { NODE_ENV: "production", PORT: "3000" });
  assert.deepEqual(config.ports, { http: 3000 });
  assert.equal(config.portSource, "the start script's PORT=3000");
  await writeFile(join(dir, "ingot.yaml"), "env:\n  NODE_ENV: staging\n");
  assert.deepEqual((await loadAppConfig(dir)).env, { NODE_ENV: "staging", PORT: "3000" });
  await writeFile(join(dir, "ingot.yaml"), "command: [node, app.js]\n");
  const given = await loadAppConfig(dir);
  assert.deepEqual([given.command, given.commandSource, given.env], [["node", "app.js"], undefined, {}], "ingot.yaml's command leaves the start script alone");
});

test("scripts.start:prod wins over scripts.start, as NestJS's start runs its CLI (a devDependency) and start:prod the build", async (t) => {
  const dir = await appWith({ "package.json": JSON.stringify({ name: "x", scripts: { start: "nest start", "start:prod": "node dist/main", build: "nest build" }, devDependencies: { "@nestjs/cli": "^11" } }) });
  t.after(() => rm(dir, { recursive: true }));
  const config = await loadAppConfig(dir);
  assert.deepEqual(config.command, ["node", "dist/main"]);
  assert.equal(config.commandSource, "scripts.start:prod: node dist/main");
});

test("a start script that needs a shell is refused even when main is there", async (t) => {
  const dir = await appWith({ "package.json": JSON.stringify({ name: "x", main: "dist/index.js", scripts: { start: "tsc && node dist/index.js" } }) });
  t.after(() => rm(dir, { recursive: true }));
  await assert.rejects(loadAppConfig(dir), (error: Error & { hint?: string }) => /scripts\.start as it runs more than one command/.test(error.message) && /command: \[node, dist\/index\.js\]/.test(error.hint ?? ""));
});

test("the runtime comes from engines.node, then .nvmrc, then .node-version, after ingot.yaml", async (t) => {
  const dir = await appWith({ "package.json": JSON.stringify({ name: "x", main: "a.js" }), ".node-version": "20.11.1\n" });
  t.after(() => rm(dir, { recursive: true }));
  const runtimeOf = async (): Promise<[string | undefined, string]> => {
    const config = await loadAppConfig(dir);
    return [config.runtime.kind === "node" ? config.runtime.version : "elf", config.runtimeSource];
  };
  assert.deepEqual(await runtimeOf(), ["20.11.1", ".node-version"]);
  await writeFile(join(dir, ".nvmrc"), "# team's version\nv22\n");
  assert.deepEqual(await runtimeOf(), ["22", ".nvmrc"]);
  await writeFile(join(dir, ".nvmrc"), "node\n");
  assert.deepEqual(await runtimeOf(), ["*", ".nvmrc"], "nvm's alias for the newest release");
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "x", main: "a.js", engines: { node: ">=20 <23" } }));
  assert.deepEqual(await runtimeOf(), [">=20 <23", "package.json engines.node"]);
  await writeFile(join(dir, "ingot.yaml"), "runtime: node@24\n");
  assert.deepEqual(await runtimeOf(), ["24", "ingot.yaml runtime"]);
  await rm(join(dir, "ingot.yaml"));
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "x", main: "a.js" }));
  await writeFile(join(dir, ".nvmrc"), "lts/iron\n");
  await assert.rejects(loadAppConfig(dir), (error: Error & { hint?: string }) => /\.nvmrc names as ingot reads only versions and ranges: "lts\/iron"/.test(error.message) && /e\.g\. 22/.test(error.hint ?? ""));
});

test("a package.json that is not valid JSON is refused with the position of the error", async (t) => {
  const dir = await appWith({ "package.json": '{\n  "name": "x",\n  "main": "a.js",\n}\n' });
  t.after(() => rm(dir, { recursive: true }));
  await assert.rejects(loadAppConfig(dir), (error: Error & { code?: string }) => error.code === "package-json-invalid" && /line 4, column 1/.test(error.message));
});

test("command arguments may be empty strings; the program may not", async (t) => {
  const dir = await appWith({ "ingot.yaml": 'name: redis\nruntime: elf\ncommand: [redis-server, --save, ""]\n' });
  t.after(() => rm(dir, { recursive: true }));
  assert.deepEqual((await loadAppConfig(dir)).command, ["redis-server", "--save", ""]);
  const empty = await problemsOf({ "ingot.yaml": 'name: redis\nruntime: elf\ncommand: ["", --save, 7]\n' });
  assert.deepEqual(Object.keys(empty.problems).sort(), ["command[0]", "command[2]"]);
  assert.match(empty.problems["command[0]"]!, /must be a non-empty string/);
  assert.match(empty.problems["command[2]"]!, /must be a string, got 7/);
});

async function problemsOf(files: Record<string, string>): Promise<{ file: string; problems: Record<string, string> }> {
  const dir = await appWith(files);
  try {
    const error = await loadAppConfig(dir).then(() => undefined, (caught: unknown) => caught);
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return { file: error.file, problems: Object.fromEntries(error.problems.map((problem) => [problem.path, `${problem.message} (${problem.hint ?? ""})`])) };
  } finally {
    await rm(dir, { recursive: true });
  }
}

test("names and versions from ingot.yaml and package.json must follow the tag grammar, so no tag path leaves the vault", async () => {
  const pkg = JSON.stringify({ name: "shop", main: "index.js" });
  const yaml = await problemsOf({ "package.json": pkg, "ingot.yaml": `name: "x/../.."\nversion: ../../../tmp/x\n` });
  assert.match(yaml.problems.name!, /is not lowercase letters and digits/);
  assert.match(yaml.problems.version!, /does not start with a letter, digit or '_'.*\(Use for example "1\.0\.0"/);
  const longName = await problemsOf({ "package.json": pkg, "ingot.yaml": `name: ${"a".repeat(300)}\n` });
  assert.match(longName.problems.name!, /is longer than 128 characters, got "a{59}…/);

  const version = await problemsOf({ "package.json": JSON.stringify({ name: "shop", version: "../../x", main: "index.js" }) });
  assert.match(version.file, /package\.json$/);
  assert.match(version.problems.version!, /"\.\.\/\.\.\/x" gives the image version .* which does not start with/);
  const name = await problemsOf({ "package.json": JSON.stringify({ name: "..", version: "1.0.0", main: "index.js" }) });
  assert.match(name.problems.name!, /"\.\." gives the image name "", which is not lowercase/);
});

test("a NUL byte in a baked variable, its name or a command argument is refused with its path", async () => {
  const { problems } = await problemsOf({
    "package.json": "{}",
    "ingot.yaml": 'name: x\ncommand: [node, "a\\0b"]\nenv:\n  GOOD: "a\\0LD_PRELOAD=/app/evil.so"\n  "BAD\\0KEY": x\nenvironments:\n  prod:\n    env:\n      X: "\\0"\nfiles: ["a\\0"]\n',
  });
  assert.deepEqual(Object.keys(problems).sort(), ["command[1]", "env.\"BAD\\u0000KEY\"", "env.GOOD", "environments.prod.env.X", "files[0]"]);
  assert.match(problems["env.GOOD"]!, /must not contain a NUL byte/);
});

test("resources, stopTimeout and baked variables are bounded, and INGOT_ names are ingot's", async () => {
  const { problems } = await problemsOf({
    "package.json": "{}",
    "ingot.yaml": `name: x\nresources:\n  cpus: 65\n  memory: 100G\nstopTimeout: 1h\nenv:\n  INGOT_ENV: prod\n  BIG: "${"x".repeat(33 * 1024)}"\nenvironments:\n  prod:\n    env:\n${Array.from({ length: 3 }, (_, i) => `      V${i}: "${"y".repeat(30 * 1024)}"\n`).join("")}`,
  });
  assert.match(problems["resources.cpus"]!, /from 1 to 64, got 65/);
  assert.match(problems["resources.memory"]!, /from 64M to 64G/);
  assert.match(problems.stopTimeout!, /at most|from 0 to 10m/);
  assert.match(problems["env.INGOT_ENV"]!, /is reserved/);
  assert.match(problems["env.BIG"]!, /33792 bytes long, more than the 32768/);
  assert.match(problems["environments.prod.env"]!, /more than the 65536 allowed/);
  assert.match((await problemsOf({ "package.json": "{}", "ingot.yaml": "name: x\nresources:\n  memory: 32M\n" })).problems["resources.memory"]!, /from 64M/);
});

test("baked variables reach the app as written in ingot.yaml: 0x1F is not 31, 1.50 is not 1.5", async (t) => {
  const dir = await appWith({ "package.json": JSON.stringify({ main: "index.js" }), "ingot.yaml": "name: x\nenv:\n  HEX: 0x1F\n  PRICE: 1.50\n  ON: True\n  ALIAS: &zero 007\nenvironments:\n  prod:\n    env:\n      SAME: *zero\n" });
  t.after(() => rm(dir, { recursive: true }));
  const config = await loadAppConfig(dir);
  assert.deepEqual(config.env, { HEX: "0x1F", PRICE: "1.50", ON: "True", ALIAS: "007" });
  assert.deepEqual(config.environments.prod!.env, { SAME: "007" });
});

test("a YAML alias bomb is a ConfigError, not a crash", async () => {
  const levels = ["a: &a [x, x, x, x, x, x, x, x, x]"];
  for (const name of "bcdefgh") levels.push(`${name}: &${name} [${Array(9).fill(`*${levels.length === 1 ? "a" : "bcdefgh"[levels.length - 2]}`).join(", ")}]`);
  const { problems } = await problemsOf({ "package.json": "{}", "ingot.yaml": `${levels.join("\n")}\n` });
  assert.match(problems["(top level)"]!, /aliases .* expand too far/);
});

test("a package.json that is null or has keys of the wrong type is a ConfigError naming the keys", async () => {
  assert.match((await problemsOf({ "package.json": "null" })).problems["(top level)"]!, /must be an object, got null/);
  const { file, problems } = await problemsOf({ "package.json": JSON.stringify({ name: 5, engines: "node", scripts: { start: 1 }, main: ["x"] }) });
  assert.match(file, /package\.json$/);
  assert.deepEqual(Object.keys(problems).sort(), ["engines", "main", "name", "scripts.start"]);
});

test("outbound is none or internet, top-level and per environment, and absent unless set so that older images keep their digest", async (t) => {
  const dir = await appWith({ "package.json": JSON.stringify({ name: "shop", version: "1.0.0", main: "index.js" }), "ingot.yaml": "outbound: internet\nenvironments:\n  test:\n    outbound: none\n  prod:\n    env:\n      A: b\n" });
  t.after(() => rm(dir, { recursive: true }));
  const config = await loadAppConfig(dir);
  assert.equal(config.outbound, "internet");
  assert.deepEqual(config.environments, { test: { env: {}, outbound: "none" }, prod: { env: { A: "b" } } });
  const plain = await loadAppConfig("examples/hello");
  assert.ok(!("outbound" in plain) && !("outbound" in plain.environments.prod!), "no outbound key, so no change to the manifest");
  await writeFile(join(dir, "ingot.yaml"), "outbound: all\nenvironments:\n  prod:\n    outbound: true\n");
  await assert.rejects(loadAppConfig(dir), (error: unknown) => error instanceof ConfigError
    && /outbound: must be none or internet, got "all"/.test(error.message) && /environments\.prod\.outbound: must be none or internet, got true/.test(error.message));
});

test("logs.forward takes syslog and OTLP URLs, top-level and per environment, absent unless set; each bad URL is a problem with its path", async (t) => {
  const yaml = "logs:\n  forward: [syslog+tcp://logs.internal:514, otlp+https://collector.example.com/v1/logs]\nenvironments:\n  test:\n    logs:\n      forward: []\n  prod:\n    logs:\n      forward: [\"syslog+tls://logs.internal:6514?ca=/etc/ingot/ca.pem\"]\n";
  const dir = await appWith({ "package.json": JSON.stringify({ name: "shop", version: "1.0.0", main: "index.js" }), "ingot.yaml": yaml });
  t.after(() => rm(dir, { recursive: true }));
  const config = await loadAppConfig(dir);
  assert.deepEqual(config.logs, { forward: ["syslog+tcp://logs.internal:514", "otlp+https://collector.example.com/v1/logs"] });
  assert.deepEqual(config.environments.test, { env: {}, logs: { forward: [] } });
  assert.deepEqual(config.environments.prod!.logs, { forward: ["syslog+tls://logs.internal:6514?ca=/etc/ingot/ca.pem"] });
  const plain = await loadAppConfig("examples/hello");
  assert.ok(!("logs" in plain) && !("logs" in plain.environments.prod!), "no logs key, so no change to the manifest");

  const { problems } = await problemsOf({
    "package.json": "{}",
    "ingot.yaml": "name: x\nlogs:\n  forward: [http://logs:80, syslog+tcp://logs, 5, \"syslog+tcp://logs:514?ca=/ca.pem\", \"syslog+tls://logs:6514?ca=ca.pem\", syslog+tcp://logs:514/x]\n  forwrd: []\nenvironments:\n  prod:\n    logs:\n      forward: syslog+tcp://logs:514\n",
  });
  assert.match(problems["logs.forward[0]"]!, /must be a URL starting with syslog\+tcp:\/\/, syslog\+tls:\/\/, otlp\+http:\/\/, otlp\+https:\/\/, got "http:\/\/logs:80"/);
  assert.match(problems["logs.forward[1]"]!, /must name a port, as in syslog\+tcp:\/\/logs:PORT/);
  assert.match(problems["logs.forward[2]"]!, /must be a URL string, got 5/);
  assert.match(problems["logs.forward[3]"]!, /sets \?ca= but syslog\+tcp does not use TLS; use syslog\+tls/);
  assert.match(problems["logs.forward[4]"]!, /absolute path/);
  assert.match(problems["logs.forward[5]"]!, /must not have a path/);
  assert.match(problems["logs.forwrd"]!, /not a known key/);
  assert.match(problems["environments.prod.logs.forward"]!, /must be a list of URLs, got "syslog\+tcp:\/\/logs:514"/);
});

test("per-environment capacity, resources, entry port and timeouts are checked with their paths, and only what is set is kept", async (t) => {
  const { problems } = await problemsOf({
    "package.json": "{}",
    "ingot.yaml": "name: x\nenvironments:\n  prod:\n    instances: two\n    port: 70000\n    drainTimeout: 1h\n    crashLoop:\n      failures: 0\n      window: 1500m\n  test:\n    instances: 0\n    memory: 10M\n    instans: 2\n",
  });
  assert.match(problems["environments.prod.crashLoop.failures"]!, /from 1 to 100, got 0/);
  assert.match(problems["environments.prod.crashLoop.window"]!, /from 0 to 1440m/);
  assert.match(problems["environments.prod.instances"]!, /integer from 1 to 32, got "two"/);
  assert.match(problems["environments.test.instances"]!, /from 1 to 32, got 0/);
  assert.match(problems["environments.prod.port"]!, /from 1 to 65535/);
  assert.match(problems["environments.prod.drainTimeout"]!, /from 0 to 10m/);
  assert.match(problems["environments.test.memory"]!, /from 64M/);
  assert.match(problems["environments.test.instans"]!, /not a known key/);

  const dir = await appWith({ "package.json": "{}", "ingot.yaml": "name: x\ncommand: [node, a.js]\nenvironments:\n  prod:\n    instances: 3\n    memory: 1G\n    port: 8080\n    startTimeout: 90s\n    crashLoop:\n      window: 10m\n  dev: {}\n" });
  t.after(() => rm(dir, { recursive: true }));
  const config = await loadAppConfig(dir);
  assert.deepEqual(config.environments, { prod: { env: {}, instances: 3, memoryMiB: 1024, port: 8080, startTimeoutMs: 90_000, crashLoop: { windowMs: 600_000 } }, dev: { env: {} } });
});

test("an environment's accessories are name: kind, both checked with their paths, and kept in its settings", async (t) => {
  const { problems } = await problemsOf({
    "package.json": "{}",
    "ingot.yaml": "name: x\nenvironments:\n  dev:\n    accessories:\n      db: mysql\n      Bad_Name: postgres\n  test:\n    accessories: postgres\n",
  });
  assert.match(problems["environments.dev.accessories.db"]!, /must be a known accessory kind \(postgres\), got "mysql"/);
  assert.match(problems["environments.dev.accessories.Bad_Name"]!, /lowercase letter followed by/);
  assert.match(problems["environments.test.accessories"]!, /mapping of name: kind/);

  const dir = await appWith({ "package.json": "{}", "ingot.yaml": "name: x\ncommand: [node, a.js]\nenvironments:\n  dev:\n    accessories:\n      db: postgres\n  prod: {}\n" });
  t.after(() => rm(dir, { recursive: true }));
  const config = await loadAppConfig(dir);
  assert.deepEqual(config.environments, { dev: { env: {}, accessories: { db: "postgres" } }, prod: { env: {} } }, "an environment without accessories has no key: its image keeps its digest");
});

test("a key named like an Object.prototype member (valueOf, constructor) is an unknown key, not a crash", async () => {
  const { problems } = await problemsOf({ "package.json": "{}", "ingot.yaml": "valueOf: {}\nconstructor: 1\nresources:\n  toString: 2\n" });
  assert.deepEqual(Object.keys(problems).sort(), ["constructor", "resources.toString", "valueOf"]);
  // Read through Object.entries: `problems.valueOf` would type as Object.prototype's method.
  assert.match(new Map(Object.entries(problems)).get("valueOf") ?? "", /is not a known key/);
});
