// End to end: examples/notes, a TypeScript Fastify service with a build step, becomes an image with
// `ingot build` and nothing but a health check path in ingot.yaml (the command, runtime, build and
// dependencies derived from package.json), rebuilds only its app layer when its code changes, and
// boots with `ingot run`. No database is reachable from the guest here (that is the PostgreSQL
// accessory's work), so the instance answers /health with 503 and its page says why.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { freePort } from "../../src/vm/free-port.ts";
import { runIngot } from "../control-plane.ts";
import { hasCommand, sharedTestVault } from "../helpers.ts";
import { copyOfNotes } from "../notes-app.ts";

const missing = ["qemu-system-x86_64", "npm"].find((command) => !hasCommand(command));
// CI has both: there a missing one fails the test instead of skipping it.
const skip = missing !== undefined && process.env.CI !== "true" && `missing: ${missing}`;

interface BuildJson {
  image: string;
  digest: string;
  layers: { name: string; size: number; uncompressedSize: number; cached: boolean }[];
  totalBytes: number;
  durationMs: number;
}
interface InspectJson {
  manifest: { command: string[]; commandSource: string; healthcheck: { type: string; path?: string } };
  sbom: { components: { name: string; type: string }[] };
}

/** Host loopback seen from the guest (QEMU's user network) at a port nothing listens on. */
const UNREACHABLE_DATABASE = "postgres://notes@10.0.2.2:1/notes";

test("examples/notes builds with ingot build (its tsc build run, production dependencies only), rebuilds only the app layer, and boots", { skip }, async (t) => {
  const vault = await sharedTestVault();
  const app = await copyOfNotes();
  t.after(app.remove);

  const built = await runIngot(vault.root, ["build", app.path, "--json"]);
  assert.equal(built.code, 0, built.stderr);
  const image = JSON.parse(built.stdout) as BuildJson;
  assert.equal(image.image, "notes:1.0.0");
  assert.deepEqual(image.layers.map((layer) => layer.name), ["base", "runtime", "deps", "app"]);
  t.diagnostic(`build ${(image.durationMs / 1000).toFixed(1)} s, ${layerSizes(image)}`);

  const inspected = await runIngot(vault.root, ["inspect", image.digest, "--json"]);
  assert.equal(inspected.code, 0, inspected.stderr);
  const { manifest, sbom } = JSON.parse(inspected.stdout) as InspectJson;
  // The build checks the file the command runs is in the image: tsc's output, made at build time.
  assert.deepEqual(manifest.command, ["node", "dist/server.js"]);
  assert.equal(manifest.commandSource, "scripts.start: node dist/server.js");
  assert.equal(manifest.healthcheck.path, "/health");
  const packages = new Set(sbom.components.filter((component) => component.type === "library").map((component) => component.name));
  for (const name of ["fastify", "kysely", "pg", "iron-session", "pino", "@fastify/formbody"]) assert.ok(packages.has(name), `${name} is in the image`);
  for (const name of ["typescript", "@types/node", "@types/pg"]) assert.ok(!packages.has(name), `the devDependency ${name} is not`);

  await appendFile(join(app.path, "src", "html.ts"), `// changed at ${Date.now()}\n`);
  const rebuilt = await runIngot(vault.root, ["build", app.path, "--json"]);
  assert.equal(rebuilt.code, 0, rebuilt.stderr);
  const second = JSON.parse(rebuilt.stdout) as BuildJson;
  assert.deepEqual(second.layers.map((layer) => [layer.name, layer.cached]), [["base", true], ["runtime", true], ["deps", true], ["app", false]]);
  assert.notEqual(second.digest, image.digest);
  t.diagnostic(`app-only rebuild ${(second.durationMs / 1000).toFixed(1)} s`);

  // Booted with a database URL the guest cannot reach: the app listens, waits for the database and says so.
  const hostPort = await freePort();
  const sessionKey = randomBytes(32).toString("hex");
  const args = ["run", second.digest, "-p", `${hostPort}:8080`, "-e", `DATABASE_URL=${UNREACHABLE_DATABASE}`, "--secret", "SESSION_KEY"];
  const child = spawn("bin/ingot", args, { env: { ...process.env, INGOT_HOME: vault.root, SESSION_KEY: sessionKey }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  t.after(() => { if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, "SIGKILL"); });

  const bootStarted = Date.now();
  const health = await firstAnswer(`http://127.0.0.1:${hostPort}/health`, 110_000, () => output);
  t.diagnostic(`first /health answer ${((Date.now() - bootStarted) / 1000).toFixed(1)} s after ingot run started`);
  assert.equal(health.status, 503, output);
  assert.match(health.body, /"reason":"database unreachable: /);
  const page = await fetch(`http://127.0.0.1:${hostPort}/`, { signal: AbortSignal.timeout(5000) });
  assert.equal(page.status, 503);
  const html = await page.text();
  assert.match(html, /The notes cannot be shown: database unreachable/);
  assert.match(html, /environment <strong id="environment">dev<\/strong>/);
  assert.match(html, /instance <code id="instance">i-[0-9a-f]+<\/code>/);

  process.kill(child.pid!, "SIGINT");
  assert.equal(await exited, 0, output);
  assert.match(output, /SIGTERM received, stopping/, "init forwarded the stop and the app shut down gracefully");
  assert.ok(!output.includes(sessionKey), "the session key never reaches the console");
});

function layerSizes(image: BuildJson): string {
  const mib = (bytes: number): string => (bytes < 1048576 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1048576).toFixed(1)} MiB`);
  return `${image.layers.map((layer) => `${layer.name} ${mib(layer.size)} (${mib(layer.uncompressedSize)} unpacked)`).join(", ")}, total ${mib(image.totalBytes)} with the kernel`;
}

/** The first HTTP answer of any status from `url`, polled while the VM boots. */
async function firstAnswer(url: string, timeoutMs: number, output: () => string): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
      return { status: response.status, body: await response.text() };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${output()}`);
}
