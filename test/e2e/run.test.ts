// End to end through the CLI: `ingot run` boots in the foreground, reports healthy with a breakdown,
// and Ctrl-C stops the guest gracefully, leaving no QEMU behind.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { copyFile, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ImageManifest } from "../../src/image/manifest.ts";
import { Vault } from "../../src/vault/vault.ts";
import { freePort } from "../../src/vm/free-port.ts";
import { elfServerApp, sharedTestVault, tempDir, waitForHttp } from "../helpers.ts";

test("ingot run serves, prints the URL and the boot breakdown, and Ctrl-C stops it gracefully", async (t) => {
  const app = await elfServerApp("ingot-run-", "name: run-test\nversion: 1.0.0\nruntime: elf\ncommand: [./server]\nports:\n  http: 8080\nresources:\n  memory: 128M\nstopTimeout: 2s\n");
  t.after(app.remove);
  const vault = await sharedTestVault();
  const hostPort = await freePort();
  const child = spawn("bin/ingot", ["run", app.path, "-p", `${hostPort}:8080`], { env: { ...process.env, INGOT_HOME: vault.root }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  t.after(() => { if (child.exitCode === null) child.kill("SIGKILL"); });

  assert.equal(await waitForHttp(`http://127.0.0.1:${hostPort}/`, 120_000), "elf ok uid=1000\n");
  const deadline = Date.now() + 10_000;
  while (!/boot: QEMU start [\d.]+ s → kernel [\d.]+ s → init [\d.]+ s → app [\d.]+ s = [\d.]+ s to healthy/.test(output) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.match(output, new RegExp(`healthy: http://127\\.0\\.0\\.1:${hostPort}`));
  assert.match(output, /boot: QEMU start/);
  const qemuPid = Number(execFileSync("pgrep", ["-P", String(child.pid), "qemu-system"]).toString().trim());
  assert.ok(qemuPid > 0);

  child.kill("SIGINT");
  // The test server has no SIGTERM handler, so it dies of the signal and init reports it.
  assert.equal(await exited, 143, output);
  assert.match(output, /ingot-init: stopping app \(SIGTERM, timeout 2s\)/);
  assert.match(output, /ingot-init: app killed by signal 15/);
  assert.throws(() => process.kill(qemuPid, 0), "QEMU is gone");
});

test("ingot run refuses a busy host port before booting", async (t) => {
  const vault = await sharedTestVault();
  const { createServer } = await import("node:net");
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const busy = (server.address() as { port: number }).port;
  const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn("bin/ingot", ["run", "run-test", "-p", `${busy}:8080`], { env: { ...process.env, INGOT_HOME: vault.root } });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("exit", (code) => resolve({ code, stderr }));
  });
  assert.equal(result.code, 1);
  assert.match(result.stderr, new RegExp(`error: Cannot forward host port ${busy} as it is already in use`));
});

/** Starts `ingot run run-test` and resolves once QEMU is up (its firmware printed), with QEMU's pid. */
async function runUntilFirmware(t: { after: (fn: () => void) => void }): Promise<{ child: ReturnType<typeof spawn>; qemuPid: number; exited: Promise<number | null>; instance: string }> {
  const vault = await sharedTestVault();
  const child = spawn("bin/ingot", ["run", "run-test"], { env: { ...process.env, INGOT_HOME: vault.root }, stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => { if (child.exitCode === null) child.kill("SIGKILL"); });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 60_000;
  while (!output.includes("SeaBIOS") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  const qemuPid = Number(execFileSync("pgrep", ["-P", String(child.pid), "qemu-system"]).toString().trim());
  return { child, qemuPid, exited, instance: /instance (i-[0-9a-f]{8}) of/.exec(output)?.[1] ?? "none" };
}

/** An instance's run folders (src/vm/run-folder.ts) that still exist, under either base. */
async function runFolders(instance: string): Promise<string[]> {
  const bases = ["/tmp", process.env.XDG_RUNTIME_DIR].filter((base): base is string => Boolean(base));
  const found = await Promise.all(bases.map(async (base) => (await readdir(base).catch(() => [])).filter((name) => name.startsWith(`ingot-${instance}-`)).map((name) => join(base, name))));
  return found.flat();
}

/** Alive and not a zombie waiting to be reaped. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^Z/.test(execFileSync("ps", ["-o", "stat=", "-p", String(pid)]).toString().trim());
  } catch {
    return false;
  }
}

test("a killed ingot run leaves no QEMU behind", async (t) => {
  const { child, qemuPid, instance } = await runUntilFirmware(t);
  // A killed ingot cleans nothing up: its run folder is the test's to remove.
  t.after(async () => { for (const folder of await runFolders(instance)) await rm(folder, { recursive: true, force: true }); });
  child.kill("SIGKILL");
  const gone = Date.now() + 10_000;
  while (isRunning(qemuPid) && Date.now() < gone) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(isRunning(qemuPid), false, `QEMU ${qemuPid} outlived the killed ingot`);
});

test("the example Node app prints its SIGTERM line before power-off and ingot run exits 0", async (t) => {
  const vault = await sharedTestVault();
  const hostPort = await freePort();
  const child = spawn("bin/ingot", ["run", "examples/hello", "-p", `${hostPort}:8080`], { env: { ...process.env, INGOT_HOME: vault.root }, stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => { if (child.exitCode === null) child.kill("SIGKILL"); });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  assert.equal(await waitForHttp(`http://127.0.0.1:${hostPort}/`, 180_000), "Hello from hello (dev)\n");
  child.kill("SIGTERM");
  assert.equal(await exited, 0, output);
  const order = ["stopping app (SIGTERM", "hello: SIGTERM received, closing", "app exited with status 0", "power off"].map((text) => output.indexOf(text));
  assert.ok(order.every((at, index) => at >= 0 && (index === 0 || at > order[index - 1]!)), `stop sequence out of order:\n${output}`);
});

test("two instances run side by side on different host ports", async (t) => {
  const vault = await sharedTestVault();
  const env = { ...process.env, INGOT_HOME: vault.root };
  const ports = [await freePort(), await freePort()];
  const children = ports.map((port) => spawn("bin/ingot", ["run", "run-test", "-p", `${port}:8080`], { env, stdio: "ignore" }));
  // Stopped as Ctrl-C would, so that each removes its run folder; killed if that takes too long.
  t.after(() => Promise.all(children.map((child) => new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.once("exit", () => { clearTimeout(timer); resolve(); });
    child.kill("SIGINT");
  }))));
  const answers = await Promise.all(ports.map((port) => waitForHttp(`http://127.0.0.1:${port}/`, 180_000)));
  assert.deepEqual(answers, ["elf ok uid=1000\n", "elf ok uid=1000\n"]);
});

test("Ctrl-C during boot stops the instance and leaves no QEMU behind", async (t) => {
  const { child, qemuPid, exited } = await runUntilFirmware(t);
  child.kill("SIGINT");
  assert.notEqual(await exited, 0, "an instance stopped before its app ran has no success status");
  assert.equal(isRunning(qemuPid), false, "QEMU is gone");
});

test("ingot run refuses a corrupt image blob, naming it, and suggests close tags for an unknown image", async (t) => {
  const shared = await sharedTestVault();
  const home = await tempDir("ingot-corrupt-");
  t.after(home.remove);
  const vault = await Vault.open(home.path);
  const digest = (await shared.tags()).find((tag) => tag.name === "run-test")!.digest;
  const manifest = await shared.readJson<ImageManifest>(digest);
  for (const blob of [digest, manifest.kernel.digest, manifest.sbom, ...manifest.layers.flatMap((layer) => [layer.digest, layer.files])]) {
    await copyFile(shared.blobPath(blob), vault.blobPath(blob));
  }
  await vault.setTag("run-test", "1.0.0", digest);
  const damaged = manifest.layers.at(-1)!.digest;
  const bytes = await readFile(vault.blobPath(damaged));
  bytes[0] = bytes[0]! ^ 0xff;
  await writeFile(vault.blobPath(damaged), bytes);

  const env = { ...process.env, INGOT_HOME: home.path };
  const corrupt = spawnSync("bin/ingot", ["run", "run-test"], { env, encoding: "utf8" });
  assert.equal(corrupt.status, 1);
  assert.match(corrupt.stderr, new RegExp(`error: Cannot use blob ${damaged} as its content no longer matches its digest`));
  const unknown = spawnSync("bin/ingot", ["run", "run-tset"], { env, encoding: "utf8" });
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /hint: Did you mean run-test\?/);
});

test("ingot run | head -1: a closed stdout stops the instance gracefully and removes its run folder", async (t) => {
  const vault = await sharedTestVault();
  const child = spawn("bin/ingot", ["run", "run-test"], { env: { ...process.env, INGOT_HOME: vault.root }, stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => { if (child.exitCode === null) child.kill("SIGKILL"); });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  // Read one chunk of the console, then go away like head -1 does.
  await new Promise((resolve) => child.stdout.once("data", resolve));
  child.stdout.destroy();
  const code = await exited;
  assert.notEqual(code, null, "ingot exited on its own");
  assert.doesNotMatch(stderr, /EPIPE|bug in ingot/, stderr);
  assert.match(stderr, /stopping \(graceful/);
  const instance = /instance (i-[0-9a-f]{8}) of run-test/.exec(stderr)?.[1];
  assert.ok(instance, stderr);
  assert.deepEqual(await runFolders(instance), [], "no run folder is left behind");
});

test("an instance that never passes its health check is stopped after healthcheck.startTimeout, and ingot run says why", async (t) => {
  // The fixture answers /env/NAME with 404 while NAME is unset: a health path that never passes.
  const app = await elfServerApp("ingot-run-unhealthy-", "name: unhealthy\nversion: 1.0.0\nruntime: elf\ncommand: [./server]\nports:\n  http: 8080\nhealthcheck:\n  path: /env/NEVER_SET\n  startTimeout: 3s\nresources:\n  memory: 128M\nstopTimeout: 2s\n");
  t.after(app.remove);
  const vault = await sharedTestVault();
  const result = spawnSync("bin/ingot", ["run", app.path], { env: { ...process.env, INGOT_HOME: vault.root }, encoding: "utf8", timeout: 180_000 });
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stderr, /^error: Cannot call the instance healthy as GET \/env\/NEVER_SET did not pass within 3 s: last answer HTTP 404$/m);
  assert.match(result.stderr, /^hint: .*healthcheck\.startTimeout/m);
  assert.match(result.stdout + result.stderr, /ingot-init: app killed by signal 15|power off/, "stopped gracefully");
});
