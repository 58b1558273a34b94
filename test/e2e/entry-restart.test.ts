// End to end, through bin/ingot with a real control plane, a real QEMU instance and a real HAProxy:
// the entry point's HAProxy killed outright is started again by the server within about two
// seconds, on the same port with the same instance in it, and the restart is recorded.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { buildImage } from "../../src/image/build.ts";
import { readEntryRecord } from "../../src/entry/entry-launch.ts";
import { isHaproxyOf } from "../../src/entry/haproxy-process.ts";
import { serverPaths } from "../../src/server/server-paths.ts";
import { elfServerApp, sharedTestVault } from "../helpers.ts";
import { eventsOf, msUntilServing, testHome } from "../control-plane.ts";

const appYaml = `name: entry-restart-test
version: 1.0.0
runtime: elf
command: [./server]
ports:
  http: 8080
healthcheck:
  path: /
  interval: 500ms
  startTimeout: 10s
resources:
  memory: 128M
stopTimeout: 2s
environments:
  dev:
    instances: 1
`;

test("a killed entry point's HAProxy is started again within about 2 s on the same port with its instance, and recorded", async (t) => {
  const vault = await sharedTestVault();
  const app = await elfServerApp("ingot-entry-restart-app-", appYaml);
  await buildImage(app.path, { vault });
  await app.remove();
  const home = await testHome(t, vault, "ingot-entry-restart-");
  const { ingot } = home;

  const deployed = await ingot("deploy", "entry-restart-test:1.0.0", "--env", "dev");
  assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
  const status = JSON.parse((await ingot("status", "--env", "dev", "--json")).stdout) as { entryUrl: string; instances: { id: string }[] }[];
  const url = status[0]!.entryUrl;
  assert.equal((await fetch(url)).status, 200);

  // The entry point's record names its HAProxy: the pid to kill, and whether a pid is still it.
  const runDir = join(serverPaths(home.path).dir, "entry", "dev");
  const killed = await readEntryRecord(runDir);
  process.kill(killed.pid, "SIGKILL");
  const servingAfterMs = await msUntilServing(url, performance.now());
  assert.ok(servingAfterMs !== undefined, "the entry point answers 200 again within 10 s");
  assert.ok(servingAfterMs < 2_500, `served again ${Math.round(servingAfterMs)} ms after the kill`);

  const started = await readEntryRecord(runDir);
  assert.notEqual(started.pid, killed.pid);
  assert.ok(await isHaproxyOf(started.pid, join(runDir, "haproxy.cfg"), started.startTime), "the record names the new HAProxy");
  const after = JSON.parse((await ingot("status", "--env", "dev", "--json")).stdout) as { instances: { id: string; entry?: { state: string } }[] }[];
  assert.deepEqual(after[0]!.instances.map((instance) => [instance.id, instance.entry?.state]), [[status[0]!.instances[0]!.id, "UP"]]);

  const restarts = eventsOf(home.path, "dev", "entry-");
  assert.deepEqual(restarts.map((event) => [event.kind, event.data.previousPid, event.data.pid]), [["entry-restarted", killed.pid, started.pid]]);
  assert.deepEqual((restarts[0]!.data.restoredSlots as { instance: string }[]).map((slot) => slot.instance), [status[0]!.instances[0]!.id]);
  const serverLog = await readFile(serverPaths(home.path).log, "utf8");
  assert.match(serverLog, new RegExp(`the entry point of dev was gone \\(HAProxy pid ${killed.pid}\\); started again as pid ${started.pid} after \\d+ ms, 1 instance\\(s\\) put back`));
  console.log(`entry point serving again ${Math.round(servingAfterMs)} ms after its HAProxy was killed`);
});
