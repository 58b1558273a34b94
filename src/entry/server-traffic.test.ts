import assert from "node:assert/strict";
import { Agent } from "node:http";
import { test } from "node:test";
import { get, haproxySkip, instance, requests, startEntry } from "./entry-fixtures.ts";
import { readTraffic, type ResponseCounts, trafficSince, trafficSnapshot, type TrafficSnapshot, zeroCounts } from "./server-traffic.ts";

const counts = (partial: Partial<ResponseCounts>): ResponseCounts => ({ ...zeroCounts(), ...partial });

test("show stat's response counters are read by column names, per slot of the backend, with the slot's holder", () => {
  // Columns out of HAProxy's order, and another backend's slot of the same name.
  const csv = [
    "# hrsp_5xx,svname,hrsp_1xx,pxname,hrsp_2xx,type,hrsp_3xx,hrsp_4xx,hrsp_other,",
    "0,FRONTEND,0,prod,400,0,0,0,0,",
    "7,slot1,0,prod,93,2,1,2,0,",
    "0,slot2,0,prod,0,2,0,0,0,",
    "5,slot1,0,test,5,2,0,0,0,",
    "7,BACKEND,0,prod,93,1,1,2,0,",
  ].join("\n");
  assert.deepEqual(trafficSnapshot(csv, "prod", new Map([["slot1", "web-1"]]), 1000), {
    takenAtMs: 1000,
    slots: [
      { slot: "slot1", holder: "web-1", responses: counts({ "2xx": 93, "3xx": 1, "4xx": 2, "5xx": 7 }) },
      { slot: "slot2", holder: undefined, responses: counts({}) },
    ],
  });
  assert.deepEqual(trafficSnapshot("", "prod", new Map(), 5), { takenAtMs: 5, slots: [] });
});

test("deltas count an instance on its own slot or on one free at the baseline, not on a slot another instance held", () => {
  const baseline: TrafficSnapshot = {
    takenAtMs: 1000,
    slots: [
      { slot: "slot1", holder: "web-1", responses: counts({ "2xx": 50, "5xx": 1 }) },
      { slot: "slot2", holder: undefined, responses: counts({ "2xx": 400 }) },
      { slot: "slot3", holder: "web-old", responses: counts({ "2xx": 10 }) },
    ],
  };
  const now: TrafficSnapshot = {
    takenAtMs: 61_000,
    slots: [
      { slot: "slot1", holder: "web-1", responses: counts({ "2xx": 140, "5xx": 11 }) },
      { slot: "slot2", holder: "web-canary", responses: counts({ "2xx": 430, "4xx": 2 }) },
      { slot: "slot3", holder: "web-new", responses: counts({ "2xx": 12 }) },
    ],
  };
  assert.deepEqual(trafficSince(baseline, now), {
    sinceMs: 1000,
    untilMs: 61_000,
    instances: [
      { instance: "web-1", slot: "slot1", responses: counts({ "2xx": 90, "5xx": 10 }), total: 100, restarted: false },
      { instance: "web-canary", slot: "slot2", responses: counts({ "2xx": 30, "4xx": 2 }), total: 32, restarted: false },
    ],
    uncounted: [{ instance: "web-new", slot: "slot3", reason: "slot3 was web-old's when counting began: its responses since are both's" }],
  });
});

test("after HAProxy started again (counters back at 0) an instance counts its responses since that start", () => {
  const baseline: TrafficSnapshot = { takenAtMs: 0, slots: [{ slot: "slot1", holder: "web-1", responses: counts({ "2xx": 500 }) }] };
  const now: TrafficSnapshot = { takenAtMs: 1, slots: [{ slot: "slot1", holder: "web-1", responses: counts({ "2xx": 20, "5xx": 1 }) }] };
  assert.deepEqual(trafficSince(baseline, now).instances, [{ instance: "web-1", slot: "slot1", responses: counts({ "2xx": 20, "5xx": 1 }), total: 21, restarted: true }]);
});

test("a real HAProxy's counters give each instance the responses it sent since the baseline, 5xx apart; health checks not counted", { skip: haproxySkip }, async (t) => {
  const entry = await startEntry(t);
  const failing = await instance(t, "failing", { failEvery: 10 });
  const steady = await instance(t, "steady");
  for (const [name, started] of [["web-1", failing], ["web-2", steady]] as const) {
    await entry.add({ name, address: "127.0.0.1", port: started.port });
    await entry.waitUp(name, 5_000);
  }
  // Requests before the baseline are not counted.
  for (let i = 0; i < 10; i++) await get(entry.spec.bind.port, false);
  const baseline = await readTraffic(entry);
  const [failingBefore, steadyBefore] = [failing.requests, steady.requests];
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  t.after(() => agent.destroy());
  const answers = await requests(entry.spec.bind.port, agent, 200);
  const since = trafficSince(baseline, await readTraffic(entry));
  const failingServed = failing.requests - failingBefore;
  const failed = Math.floor(failing.requests / 10) - Math.floor(failingBefore / 10);
  assert.equal(answers.filter((answer) => answer.status === 500).length, failed);
  assert.deepEqual(since.instances.map(({ instance, responses, total, restarted }) => ({ instance, responses, total, restarted })), [
    { instance: "web-1", responses: counts({ "2xx": failingServed - failed, "5xx": failed }), total: failingServed, restarted: false },
    { instance: "web-2", responses: counts({ "2xx": steady.requests - steadyBefore }), total: steady.requests - steadyBefore, restarted: false },
  ]);
  assert.equal(failingServed + steady.requests - steadyBefore, 200);
  assert.ok(failed >= 8, `round robin gave the failing instance ${failingServed} of 200 requests`);

  // An instance added since takes a slot that was free at the baseline: counted from its first request.
  await entry.remove("web-1");
  const late = await instance(t, "late");
  await entry.add({ name: "web-3", address: "127.0.0.1", port: late.port });
  await entry.waitUp("web-3", 5_000);
  for (let i = 0; i < 20; i++) await get(entry.spec.bind.port, false);
  const after = trafficSince(baseline, await readTraffic(entry));
  assert.deepEqual(after.instances.map(({ instance, total }) => [instance, total]), [["web-2", steady.requests - steadyBefore], ["web-3", late.requests]]);
  assert.ok(late.requests > 0, "the instance added since took no request");
  assert.deepEqual(after.uncounted, []);
});
