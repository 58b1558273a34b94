import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { test, type TestContext } from "node:test";
import type { NewEvent } from "../state/events.ts";
import { get, haproxySkip, instance, startEntry } from "./entry-fixtures.ts";
import { EntryPoint } from "./entry-point.ts";
import { entryPaths } from "./haproxy-config.ts";
import { EntrySupervisor, restartDelayMs } from "./entry-supervisor.ts";

/** A supervisor of one entry point, closed when the test ends, with what it recorded and logged. */
function supervise(t: TestContext, entry: EntryPoint, shouldServe = true): { supervisor: EntrySupervisor; events: NewEvent[]; lines: string[] } {
  const events: NewEvent[] = [];
  const lines: string[] = [];
  const supervisor = new EntrySupervisor({ entryPoints: { all: () => [entry] }, shouldServe: () => shouldServe, record: (event) => events.push(event), log: (line) => lines.push(line) });
  t.after(() => supervisor.close());
  return { supervisor, events, lines };
}

async function waitGone(entry: EntryPoint): Promise<void> {
  while (await entry.isRunning()) await new Promise((resolve) => setTimeout(resolve, 10));
}

test("starts again at once, then waits twice as long each time up to 30 s", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 6, 7, 20].map(restartDelayMs), [0, 500, 1000, 2000, 4000, 16_000, 30_000, 30_000]);
});

test("a HAProxy killed with SIGKILL serves again within 2 s with its instances, weights and draining slot, and is recorded", { skip: haproxySkip }, async (t) => {
  const entry = await startEntry(t);
  const [blue, green, old] = [await instance(t, "blue"), await instance(t, "green"), await instance(t, "old")];
  await entry.add({ name: "web-1", address: "127.0.0.1", port: blue.port, weight: 2 });
  await entry.add({ name: "web-2", address: "127.0.0.1", port: green.port, weight: 0 });
  await entry.add({ name: "web-3", address: "127.0.0.1", port: old.port });
  for (const name of ["web-1", "web-2", "web-3"]) await entry.waitUp(name, 5_000);
  await entry.switchTraffic(["web-2"], ["web-3"]);
  await entry.drain("web-3", 0);
  const before = (await entry.servers()).map((server) => [server.name, server.state, server.port, server.weight]);
  // web-2 from 0 to 1 by the switch, web-3 draining since: what the runtime API set last is what comes back.
  assert.deepEqual(before, [["web-1", "UP", blue.port, 2], ["web-2", "UP", green.port, 1], ["web-3", "DRAIN", old.port, 1]]);
  const { supervisor, events, lines } = supervise(t, entry);
  supervisor.watch();

  const previousPid = entry.pid;
  const killedAt = performance.now();
  process.kill(previousPid, "SIGKILL");
  let answer = await get(entry.spec.bind.port, false);
  while (answer.status !== 200 && performance.now() - killedAt < 5_000) answer = await get(entry.spec.bind.port, false);
  const servingAfterMs = performance.now() - killedAt;
  assert.equal(answer.status, 200, `no answer within 5 s of the kill: ${answer.status} ${answer.body}`);
  assert.ok(servingAfterMs < 2_000, `served again ${Math.round(servingAfterMs)} ms after the kill`);

  assert.notEqual(entry.pid, previousPid);
  assert.ok(await entry.isRunning());
  assert.deepEqual((await entry.servers()).map((server) => [server.name, server.state, server.port, server.weight]), before);
  const bodies = new Set<string>();
  for (let i = 0; i < 8; i++) bodies.add((await get(entry.spec.bind.port, false)).body);
  assert.deepEqual([...bodies].sort(), ["blue", "green"], "both serving instances in rotation, the drained one out");

  assert.equal(events.length, 1);
  const [event] = events;
  assert.equal(event!.kind, "entry-restarted");
  assert.equal(event!.environment, "prod");
  assert.equal(event!.data!.previousPid, previousPid);
  assert.equal(event!.data!.pid, entry.pid);
  assert.ok(typeof event!.data!.downMs === "number" && event!.data!.downMs < 2_000);
  assert.deepEqual(event!.data!.restoredSlots, [
    { instance: "web-1", slot: "slot1", weight: 2, state: "ready" },
    { instance: "web-2", slot: "slot2", weight: 1, state: "ready" },
    { instance: "web-3", slot: "slot3", weight: 1, state: "drain" },
  ]);
  assert.match(lines.join("\n"), new RegExp(`the entry point of prod was gone \\(HAProxy pid ${previousPid}\\); started again as pid ${entry.pid} after \\d+ ms, 3 instance\\(s\\) put back`));
});

