import { test } from "node:test";
import assert from "node:assert/strict";
import { crashLoop, DEFAULT_CRASH_LOOP, degradedSummary } from "./crash-loop.ts";

const failure = (timeMs: number, index: number) => ({ timeMs, instance: `i-${index}`, reason: `its app exited with status ${index}` });
const at = (...times: number[]) => times.map(failure);

test("three failures within five minutes are a crash loop, with the figures and the last reason", () => {
  assert.deepEqual(crashLoop(at(0, 60_000, 90_000), DEFAULT_CRASH_LOOP, { nowMs: 91_000, sinceMs: 0 }),
    { failures: 3, windowMs: 300_000, lastReason: "its app exited with status 2", instances: ["i-0", "i-1", "i-2"] });
  // Given in any order: the last is the newest.
  assert.equal(crashLoop(at(90_000, 0, 60_000), DEFAULT_CRASH_LOOP, { nowMs: 91_000, sinceMs: 0 })?.lastReason, "its app exited with status 0");
});

test("fewer failures, failures older than the window, or before the serving deploy are no crash loop", () => {
  assert.equal(crashLoop(at(0, 60_000), DEFAULT_CRASH_LOOP, { nowMs: 61_000, sinceMs: 0 }), undefined);
  assert.equal(crashLoop(at(0, 200_000, 310_000), DEFAULT_CRASH_LOOP, { nowMs: 310_000, sinceMs: 0 }), undefined, "the first left the window");
  assert.equal(crashLoop(at(1_000, 2_000, 3_000), DEFAULT_CRASH_LOOP, { nowMs: 4_000, sinceMs: 2_500 }), undefined, "two belong to the previous deploy");
  assert.equal(crashLoop(at(1_000, 2_000, 9_000), DEFAULT_CRASH_LOOP, { nowMs: 4_000, sinceMs: 0 }), undefined, "one is in the future of nowMs");
});

test("the rule's figures are the environment's own: one failure in a minute, five in ten", () => {
  assert.equal(crashLoop(at(0), { failures: 1, windowMs: 60_000 }, { nowMs: 1, sinceMs: 0 })?.failures, 1);
  assert.equal(crashLoop(at(0, 1, 2, 3), { failures: 5, windowMs: 600_000 }, { nowMs: 4, sinceMs: 0 }), undefined);
});

test("a degraded environment reads as one line", () => {
  assert.equal(degradedSummary({ imageRef: "hello:2.0.0", failures: 3, windowMs: 300_000, lastReason: "its app exited with status 1" }),
    "3 instances of hello:2.0.0 failed within 5 min; last: its app exited with status 1");
  assert.equal(degradedSummary({ imageRef: "a:1", failures: 4, windowMs: 90_000, lastReason: "x" }), "4 instances of a:1 failed within 90 s; last: x");
});
