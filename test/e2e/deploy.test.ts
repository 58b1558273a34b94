// End to end, through bin/ingot with a real control plane, real QEMU instances and a real HAProxy:
// blue/green under continuous load (kept-alive and fresh connections), a version that never becomes
// healthy, a rollback, a second deploy refused during a deploy, a promotion by digest, the server
// killed while serving and adopting its instances again, a killed instance replaced, and a stop.
// Deploys interrupted by a killed server, before and after their switch, are server-kill.test.ts's:
// it kills the server at every step of a deploy.
import { test } from "node:test";
import assert from "node:assert/strict";
import { streamServer } from "../../src/server/control-client.ts";
import { buildElfImages, elfDeployYaml, sharedTestVault } from "../helpers.ts";
import { explainFailures, startIngot, statusOf, testHome } from "../control-plane.ts";
import { type LoadReport, startLoad } from "../../src/load/live-load.ts";
import { switches } from "../load.ts";

const appYaml = (version: number, healthPath = "/"): string => elfDeployYaml({
  name: "deploy-test", version, instances: 2, healthcheck: { path: healthPath, startTimeout: "10s" }, drainTimeout: "5s",
});

interface Status { name: string; entryUrl: string | null; serving: { imageRef: string; imageDigest: string } | null; running: { id: number } | null; instances: { id: string; state: string; pid: number }[] }