test("a stopped entry point, or one of a stopped environment, is not started again", { skip: haproxySkip }, async (t) => {
  const stopped = await startEntry(t, "dev");
  const deliberate = supervise(t, stopped);
  await stopped.stop();
  await deliberate.supervisor.check();
  assert.equal(await stopped.isRunning(), false);

  const idle = await startEntry(t, "test");
  const left = supervise(t, idle, false);
  process.kill(idle.pid, "SIGKILL");
  await waitGone(idle);
  await left.supervisor.check();
  await left.supervisor.check();
  assert.equal(await idle.isRunning(), false);
  assert.deepEqual([...deliberate.events, ...left.events], []);
  assert.deepEqual(left.lines, [`the entry point of test is gone (HAProxy pid ${idle.pid}); not started again as the environment is stopped, its next deploy starts it`]);
});

test("a HAProxy that cannot start again (its port taken) is retried with backoff and reported each time", { skip: haproxySkip }, async (t) => {
  const entry = await startEntry(t, "prod");
  const { supervisor, events, lines } = supervise(t, entry);
  const previousPid = entry.pid;
  process.kill(previousPid, "SIGKILL");
  await waitGone(entry);
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(entry.spec.bind.port, entry.spec.bind.address, resolve));
  t.after(() => new Promise<void>((resolve) => squatter.close(() => resolve())));

  const t0 = Date.now();
  await supervisor.check(t0);
  await supervisor.check(t0 + 100);  // within the 0.5 s wait: no try
  await supervisor.check(t0 + 600);
  await supervisor.check(t0 + 1_000); // within the 1 s wait after the second
  assert.deepEqual(events.map((event) => [event.kind, event.data!.attempt, event.data!.retryInMs]), [["entry-restart-failed", 1, 500], ["entry-restart-failed", 2, 1000]]);
  assert.match(String(events[0]!.data!.error), new RegExp(`Cannot bind the entry point of prod to 127\\.0\\.0\\.1:${entry.spec.bind.port} as it is in use`));
  assert.match(lines[0]!, /the entry point of prod is gone \(HAProxy pid \d+\) and did not start again \(attempt 1; next in 500 ms\): Cannot bind/);

  await new Promise<void>((resolve) => squatter.close(() => resolve()));
  await supervisor.check(t0 + 1_700);
  assert.equal(events.at(-1)!.kind, "entry-restarted");
  assert.equal(events.at(-1)!.data!.attempt, 3);
  assert.ok(await entry.isRunning());
});

test("slots an older ingot recorded without address and weight are read back from HAProxy on adoption, and put back after a death", { skip: haproxySkip }, async (t) => {
  const started = await startEntry(t);
  const only = await instance(t, "v1");
  await started.add({ name: "web-1", address: "127.0.0.1", port: only.port, weight: 3 });
  await started.waitUp("web-1", 5_000);
  const slotsFile = entryPaths(started.spec.runDir).slots;
  const { held, freed } = JSON.parse(await readFile(slotsFile, "utf8")) as { held: Record<string, string>; freed: Record<string, number> };
  await writeFile(slotsFile, JSON.stringify({ held, freed }));

  const adopted = await EntryPoint.adopt(started.spec.runDir);
  const { supervisor, events } = supervise(t, adopted);
  process.kill(adopted.pid, "SIGKILL");
  await waitGone(adopted);
  await supervisor.check();
  assert.deepEqual(events.map((event) => [event.kind, event.data!.restoredSlots ?? event.data!.error]), [["entry-restarted", [{ instance: "web-1", slot: "slot1", weight: 3, state: "ready" }]]]);
  assert.equal((await get(adopted.spec.bind.port, false)).body, "v1");
  // The fixture stops the entry point it started: the same run folder, now this pid.
  t.after(() => adopted.stop());
});
