import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { type CanaryPolicy, DEFAULT_CANARY_POLICY, judgeCanary, type VersionRequests } from "./canary-judge.ts";

const policy: CanaryPolicy = DEFAULT_CANARY_POLICY;
const old: VersionRequests = { version: "1.0.0", requests: 1500, serverErrors: 0, p95Ms: 40 };
const healthy: VersionRequests = { version: "1.1.0", requests: 500, serverErrors: 2, p95Ms: 42 };
const minute = 60_000;

test("a canary with more 5xx than the old version beyond the tolerance is aborted at once, the figures in the reason", () => {
  const judgement = judgeCanary({ old, canary: { ...healthy, serverErrors: 49 }, policy, elapsedMs: minute });
  assert.equal(judgement.verdict, "abort");
  assert.equal(judgement.reason, "canary 5xx 9.8% (49 of 500) against 0.0% (0 of 1500) for 1.0.0, beyond the tolerance of +1 pt");
  assert.equal(judgement.figures.canary.errorRatePct, 9.8);
  assert.deepEqual(judgement.figures.limits, { errorRatePct: 1, p95Ms: 48 });
  assert.equal(judgement.figures.elapsedMs, minute);
  // At the tolerance exactly it is not worse: 6 of 500 is 1.2%, against 0.2% + 1 pt.
  assert.equal(judgeCanary({ old: { ...old, serverErrors: 3 }, canary: { ...healthy, serverErrors: 6 }, policy, elapsedMs: minute }).verdict, "wait");
  assert.equal(judgeCanary({ old: { ...old, serverErrors: 3 }, canary: { ...healthy, serverErrors: 7 }, policy, elapsedMs: minute }).verdict, "abort");
});

test("a canary slower than ×1.2 the old p95, and more than the floor of ms above it, is aborted", () => {
  const slow = judgeCanary({ old, canary: { ...healthy, p95Ms: 49 }, policy, elapsedMs: minute });
  assert.equal(slow.verdict, "abort");
  assert.equal(slow.reason, "canary p95 49 ms (of 500) against 40 ms (of 1500) for 1.0.0, beyond the tolerance of ×1.2 or +5 ms (48 ms)");
  assert.equal(judgeCanary({ old, canary: { ...healthy, p95Ms: 48 }, policy, elapsedMs: minute }).verdict, "wait");
  // Fast requests: 2 ms against 6 ms is 3× but within the floor of 5 ms; 8 ms is not.
  const fastOld = { ...old, p95Ms: 2 };
  assert.equal(judgeCanary({ old: fastOld, canary: { ...healthy, p95Ms: 7 }, policy, elapsedMs: minute }).verdict, "wait");
  assert.equal(judgeCanary({ old: fastOld, canary: { ...healthy, p95Ms: 8 }, policy, elapsedMs: minute }).verdict, "abort");
  // Worse on both counts: both said.
  const both = judgeCanary({ old, canary: { ...healthy, serverErrors: 100, p95Ms: 300 }, policy, elapsedMs: minute });
  assert.equal(both.reason, "canary 5xx 20.0% (100 of 500) against 0.0% (0 of 1500) for 1.0.0, beyond the tolerance of +1 pt; canary p95 300 ms (of 500) against 40 ms (of 1500) for 1.0.0, beyond the tolerance of ×1.2 or +5 ms (48 ms)");
});

test("a canary not worse waits for its window to end, then is promoted", () => {
  const during = judgeCanary({ old, canary: healthy, policy, elapsedMs: minute + 48_000 });
  assert.deepEqual([during.verdict, during.reason], ["wait", "canary within the tolerances so far (3 min 12 s of the 5 min window left): 5xx 0.4% (2 of 500) against 0.0% (0 of 1500) for 1.0.0, p95 42 ms against 40 ms"]);
  const after = judgeCanary({ old, canary: healthy, policy, elapsedMs: 5 * minute });
  assert.deepEqual([after.verdict, after.reason], ["promote", "canary within the tolerances over the 5 min window: 5xx 0.4% (2 of 500) against 0.0% (0 of 1500) for 1.0.0, p95 42 ms against 40 ms"]);
  // An old version with no timed request: the p95 is not compared, and the reason says so.
  const untimed = judgeCanary({ old: { ...old, requests: 0, p95Ms: undefined }, canary: healthy, policy, elapsedMs: 5 * minute });
  assert.equal(untimed.verdict, "promote");
  assert.match(untimed.reason, /p95 42 ms, not compared as no request of 1\.0\.0 was timed$/);
});

test("with fewer requests than the minimum the canary is neither aborted nor promoted, and the reason says how many it has", () => {
  const early = judgeCanary({ old, canary: { ...healthy, requests: 12, serverErrors: 12 }, policy, elapsedMs: 30_000 });
  assert.deepEqual([early.verdict, early.reason], ["wait", "canary has had 12 of the 50 requests needed to judge it; 4 min 30 s of the 5 min window left"]);
  const late = judgeCanary({ old, canary: { ...healthy, requests: 49 }, policy, elapsedMs: 10 * minute });
  assert.deepEqual([late.verdict, late.reason], ["wait", "canary has had 49 of the 50 requests needed to judge it; the 5 min window is over, waiting for them"]);
});

test("the verdict follows the rules for any figures: abort only beyond a tolerance, promote only after the window", () => {
  const version = (name: string) => fc.record({ version: fc.constant(name), requests: fc.integer({ min: 0, max: 5000 }), serverErrors: fc.integer({ min: 0, max: 5000 }), p95Ms: fc.option(fc.integer({ min: 0, max: 2000 }), { nil: undefined }) })
    .map((figures) => ({ ...figures, serverErrors: Math.min(figures.serverErrors, figures.requests) }));
  fc.assert(fc.property(version("1.0.0"), version("1.1.0"), fc.integer({ min: 0, max: 20 * minute }), (oldFigures, canary, elapsedMs) => {
    const { verdict, reason, figures } = judgeCanary({ old: oldFigures, canary, policy, elapsedMs });
    const enough = canary.requests >= policy.minRequests;
    const worseErrors = figures.canary.errorRatePct > figures.limits.errorRatePct + 1e-9;
    const worseLatency = figures.limits.p95Ms !== undefined && canary.p95Ms !== undefined && canary.p95Ms > figures.limits.p95Ms;
    assert.equal(verdict, !enough ? "wait" : worseErrors || worseLatency ? "abort" : elapsedMs >= policy.windowMs ? "promote" : "wait");
    assert.ok(reason.includes(String(canary.requests)));
  }), { numRuns: 1000 });
});
