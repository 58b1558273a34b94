// End to end: a Node app as people have it, with no ingot.yaml. A Fastify app started by fastify-cli
// from its start script, its dependencies resolved from the npm registry into a lock file here (not
// vendored), builds into an image whose command was derived from the script, and answers HTTP 200.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildImage } from "../../src/image/build.ts";
import { runIngot } from "../control-plane.ts";
import { bootImage, hasCommand, sharedTestVault, tempDir, waitForHttp } from "../helpers.ts";

const missing = ["qemu-system-x86_64", "npm"].find((command) => !hasCommand(command));
// CI has both: there a missing one fails the test instead of skipping it.
const skip = missing && process.env.CI !== "true" ? `missing: ${missing}` : false;

// fastify-cli listens on localhost unless told otherwise (or it detects Docker or Kubernetes, which a
// VM is not), so real deployments pass -a 0.0.0.0; the port comes from PORT, which ingot sets to 8080.
const START = "NODE_ENV=production fastify start -a 0.0.0.0 -l info app.js";
const APP = `'use strict'
// A fastify-cli app is a plugin (fastify-cli wants both arguments): it makes the server and listens.
module.exports = async function (fastify, opts) {
  fastify.get('/', async () => ({ hello: 'world', port: process.env.PORT, nodeEnv: process.env.NODE_ENV, node: process.version }))
}
`;

test("a Fastify app started by fastify-cli from its start script, with no ingot.yaml, boots and answers HTTP 200", { skip }, async (t) => {
  const vault = await sharedTestVault();
  const app = await tempDir("ingot-fastify-");
  t.after(app.remove);
  await writeFile(join(app.path, "package.json"), `${JSON.stringify({ name: "fastify-app", version: "1.0.0", private: true, scripts: { start: START } }, null, 2)}\n`);
  await writeFile(join(app.path, "app.js"), APP);
  // The runtime from .nvmrc, as many apps pin it; fastify-cli's dependencies want Node.js 22 or later.
  await writeFile(join(app.path, ".nvmrc"), "22\n");
  // What `npm install fastify fastify-cli` leaves in package.json and package-lock.json; ingot installs from the lock.
  execFileSync("npm", ["install", "--package-lock-only", "--no-audit", "--no-fund", "--loglevel=error", "fastify", "fastify-cli"], { cwd: app.path, stdio: "pipe" });

  const lines: string[] = [];
  const built = await buildImage(app.path, { vault, log: (line) => lines.push(line) });
  assert.deepEqual(built.manifest.command, ["node", "node_modules/fastify-cli/cli.js", "start", "-a", "0.0.0.0", "-l", "info", "app.js"]);
  assert.equal(built.manifest.commandSource, `scripts.start: ${START}`);
  assert.deepEqual(built.manifest.env, { NODE_ENV: "production" });
  assert.deepEqual(built.manifest.ports, { http: 8080 });
  assert.ok(built.manifest.runtime.kind === "node" && /^22\.\d+\.\d+$/.test(built.manifest.runtime.version), JSON.stringify(built.manifest.runtime));
  assert.ok(lines.some((line) => /^runtime: node 22\.\d+\.\d+ \(22 from \.nvmrc\)$/.test(line)), lines.join("\n"));
  const lock = JSON.parse(await readFile(join(app.path, "ingot.lock"), "utf8")) as { node: { version: string } };
  assert.equal(lock.node.version, built.manifest.runtime.version, "ingot.lock pins the release .nvmrc's range resolved to");

  const inspected = await runIngot(vault.root, ["inspect", built.image]);
  assert.equal(inspected.code, 0, inspected.stderr);
  const derivedLine = inspected.stdout.split("\n").find((line) => line.startsWith("derived from "));
  assert.equal(derivedLine?.replace(/^derived from +/, ""), `scripts.start: ${START} → node node_modules/fastify-cli/cli.js start -a 0.0.0.0 -l info app.js`, inspected.stdout);

  const booted = await bootImage(vault, built.digest);
  t.after(booted.close);
  const answer = JSON.parse(await waitForHttp(`${booted.url(8080)}/`, 180_000, booted.vm)) as Record<string, string>;
  assert.deepEqual(answer, { hello: "world", port: "8080", nodeEnv: "production", node: `v${built.manifest.runtime.version}` });
});
