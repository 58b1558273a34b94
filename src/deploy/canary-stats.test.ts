import assert from "node:assert/strict";
import { Agent } from "node:http";
import { test, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { tempDir } from "../../test/helpers.ts";
import { get, haproxySkip, instance, requests, startEntry } from "../entry/entry-fixtures.ts";
import type { LogLine } from "../logs/log-line.ts";
import { LogStore } from "../logs/log-store.ts";
import { SyslogListener } from "../logs/syslog-listener.ts";
import { DEFAULT_CANARY_POLICY, judgeCanary } from "./canary-judge.ts";
import { CanaryStats } from "./canary-stats.ts";

async function openStore(t: TestContext): Promise<{ store: LogStore; listener: SyslogListener }> {
  const home = await tempDir("ingot-canary-stats-");
  const store = LogStore.open(home.path);
  const listener = await SyslogListener.start((line) => store.append(line));
  t.after(async () => { await listener.close(); store.close(); await home.remove(); });
  return { store, listener };
}

async function until(done: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  for (const startedAt = Date.now(); !done(); await sleep(50)) {
    if (Date.now() - startedAt > timeoutMs) assert.fail(`${what} within ${timeoutMs} ms`);
  }
}

test("a real entry point's access log gives each instance its requests, 5xx and p95, followed live and read back after a restart", { skip: haproxySkip }, async (t) => {
  const { store, listener } = await openStore(t);
  const entry = await startEntry(t, "prod", { accessLog: { host: "127.0.0.1", port: listener.port } });
  const failing = await instance(t, "failing", { failEvery: 10 });
  const slow = await instance(t, "slow", { delayMs: 200 });
  for (const [name, started] of [["web-1", failing], ["web-2", slow]] as const) {
    await entry.add({ name, address: "127.0.0.1", port: started.port });
    await entry.waitUp(name, 5_000);
  }
  // A request before the canary started is not counted.
  await get(entry.spec.bind.port, false);
  await sleep(50);
  const sinceMs = Date.now();
  const slotHolders = (): ReadonlyMap<string, string> => entry.slotHolders();
  const live = CanaryStats.follow(store, { environment: "prod", sinceMs, slotHolders });
  t.after(() => live.close());
  const [failingBefore, slowBefore] = [failing.requests, slow.requests];

  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  t.after(() => agent.destroy());
  const answers = await requests(entry.spec.bind.port, agent, 200);
  await until(() => live.instance("web-1").requests + live.instance("web-2").requests >= 200, "200 requests logged");

  const failingServed = failing.requests - failingBefore;
  const failed = answers.filter((answer) => answer.status === 500).length;
  assert.equal(failed, Math.floor(failing.requests / 10) - Math.floor(failingBefore / 10));
  const figures = live.byInstance();
  assert.deepEqual([...figures.keys()].sort(), ["web-1", "web-2"]);
  const [fast, slower] = [figures.get("web-1")!, figures.get("web-2")!];
  assert.deepEqual([fast.requests, fast.serverErrors], [failingServed, failed]);
  assert.deepEqual([slower.requests, slower.serverErrors], [slow.requests - slowBefore, 0]);
  assert.ok(failed >= 8, `round robin gave the failing instance ${failingServed} of 200 requests`);
  // Each p95 is the one of the response times HAProxy wrote in its messages (%Tr, the 4th time).
  const logged = store.query({ environment: "prod", sources: ["entry"], sinceMs, limit: 1000 });
  for (const [slot, figuresOf] of [["slot1", fast], ["slot2", slower]] as const) {
    const times = logged.flatMap((line) => {
      const match = new RegExp(` prod/${slot} [\\d-]+/[\\d-]+/[\\d-]+/(\\d+)/`).exec(line.message);
      return match ? [Number(match[1])] : [];
    }).sort((a, b) => a - b);
    assert.equal(figuresOf.p95Ms, times[Math.ceil(0.95 * times.length) - 1], `${slot}'s p95 of ${times.join(" ")}`);
  }
  // On a host as loaded as it may be, the slow one is at least its delay, and slower than the other.
  assert.ok(slower.p95Ms! >= 200 && fast.p95Ms! < slower.p95Ms!, `p95: ${fast.p95Ms} ms fast, ${slower.p95Ms} ms slow`);
  assert.deepEqual(live.version(["web-1", "web-2"]).requests, 200);
  assert.equal(live.unattributed, 0);

  // Judged as versions: the failing one is aborted for its 5xx.
  const failingJudged = judgeCanary({
    old: { version: "1.0.0", ...live.version(["web-2"]) }, canary: { version: "1.1.0", ...live.version(["web-1"]) }, policy: DEFAULT_CANARY_POLICY, elapsedMs: 1_000,
  });
  assert.equal(failingJudged.verdict, "abort");
  assert.match(failingJudged.reason, new RegExp(`^canary 5xx \\d+\\.\\d% \\(${failed} of ${failingServed}\\) against 0\\.0% \\(0 of ${slower.requests}\\) for 1\\.0\\.0, beyond the tolerance of \\+1 pt$`));

  // A control plane started again reads the same requests back from the store.
  const readBack = CanaryStats.follow(store, { environment: "prod", sinceMs, slotHolders });
  t.after(() => readBack.close());
  assert.deepEqual(readBack.byInstance(), figures);

  // Both go on counting; a request no instance answered (none up) is no instance's.
  await get(entry.spec.bind.port, false);
  await entry.remove("web-1");
  await entry.remove("web-2");
  assert.equal((await get(entry.spec.bind.port, false)).status, 503);
  await until(() => live.unattributed === 1 && readBack.unattributed === 1, "the 503 logged");
  assert.equal(live.version(["web-1", "web-2"]).requests, 201);
  assert.deepEqual(readBack.byInstance(), live.byInstance());
});

test("reading back takes every line since the start, over many pages, and counts none twice as they arrive meanwhile", async (t) => {
  const { store } = await openStore(t);
  const startMs = Date.parse("2026-12-01T09:00:00Z");
  const line = (index: number, environment = "prod"): LogLine => ({
    timeMs: startMs + index, environment, app: "entry", version: "", instance: "", source: "entry", stream: "", severity: 6, message: "",
    fields: { sd: { "request@32473": { server: index % 3 === 0 ? "slot2" : "slot1", status: index % 100 === 0 ? "502" : "200", tr: String(index % 50), ta: "1" } } },
  });
  // 50 000 lines (ten pages), from 10 ms before the start; another environment's between them.
  for (let index = -10; index < 50_000; index++) {
    store.append(line(index));
    if (index % 1000 === 0) store.append(line(index, "test"));
  }
  await store.written();
  // Lines written (committed by the writer thread) but not yet handed to listeners as the read back
  // runs: it reads them, and the listener gets them after; then lines not written yet: only the listener gets them.
  for (let index = 50_000; index < 50_300; index++) store.append(line(index));
  await new Promise((resolve) => setImmediate(resolve));
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
  for (let index = 50_300; index < 50_400; index++) store.append(line(index));
  const stats = await CanaryStats.followInTurns(store, { environment: "prod", sinceMs: startMs, slotHolders: () => new Map([["slot1", "web-1"], ["slot2", "web-2"]]) });
  t.after(() => stats.close());
  await store.written();
  const all = stats.version(["web-1", "web-2"]);
  assert.equal(all.requests, 50_400);
  assert.equal(all.serverErrors, 504);
  assert.equal(stats.instance("web-2").requests, 16_800);
  assert.equal(all.p95Ms, 47);
  // Read back at once, blocking, the same.
  const atOnce = CanaryStats.follow(store, { environment: "prod", sinceMs: startMs, slotHolders: () => new Map([["slot1", "web-1"], ["slot2", "web-2"]]) });
  t.after(() => atOnce.close());
  assert.deepEqual(atOnce.byInstance(), stats.byInstance());
});