test("deploys switch versions under load without a failed request, a bad version never serves, rollback and promotion move digests, a killed server's instances keep serving and are adopted, a killed instance is replaced", async (t) => {
  const vault = await sharedTestVault();
  const digests = await buildElfImages(vault, "ingot-deploy-app-", [appYaml(1), appYaml(2), appYaml(3, "/status/500")]);
  const home = await testHome(t, vault, "ingot-deploy-");
  const { ingot } = home;
  const status = (environment: string): Promise<Status> => statusOf<Status>(ingot, environment);
  /** Runs `work` while clients request the entry point continuously, kept-alive and fresh. */
  const underLoad = async <T>(url: string, work: () => Promise<T>): Promise<{ result: T; keptAlive: LoadReport; fresh: LoadReport }> => {
    const keptAlive = startLoad(`${url}env/VERSION`, { clients: 2, keepAlive: true });
    const fresh = startLoad(`${url}env/VERSION`, { clients: 2, keepAlive: false });
    // Some answers before the change, so "never goes back" has a before to compare with.
    const stop = async (): Promise<{ keptAlive: LoadReport; fresh: LoadReport }> => ({ keptAlive: await keptAlive.stop(), fresh: await fresh.stop() });
    try {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const result = await work();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      return { result, ...(await stop()) };
    } catch (error) {
      // Clients left running would keep the test process alive after the failure.
      await stop();
      throw error;
    }
  };
  const assertServedOnly = async (reports: LoadReport[], expected: string[][], what: string): Promise<void> => {
    for (const report of reports) {
      await explainFailures(ingot, "dev", what, report.failures);
      assert.deepEqual(report.failures, [], `${what}: no request may fail (${report.requests} sent)`);
      assert.ok(report.requests > 20, `${what}: the load kept going (${report.requests} requests)`);
      for (const answers of report.answers) assert.ok(expected.some((sequence) => JSON.stringify(switches(answers)) === JSON.stringify(sequence)), `${what}: answers went ${switches(answers).join(" → ")}`);
    }
  };

  // v1: the environment's first deploy starts its entry point.
  const first = await ingot("deploy", "deploy-test:1.0.0", "--env", "dev");
  assert.equal(first.code, 0, first.stdout + first.stderr);
  const url = (await status("dev")).entryUrl!;
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.equal((await status("dev")).instances.length, 2, "capacity 2 from environments.dev.instances");

  // 1. v1 → v2 under load: no failure, and each client sees 1 then 2, never 1 again.
  const toV2 = await underLoad(url, () => ingot("deploy", "deploy-test:2.0.0", "--env", "dev"));
  assert.equal(toV2.result.code, 0, toV2.result.stdout + toV2.result.stderr);
  assert.match(toV2.result.stdout, /wait-up .*: done/);
  await assertServedOnly([toV2.keptAlive, toV2.fresh], [["1", "2"], ["2"]], "v1 → v2");

  // 2. v3 never passes its health check: refused with the reason and its console, v2 keeps serving.
  const toV3 = await underLoad(url, () => ingot("deploy", "deploy-test:3.0.0", "--env", "dev"));
  assert.equal(toV3.result.code, 1, toV3.result.stdout + toV3.result.stderr);
  assert.match(toV3.result.stderr, /Cannot deploy deploy-test:3\.0\.0 to dev as instance i-[0-9a-f]{8}: GET \/status\/500 did not pass within 10 s: last answer HTTP 500/);
  assert.match(toV3.result.stdout, /last console lines of i-[0-9a-f]{8}:\n(.*\n)*.*ingot-init: .*starting app/);
  await assertServedOnly([toV3.keptAlive, toV3.fresh], [["2"]], "failed v3");
  const history = JSON.parse((await ingot("history", "--env", "dev", "--json")).stdout) as { imageRef: string; state: string; reason: string | null }[];
  assert.deepEqual(history.map((deployment) => `${deployment.imageRef} ${deployment.state}`), ["deploy-test:3.0.0 failed", "deploy-test:2.0.0 succeeded", "deploy-test:1.0.0 succeeded"]);
  assert.match(history[0]!.reason!, /HTTP 500/);

  // 3. Rollback to v1 under load; a second deploy while it runs is refused, naming it.
  const toV1 = await underLoad(url, async () => {
    const rollback = startIngot(home.path, ["rollback", "--env", "dev", "--json"]);
    await rollback.waitForLine(/"kind":"boot","instances":.*"status":"done"/);
    // Straight to the API, as `ingot deploy` does: a second CLI process took longer to start on a
    // loaded host than the rollback took to finish. The CLI prints a refusal as any other (deploy-refusals.test.ts).
    const second = await streamServer("/v1/deploy", { environment: "dev", image: "deploy-test:2.0.0" }, () => {}, { home: home.path })
      .then(() => "deployed", (error: Error) => error.message);
    return { rollback: await rollback.done, second };
  });
  assert.match(toV1.result.second, /Cannot deploy to dev as deploy \d+ of deploy-test:1\.0\.0 is running since/,
    `the second deploy was not refused:\n${toV1.result.second}\nrollback:\n${toV1.result.rollback.stdout}${toV1.result.rollback.stderr}\nhistory:\n${(await ingot("history", "--env", "dev")).stdout}`);
  assert.equal(toV1.result.rollback.code, 0, toV1.result.rollback.stdout + toV1.result.rollback.stderr);
  await assertServedOnly([toV1.keptAlive, toV1.fresh], [["2", "1"], ["1"]], "rollback to v1");

  // 4. Promote dev → test: the digest serving test is the one serving dev.
  const promoted = await ingot("promote", "--from", "dev", "--to", "test");
  assert.equal(promoted.code, 0, promoted.stdout + promoted.stderr);
  const [dev, testEnvironment] = [await status("dev"), await status("test")];
  assert.equal(testEnvironment.serving?.imageDigest, dev.serving?.imageDigest);
  assert.equal(dev.serving?.imageDigest, digests[0]);
  assert.equal(await (await fetch(`${testEnvironment.entryUrl}env/VERSION`)).text(), "1\n");
  assert.notEqual(testEnvironment.entryUrl, dev.entryUrl);

  // 5. The server killed with SIGKILL: the environment serves on without it; started again, it adopts the same instances.
  const serverPid = Number(/pid (\d+)/.exec((await ingot("server", "status")).stdout)![1]);
  const before = (await status("dev")).instances.map((instance) => `${instance.id} ${instance.pid}`).sort();
  const withoutServer = await underLoad(url, async () => {
    process.kill(serverPid, "SIGKILL");
    await new Promise((resolve) => setTimeout(resolve, 3000));
  });
  await assertServedOnly([withoutServer.keptAlive, withoutServer.fresh], [["1"]], "server killed");
  const adopted = await status("dev");
  assert.deepEqual(adopted.instances.map((instance) => `${instance.id} ${instance.pid}`).sort(), before, "the restarted server adopted the very same instances");
  assert.ok(adopted.instances.every((instance) => instance.state === "healthy"));

  // 6. An instance killed outright is replaced by a new one of the same image; the other serves meanwhile.
  const victim = adopted.instances[0]!;
  const replaced = await underLoad(url, async () => {
    process.kill(victim.pid, "SIGKILL");
    const deadline = Date.now() + 120_000;
    for (;;) {
      const now = await status("dev");
      const healthy = now.instances.filter((instance) => instance.state === "healthy" && instance.id !== victim.id);
      if (healthy.length === 2 && now.instances.every((instance) => instance.id !== victim.id)) return now;
      assert.ok(Date.now() < deadline, `no replacement within 120 s: ${JSON.stringify(now.instances)}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  });
  await assertServedOnly([replaced.keptAlive, replaced.fresh], [["1"]], "instance killed and replaced");
  assert.equal(replaced.result.serving?.imageDigest, digests[0], "the replacement runs the serving image");

  // 7. Stop: the instances go, the entry point stays and answers 503 naming the environment.
  const stopped = await ingot("stop", "--env", "dev");
  assert.equal(stopped.code, 0, stopped.stderr);
  const unavailable = await fetch(`${url}env/VERSION`);
  assert.equal(unavailable.status, 503);
  assert.match(await unavailable.text(), /No instance of dev is ready/);
  assert.deepEqual((await status("dev")).instances, []);
});
