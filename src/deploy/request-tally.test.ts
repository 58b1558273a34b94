import assert from "node:assert/strict";
import { test } from "node:test";
import { RequestTally } from "./request-tally.ts";

test("a tally counts requests and 5xx, and its p95 is the nearest rank over every timed request", () => {
  const tally = new RequestTally();
  assert.deepEqual(tally.figures(), { requests: 0, serverErrors: 0, p95Ms: undefined });
  // 1..100 ms once each: 95 requests took 95 ms or less.
  for (let ms = 100; ms >= 1; ms--) tally.add({ status: ms % 25 === 0 ? 500 : 200, responseMs: ms });
  assert.deepEqual(tally.figures(), { requests: 100, serverErrors: 4, p95Ms: 95 });
  assert.equal(tally.percentileMs(50), 50);
  assert.equal(tally.percentileMs(100), 100);
  assert.equal(tally.percentileMs(0), 1);
  // A request without a response (504 after a timeout, %Tr -1) counts, but has no response time.
  tally.add({ status: 504, responseMs: -1 });
  assert.deepEqual(tally.figures(), { requests: 101, serverErrors: 5, p95Ms: 95 });
});

test("a version's p95 is over its instances' requests together, not an average of their p95s", () => {
  const fast = new RequestTally();
  const slow = new RequestTally();
  for (let i = 0; i < 90; i++) fast.add({ status: 200, responseMs: 2 });
  for (let i = 0; i < 10; i++) slow.add({ status: 200, responseMs: 300 });
  assert.equal(new RequestTally().merge(fast).merge(slow).percentileMs(95), 300);
  assert.equal(new RequestTally().merge(fast).merge(slow).percentileMs(90), 2);
  assert.deepEqual(fast.figures(), { requests: 90, serverErrors: 0, p95Ms: 2 }, "merging leaves the merged tally as it was");
});
