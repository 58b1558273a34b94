// End to end, through bin/ingot with a real control plane, QEMU instances and HAProxy, under
// continuous load: a rolling deploy of three instances never has fewer than three serving and fails
// no request; a canary at 25% takes 25% ± 5% of 2,000 requests and `--abort` returns every request
// to the old version without a failure; a canary that answers 500 to a tenth of its requests is
// aborted by ingot's judge (`--auto`), with the figures that decided it; a canary promoted under load
// brings the rest of its version in and fails no request.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { entryPaths } from "../../src/entry/haproxy-config.ts";
import { RuntimeApi } from "../../src/entry/runtime-api.ts";
import { serverPaths } from "../../src/server/server-paths.ts";
import { buildElfImages, elfDeployYaml, sharedTestVault } from "../helpers.ts";
import { statusOf, testHome } from "../control-plane.ts";
import { type LoadReport, startLoad } from "../../src/load/live-load.ts";
import { sampleAnswers } from "../load.ts";

const appYaml = (version: number, failEvery = 0): string => elfDeployYaml({
  name: "strategies-test", version, instances: 3, healthcheck: { path: "/env/VERSION", startTimeout: "20s" }, env: { FAIL_EVERY: String(failEvery) },
});

interface Figures { requests: number; serverErrors: number; p95Ms?: number }
interface Status {
  entryUrl: string;
  serving: { imageRef: string } | null;
  running: { id: number } | null;
  canary: { percent: number; versions?: { old: Figures; canary: Figures } } | null;
  instances: { id: string; state: string; image: string }[];
}
interface Deployment { imageRef: string; strategy: string; state: string; reason: string | null }

