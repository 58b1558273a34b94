import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { IngotError } from "../errors.ts";
import { canaryWeights, MAX_WEIGHT } from "./canary-weights.ts";

const share = (canary: number, old: number, canaries: number, olds: number): number => (100 * canaries * canary) / (canaries * canary + olds * old);

test("a share that integers give exactly takes the smallest weights that give it", () => {
  assert.deepEqual(canaryWeights({ percent: 25, canaries: 1, olds: 1 }), { canary: 1, old: 3, percent: 25 });
  assert.deepEqual(canaryWeights({ percent: 25, canaries: 1, olds: 2 }), { canary: 2, old: 3, percent: 25 });
  assert.deepEqual(canaryWeights({ percent: 50, canaries: 2, olds: 2 }), { canary: 1, old: 1, percent: 50 });
  assert.deepEqual(canaryWeights({ percent: 10, canaries: 2, olds: 6 }), { canary: 1, old: 3, percent: 10 });
  assert.deepEqual(canaryWeights({ percent: 0, canaries: 1, olds: 4 }), { canary: 0, old: 1, percent: 0 });
  assert.deepEqual(canaryWeights({ percent: 100, canaries: 1, olds: 4 }), { canary: 1, old: 0, percent: 100 });
});

test("over 1..99% and 1..32 instances of each, the share is within 0.5 pt where weights 1..256 can give it, else the nearest there is", () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 99 }), fc.integer({ min: 1, max: 32 }), fc.integer({ min: 1, max: 32 }), (percent, canaries, olds) => {
    const weights = canaryWeights({ percent, canaries, olds });
    assert.ok(Number.isInteger(weights.canary) && weights.canary >= 1 && weights.canary <= MAX_WEIGHT);
    assert.ok(Number.isInteger(weights.old) && weights.old >= 1 && weights.old <= MAX_WEIGHT);
    assert.ok(Math.abs(weights.percent - share(weights.canary, weights.old, canaries, olds)) < 1e-9);
    const least = share(1, MAX_WEIGHT, canaries, olds);
    const most = share(MAX_WEIGHT, 1, canaries, olds);
    if (percent < least) assert.ok(Math.abs(weights.percent - least) < 1e-9, `${percent}% is out of reach below ${least}%: got ${weights.percent}%`);
    else if (percent > most) assert.ok(Math.abs(weights.percent - most) < 1e-9, `${percent}% is out of reach above ${most}%: got ${weights.percent}%`);
    else assert.ok(Math.abs(weights.percent - percent) <= 0.5, `${percent}% with ${canaries} canaries and ${olds} olds: ${JSON.stringify(weights)}`);
  }), { numRuns: 2000 });
});

test("no pair of weights comes nearer to the share asked (every pair tried)", () => {
  fc.assert(fc.property(fc.double({ min: 0.5, max: 99.5, noNaN: true }), fc.integer({ min: 1, max: 32 }), fc.integer({ min: 1, max: 32 }), (percent, canaries, olds) => {
    const weights = canaryWeights({ percent, canaries, olds });
    let nearest = Infinity;
    for (let canary = 1; canary <= MAX_WEIGHT; canary++) {
      for (let old = 1; old <= MAX_WEIGHT; old++) nearest = Math.min(nearest, Math.abs(share(canary, old, canaries, olds) - percent));
    }
    assert.ok(Math.abs(weights.percent - percent) <= nearest + 1e-9, `${percent}%: ${JSON.stringify(weights)} is ${Math.abs(weights.percent - percent)} pt off, a pair is ${nearest} off`);
  }), { numRuns: 50 });
});

test("a share out of 0..100 or an instance count below one is refused", () => {
  assert.throws(() => canaryWeights({ percent: 120, canaries: 1, olds: 1 }), (error: IngotError) => error.code === "canary-percent-invalid");
  assert.throws(() => canaryWeights({ percent: Number.NaN, canaries: 1, olds: 1 }), (error: IngotError) => error.code === "canary-percent-invalid");
  assert.throws(() => canaryWeights({ percent: 10, canaries: 0, olds: 1 }), (error: IngotError) => error.code === "canary-count-invalid" && /needs at least one of each/.test(error.message));
});
