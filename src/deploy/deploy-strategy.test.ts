import { test } from "node:test";
import assert from "node:assert/strict";
import { strategyShape } from "./deploy-strategy.ts";

const prod = { name: "prod", capacity: 3, serving: 3 };

test("blue/green boots the whole capacity at once, rolling a batch at a time, a canary its own few", () => {
  assert.deepEqual(strategyShape({}, prod), { kind: "batches", strategy: "blue-green", instances: 3, batch: 3 });
  assert.deepEqual(strategyShape({ strategy: "rolling" }, prod), { kind: "batches", strategy: "rolling", instances: 3, batch: 1 });
  assert.deepEqual(strategyShape({ strategy: "rolling", batch: 2 }, prod), { kind: "batches", strategy: "rolling", instances: 3, batch: 2 });
  assert.deepEqual(strategyShape({ strategy: "canary", canary: { percent: 25 } }, prod), { kind: "canary", strategy: "canary", instances: 1, percent: 25, autoWindowMs: null });
  assert.deepEqual(strategyShape({ strategy: "canary", canary: { percent: 10, instances: 2, autoWindowMs: 60_000 } }, prod), { kind: "canary", strategy: "canary", instances: 2, percent: 10, autoWindowMs: 60_000 });
});

test("what cannot work is refused with what would", () => {
  assert.throws(() => strategyShape({ strategy: "rolling", batch: 4 }, prod), /batches of 4 as prod runs 3 instances/);
  assert.throws(() => strategyShape({ batch: 2 }, prod), /batch size to a blue-green deploy/);
  assert.throws(() => strategyShape({ strategy: "canary" }, prod), /without its share/);
  assert.throws(() => strategyShape({ strategy: "canary", canary: { percent: 100 } }, prod), /100% of the requests/);
  assert.throws(() => strategyShape({ strategy: "canary", canary: { percent: 25 } }, { ...prod, serving: 0 }), /no version serves there to compare it with/);
  assert.throws(() => strategyShape({ strategy: "canary", canary: { percent: 25, instances: 4 } }, prod), /4 canary instances as prod runs 3/);
  assert.throws(() => strategyShape({ strategy: "rolling", canary: { percent: 25 } }, prod), /canary share to a rolling deploy/);
  try {
    strategyShape({ strategy: "canary", canary: { percent: 0 } }, prod);
    assert.fail("accepted 0%");
  } catch (error) {
    assert.match((error as { hint?: string }).hint ?? "", /whole number from 1 to 99/);
  }
});