test("rolling keeps three serving with no failed request; a canary takes its share, is aborted cleanly, and a failing one is aborted by the judge", async (t) => {
  const vault = await sharedTestVault();
  await buildElfImages(vault, "ingot-strategies-app-", [appYaml(1), appYaml(2), appYaml(3), appYaml(4, 10)]);
  const home = await testHome(t, vault, "ingot-strategies-");
  const { ingot } = home;
  const status = (): Promise<Status> => statusOf<Status>(ingot, "dev");
  const history = async (): Promise<Deployment[]> => JSON.parse((await ingot("history", "--env", "dev", "--json")).stdout) as Deployment[];
  const deployed = await ingot("deploy", "strategies-test:1.0.0", "--env", "dev");
  assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
  const url = (await status()).entryUrl;
  const versions = async (count: number): Promise<Set<string>> => new Set(await sampleAnswers(`${url}env/VERSION`, count, 2));
  const assertNoFailure = (reports: LoadReport[], what: string): void => {
    for (const report of reports) {
      assert.deepEqual(report.failures, [], `${what}: no request may fail (${report.requests} sent)`);
      assert.ok(report.requests > 20, `${what}: the load kept going (${report.requests} requests)`);
    }
  };

  // 1. Rolling v1 → v2, one at a time: HAProxy's own view, every 100 ms, never has fewer than 3 instances taking requests.
  const api = new RuntimeApi(entryPaths(join(serverPaths(home.path).dir, "entry", "dev")).socket);
  const serving: number[] = [];
  let watching = true;
  const watch = (async () => {
    while (watching) {
      const servers = await api.servers("dev");
      serving.push(servers.filter((server) => server.state === "UP" && server.weight > 0).length);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const load = [startLoad(`${url}env/VERSION`, { clients: 2, keepAlive: true }), startLoad(`${url}env/VERSION`, { clients: 2, keepAlive: false })];
  const rolling = await ingot("deploy", "strategies-test:2.0.0", "--env", "dev", "--strategy", "rolling", "--batch", "1").finally(() => { watching = false; });
  const rollingLoad = await Promise.all(load.map((client) => client.stop()));
  await watch;
  assert.equal(rolling.code, 0, rolling.stdout + rolling.stderr);
  assert.equal(rolling.stdout.match(/switch i-[0-9a-f]{8}: done/g)?.length, 3, `three batches of one:\n${rolling.stdout}`);
  assertNoFailure(rollingLoad, "rolling v1 → v2");
  assert.ok(serving.length > 20, `HAProxy was watched throughout (${serving.length} looks)`);
  assert.ok(Math.min(...serving) >= 3, `at least 3 instances take requests at every moment; the counts were ${serving.join(",")}`);
  assert.deepEqual([...await versions(40)], ["2"]);
  assert.equal((await history())[0]!.strategy, "rolling");

  // 2. A canary of v3 at 25%: a quarter of 2,000 requests, give or take 5 points.
  const canary = await ingot("deploy", "strategies-test:3.0.0", "--env", "dev", "--strategy", "canary", "--percent", "25");
  assert.equal(canary.code, 0, canary.stdout + canary.stderr);
  assert.match(canary.stdout, /canary strategies-test:3\.0\.0 \(i-[0-9a-f]{8}\) takes 25% of the requests/);
  assert.ok((await status()).running, "the canary deploy runs until it is promoted or aborted");
  const answers = await sampleAnswers(`${url}env/VERSION`, 2000, 4);
  assert.deepEqual(answers.filter((answer) => answer !== "2" && answer !== "3"), [], "only v2 and v3 answer, and nothing fails");
  const share = answers.filter((answer) => answer === "3").length / answers.length;
  assert.ok(Math.abs(share - 0.25) <= 0.05, `the canary took ${(share * 100).toFixed(1)}% of ${answers.length} requests`);
  // ingot status counts the same requests from the entry's access log, per version.
  let figures: NonNullable<Status["canary"]>["versions"];
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 500))) {
    figures = (await status()).canary?.versions;
    if (figures && figures.old.requests + figures.canary.requests >= 2000) break;
  }
  assert.ok(figures, "ingot status shows the canary's figures");
  assert.ok(figures.old.requests + figures.canary.requests >= 2000, `the access log counted every request: ${JSON.stringify(figures)}`);
  assert.ok(Math.abs(figures.canary.requests / (figures.old.requests + figures.canary.requests) - share) < 0.02, `the same share as the answers: ${JSON.stringify(figures)}`);
  assert.equal(figures.canary.serverErrors + figures.old.serverErrors, 0);
  assert.ok(figures.canary.p95Ms !== undefined && figures.old.p95Ms !== undefined, "a p95 for each version");
  const refused = await ingot("deploy", "strategies-test:1.0.0", "--env", "dev");
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /deploy \d+ of strategies-test:3\.0\.0 is running/);

  // The server killed while the canary runs: the split is a resting state, kept by the next server.
  const serverPid = Number(/pid (\d+)/.exec((await ingot("server", "status")).stdout)![1]);
  process.kill(serverPid, "SIGKILL");
  const afterKill = await sampleAnswers(`${url}env/VERSION`, 400, 4);
  assert.deepEqual(afterKill.filter((answer) => answer !== "2" && answer !== "3"), [], "the entry point serves on while the server is down");
  const restarted = await status();
  assert.ok(restarted.running, "the restarted server keeps the canary running");
  assert.deepEqual(restarted.instances.map((instance) => instance.image).sort(), [...Array(3).fill("strategies-test:2.0.0"), "strategies-test:3.0.0"]);
  const kept = (await sampleAnswers(`${url}env/VERSION`, 400, 4)).filter((answer) => answer === "3").length / 400;
  assert.ok(Math.abs(kept - 0.25) <= 0.08, `the canary still takes its share after the restart: ${(kept * 100).toFixed(1)}% of 400`);

  // 3. --abort under load: every request goes back to v2, none fails.
  const abortLoad = [startLoad(`${url}env/VERSION`, { clients: 2, keepAlive: true }), startLoad(`${url}env/VERSION`, { clients: 2, keepAlive: false })];
  await new Promise((resolve) => setTimeout(resolve, 500));
  const aborted = await ingot("deploy", "--env", "dev", "--abort");
  const abortReports = await Promise.all(abortLoad.map((client) => client.stop()));
  assert.equal(aborted.code, 0, aborted.stdout + aborted.stderr);
  assert.match(aborted.stdout, /the canary strategies-test:3\.0\.0 is withdrawn/);
  assertNoFailure(abortReports, "canary abort");
  assert.deepEqual([...await versions(60)], ["2"], "all requests go to v2 after the abort");
  const afterAbort = await status();
  assert.equal(afterAbort.running, null);
  assert.deepEqual(afterAbort.instances.map((instance) => instance.image), Array(3).fill("strategies-test:2.0.0"));
  assert.match((await history())[0]!.reason ?? "", /canary aborted: ingot deploy --abort/);
  const noCanary = await ingot("deploy", "--env", "dev", "--promote");
  assert.equal(noCanary.code, 1);
  assert.match(noCanary.stderr, /Cannot promote a canary in dev as none runs there/);

  // 4. v4 answers 500 to a tenth of its requests: with --auto, ingot aborts it as soon as the figures say so, and records them.
  const judged = await ingot("deploy", "strategies-test:4.0.0", "--env", "dev", "--strategy", "canary", "--percent", "25", "--auto", "--window", "5m");
  assert.equal(judged.code, 0, judged.stdout + judged.stderr);
  assert.match(judged.stdout, /judged by ingot for 5 min/);
  // Before any request: the judge needs only a few hundred to decide.
  const shown = (await ingot("status", "--env", "dev")).stdout;
  const startedMs = Date.now();
  const traffic = startLoad(url, { clients: 2, keepAlive: false });
  try {
    while ((await status()).running) {
      assert.ok(Date.now() - startedMs < 90_000, `the judge aborted the failing canary within 90 s; ingot status says:\n${(await ingot("status", "--env", "dev")).stdout}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } finally {
    await traffic.stop();
  }
  assert.match(shown, /canary i-[0-9a-f]{8} takes 25% of the requests since .*; ingot judges it/, "ingot status showed the canary live");
  assert.match(shown, /VERSION +REQUESTS +5XX +P95\n +strategies-test:2\.0\.0 +\d+ +0 \(0\.0%\).*\n +strategies-test:4\.0\.0 /, `both versions' figures:\n${shown}`);
  const abortedByJudge = (await history())[0]!;
  assert.equal(abortedByJudge.state, "failed");
  assert.match(abortedByJudge.reason ?? "", /canary aborted: judged by ingot: canary 5xx \d+\.\d% \(\d+ of \d+\) against 0\.0% \(0 of \d+\)/);
  const verdicts = (await ingot("events", "--env", "dev", "--json", "-n", "500")).stdout.trim().split("\n")
    .map((line) => JSON.parse(line) as { kind: string; data: { verdict?: string; figures?: { canary: { serverErrors: number } } } })
    .filter((event) => event.kind === "canary-judged");
  assert.equal(verdicts.length, 1, "the verdict is recorded once");
  assert.equal(verdicts[0]!.data.verdict, "abort");
  assert.ok(verdicts[0]!.data.figures!.canary.serverErrors > 0, "with the figures that decided it");
  assert.deepEqual([...await versions(60)], ["2"], "v2 alone serves after the abort");

  // 5. A canary of v3 promoted under load: the rest of v3 comes in, every request goes to it, none fails.
  const again = await ingot("deploy", "strategies-test:3.0.0", "--env", "dev", "--strategy", "canary", "--percent", "25");
  assert.equal(again.code, 0, again.stdout + again.stderr);
  const promoteLoad = [startLoad(`${url}env/VERSION`, { clients: 2, keepAlive: true }), startLoad(`${url}env/VERSION`, { clients: 2, keepAlive: false })];
  await new Promise((resolve) => setTimeout(resolve, 500));
  const promoted = await ingot("deploy", "--env", "dev", "--promote");
  const promoteReports = await Promise.all(promoteLoad.map((client) => client.stop()));
  assert.equal(promoted.code, 0, promoted.stdout + promoted.stderr);
  assert.match(promoted.stdout, /strategies-test:3\.0\.0 serves dev/);
  assertNoFailure(promoteReports, "canary promotion");
  for (const answers of promoteReports.flatMap((report) => report.answers)) assert.equal(answers.at(-1), "3", "each client ends on v3");
  assert.deepEqual([...await versions(60)], ["3"]);
  const afterPromote = await status();
  assert.deepEqual(afterPromote.instances.map((instance) => instance.image), Array(3).fill("strategies-test:3.0.0"), "v3 at the environment's capacity");
  assert.deepEqual([(await history())[0]!.state, (await history())[0]!.strategy], ["succeeded", "canary"]);
});
