// End to end, through bin/ingot with a real control plane, QEMU instances and HAProxy: an instance
// that stops answering its health check is failed, stopped and replaced; instances that crash are
// replaced until the image has failed three times within five minutes, then the environment is
// degraded (no more replacing, the instance that still runs serves on, also after a restart of the
// server), and `ingot status` and `ingot events` say so with the console lines; a new deploy clears
// it; `ingot events -f` follows.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildElfImages, elfDeployYaml, sharedTestVault } from "../helpers.ts";
import { startIngot, statusOf, testHome } from "../control-plane.ts";

const appYaml = (version: number): string => elfDeployYaml({ name: "self-heal-test", version, instances: 2, healthcheck: { timeout: "1s", startTimeout: "60s" } });

interface Status {
  entryUrl: string;
  degraded: { summary: string; failures: number; imageRef: string } | null;
  instances: { id: string; state: string; port: number }[];
}
interface Event { kind: string; instance: string | null; data: { state?: string; reason?: string; lastLines?: string[]; summary?: string } }

test("a hung instance and crashed ones are replaced until the image fails 3 times in 5 min: then the environment is degraded, says why, and a deploy clears it", async (t) => {
  const vault = await sharedTestVault();
  await buildElfImages(vault, "ingot-heal-app-", [appYaml(1), appYaml(2)]);
  const home = await testHome(t, vault, "ingot-heal-");
  const { ingot } = home;
  const status = (): Promise<Status> => statusOf<Status>(ingot, "dev");
  const until = async (what: string, done: (now: Status) => boolean): Promise<Status> => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const now = await status();
      if (done(now)) return now;
      assert.ok(Date.now() < deadline, `${what}: not within 120 s: ${JSON.stringify(now)}\n${(await ingot("events", "--env", "dev")).stdout}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  };
  const healthy = (now: Status, not: string): boolean => now.instances.length === 2 && now.instances.every((instance) => instance.state === "healthy" && instance.id !== not);

  const deployed = await ingot("deploy", "self-heal-test:1.0.0", "--env", "dev");
  assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
  const [survivor, first] = (await status()).instances;
  assert.ok(survivor && first);

  // 1. A hung app (one request that sleeps in its single thread) stays DOWN in HAProxy 3 checks in a row: failed, stopped, replaced.
  void fetch(`http://127.0.0.1:${first.port}/sleep/30000`).catch(() => {});
  let now = await until("the hung instance replaced", (candidate) => healthy(candidate, first.id));
  // 2, 3. Crashes (the app exits with status 1): the first is replaced, the second makes three failures of the image in 5 min.
  const crashed = now.instances.find((instance) => instance.id !== survivor.id)!;
  await fetch(`http://127.0.0.1:${crashed.port}/exit/1`).catch(() => {});
  now = await until("the crashed instance replaced", (candidate) => healthy(candidate, crashed.id));
  const victim = now.instances.find((instance) => instance.id !== survivor.id)!;
  await fetch(`http://127.0.0.1:${victim.port}/exit/1`).catch(() => {});
  now = await until("degraded", (candidate) => candidate.degraded !== null && candidate.instances.every((instance) => instance.id !== victim.id));
  assert.match(now.degraded!.summary, /^3 instances of self-heal-test:1\.0\.0 failed within 5 min; last: its app exited with status 1$/);
  // No replacement follows, and the instance that still runs serves on through the entry point.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  now = await status();
  assert.deepEqual(now.instances.map((instance) => `${instance.id} ${instance.state}`), [`${survivor.id} healthy`]);
  assert.equal(await (await fetch(`${now.entryUrl}env/VERSION`)).text(), "1\n");
  // Degraded is kept in the state: a restarted server adopts the survivor and still replaces nothing.
  assert.equal((await ingot("server", "stop")).code, 0);
  now = await status();
  assert.match(now.degraded?.summary ?? "", /^3 instances of self-heal-test:1\.0\.0 failed/);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  assert.deepEqual((await status()).instances.map((instance) => instance.id), [survivor.id]);
  const shown = await ingot("status", "--env", "dev");
  assert.match(shown.stdout, /degraded: 3 instances of self-heal-test:1\.0\.0 failed within 5 min; last: its app exited with status 1/);

  // The events: each failure with its reason and console lines, the crash loop with its figures.
  const events = (await ingot("events", "--env", "dev", "-n", "200", "--json")).stdout.trim().split("\n").map((line) => JSON.parse(line) as Event);
  const failures = events.filter((event) => event.kind === "instance-state" && event.data.state === "failed");
  assert.deepEqual(failures.map((event) => event.instance), [first.id, crashed.id, victim.id], JSON.stringify(failures));
  assert.match(failures[0]!.data.reason!, /^failed its health check 3 times in a row: last check L\d/);
  assert.equal(failures[2]!.data.reason, "its app exited with status 1");
  assert.ok(failures[2]!.data.lastLines!.some((line) => line.includes("elf-server: exiting with status 1")), failures[2]!.data.lastLines!.join("\n"));
  assert.ok(events.some((event) => event.kind === "environment-degraded" && event.data.summary === now.degraded!.summary));
  const text = (await ingot("events", "--env", "dev", "-n", "200")).stdout;
  assert.match(text, /healthy → failed: its app exited with status 1\n( {4}\| .*\n)*? {4}\| .*elf-server: exiting with status 1/);
  assert.match(text, /degraded: 3 instances of self-heal-test:1\.0\.0 failed within 5 min/);

  // A new deploy clears it; `ingot events -f` follows what happens next (the stop).
  const v2 = await ingot("deploy", "self-heal-test:2.0.0", "--env", "dev");
  assert.equal(v2.code, 0, v2.stdout + v2.stderr);
  now = await status();
  assert.equal(now.degraded, null);
  assert.equal(await (await fetch(`${now.entryUrl}env/VERSION`)).text(), "2\n");
  const follow = startIngot(home.path, ["events", "--env", "dev", "-f", "-n", "1"]);
  t.after(() => follow.kill());
  await follow.waitForLine(/no longer degraded: deploy \d+ of self-heal-test:2\.0\.0 succeeded|deploy \d+ succeeded/);
  const stopped = await ingot("stop", "--env", "dev");
  assert.equal(stopped.code, 0, stopped.stderr);
  await follow.waitForLine(/healthy → stopped|draining → stopped/, 30_000);
  follow.kill();
});
