// End to end: ports without configuration. A Node app with no ingot.yaml that hard-codes port 3000
// gets PORT=8080 like any other; init reports where it listens, `ingot run` says so, and the health
// check follows it to 3000, so the instance becomes healthy and its URL answers, and a deploy serves
// through its entry point, also after a restarted server adopts it. An app that never listens fails its health check with init's word for it.
import { type TestContext, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildImage, type BuildResult } from "../../src/image/build.ts";
import type { Vault } from "../../src/vault/vault.ts";
import { freePort } from "../../src/vm/free-port.ts";
import { runIngot, startIngot, statusOf, testHome } from "../control-plane.ts";
import { hasCommand, sharedTestVault, tempDir } from "../helpers.ts";
import { startLoad } from "../../src/load/live-load.ts";

const missing = ["qemu-system-x86_64", "gcc"].find((command) => !hasCommand(command));
// CI has both: there a missing one fails the test instead of skipping it.
const skip = missing && process.env.CI !== "true" ? `missing: ${missing}` : false;
const skipDeploy = skip || (!hasCommand("haproxy") && process.env.CI !== "true" ? "missing: haproxy" : false);

// Many tutorials' server: the port written into the code, PORT ignored.
const SERVER = `require('node:http').createServer((request, response) => response.end('on 3000, PORT=' + process.env.PORT)).listen(3000)\n`;

/** The app above, built into the shared test vault (the same image for every test here). */
async function buildPort3000(t: TestContext, vault: Vault): Promise<BuildResult> {
  const app = await tempDir("ingot-port-3000-");
  t.after(app.remove);
  await writeFile(join(app.path, "package.json"), JSON.stringify({ name: "port-3000", version: "1.0.0", private: true, scripts: { start: "node server.js" } }));
  await writeFile(join(app.path, "server.js"), SERVER);
  return buildImage(app.path, { vault, log: () => {} });
}

test("a Node app that listens on 3000 with no ingot.yaml: ingot run says so, and the health check follows it to healthy", { skip }, async (t) => {
  const vault = await sharedTestVault();
  const built = await buildPort3000(t, vault);
  assert.deepEqual([built.manifest.ports, built.manifest.portSource], [{ http: 8080 }, "ingot's default, PORT=8080"]);
  const inspected = await runIngot(vault.root, ["inspect", built.image]);
  assert.match(inspected.stdout, /^ports +http 8080 \(ingot's default, PORT=8080; instances follow the port the app listens on\)$/m, inspected.stdout + inspected.stderr);

  const run = startIngot(vault.root, ["run", built.image]);
  t.after(run.kill);
  // A Node guest answers in ~7 s without KVM; a busy machine makes that several times longer.
  const healthy = await run.waitForLine(/ healthy: http:\/\/127\.0\.0\.1:\d+/, 300_000);
  const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(healthy)![1]!;
  const response = await fetch(`${url}/`, { signal: AbortSignal.timeout(30_000) });
  assert.equal(await response.text(), "on 3000, PORT=8080", "the URL of the default port leads to where the app listens");
  run.kill();
  const { code, stdout, stderr } = await run.done;
  assert.match(stdout, /\| ingot-init: \[[\d.]+\] app listens on tcp 3000$/m, stdout);
  assert.ok(stdout.includes(`the app listens on 3000, not on 8080: use -p HOST:3000, or ports: in ingot.yaml (meanwhile ${url} leads to 3000)`), stdout);
  assert.ok(stdout.indexOf("app listens on tcp 3000") < stdout.indexOf(" healthy: "), "healthy only once the check followed the app");
  // Node's http server has no SIGTERM handler: the app dies of the signal, as in run.test.ts.
  assert.equal(code, 143, `${stdout}\n${stderr}`);
});

test("ingot run -p HOST:3000 publishes a port the app listens on but ingot.yaml does not declare, and says nothing more", { skip }, async (t) => {
  const vault = await sharedTestVault();
  const built = await buildPort3000(t, vault);
  const hostPort = await freePort();
  const run = startIngot(vault.root, ["run", built.image, "-p", `${hostPort}:3000`]);
  t.after(run.kill);
  await run.waitForLine(/ healthy: /, 300_000);
  const response = await fetch(`http://127.0.0.1:${hostPort}/`, { signal: AbortSignal.timeout(30_000) });
  assert.equal(await response.text(), "on 3000, PORT=8080");
  run.kill();
  const { stdout } = await run.done;
  assert.doesNotMatch(stdout, /not on 8080/, "3000 is published: nothing to advise");
});

test("a deploy of that app serves through its entry point, whose server follows the app to 3000, also once a restarted server adopts it", { skip: skipDeploy }, async (t) => {
  const vault = await sharedTestVault();
  const built = await buildPort3000(t, vault);
  const { ingot } = await testHome(t, vault, "ingot-port-3000-deploy-");
  const deployed = await ingot("deploy", built.image, "--env", "dev");
  assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
  interface Status { entryUrl: string; instances: { id: string; pid: number; state: string }[] }
  const { entryUrl, instances } = await statusOf<Status>(ingot, "dev");
  const response = await fetch(entryUrl, { signal: AbortSignal.timeout(30_000) });
  assert.equal(await response.text(), "on 3000, PORT=8080");

  // The restarted server reads the instance's console again, init's port line included: the forward,
  // already led to 3000, is left alone, so no request fails meanwhile.
  const serverPid = Number(/pid (\d+)/.exec((await ingot("server", "status")).stdout)![1]);
  const load = startLoad(entryUrl, { clients: 2, keepAlive: false });
  const adopted = await (async () => {
    process.kill(serverPid, "SIGKILL");
    const status = await statusOf<Status>(ingot, "dev");
    await new Promise((resolve) => setTimeout(resolve, 3000));
    return status;
  })().finally(() => load.stop());
  const report = await load.stop();
  assert.deepEqual(report.failures, [], `no request fails while the server restarts and adopts (${report.requests} sent)`);
  assert.ok(report.answers.flat().every((answer) => answer === "on 3000, PORT=8080"), "every answer came from the app on 3000");
  assert.deepEqual(adopted.instances.map(({ id, pid, state }) => `${id} ${pid} ${state}`), instances.map(({ id, pid }) => `${id} ${pid} healthy`));
});

test("an app that never listens fails its health check, and the error says it listens on no TCP port", { skip }, async (t) => {
  const vault = await sharedTestVault();
  const app = await tempDir("ingot-never-listens-");
  t.after(app.remove);
  execFileSync("gcc", ["-O2", "-x", "c", "-o", join(app.path, "idle"), "-"], { input: "#include <unistd.h>\nint main(void) { for (;;) pause(); }\n" });
  // Init says "no tcp port" once the app ran 10 s without listening: the check gives up later.
  await writeFile(join(app.path, "ingot.yaml"), "name: never-listens\nversion: 1.0.0\nruntime: elf\ncommand: [./idle]\nports:\n  http: 8080\nhealthcheck:\n  tcp: http\n  startTimeout: 30s\nresources:\n  memory: 128M\nstopTimeout: 2s\n");
  const result = await runIngot(vault.root, ["run", app.path]);
  assert.equal(result.code, 1, result.stdout + result.stderr);
  assert.match(result.stdout, /ingot-init: \[[\d.]+\] app listens on no tcp port/);
  assert.match(result.stderr, /error: Cannot call the instance healthy as a TCP connection did not pass within 30 s: last answer .* \(the app listens on no TCP port\)/, result.stderr);
  assert.match(result.stderr, /Make the app listen on 8080 \(its PORT\) on every address/);
});
