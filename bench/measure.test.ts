import { test } from "node:test";
import assert from "node:assert/strict";
import { median, memoryFloor } from "./measure.ts";

test("the memory floor is bisected in 8 MiB steps between a size that fails and one that serves", async () => {
  const tried: number[] = [];
  const floor = await memoryFloor(32, 256, async (memoryMiB) => {
    tried.push(memoryMiB);
    return memoryMiB >= 44;
  });
  assert.deepEqual(floor, { serves: 48, fails: 40 });
  assert.ok(tried.every((memoryMiB) => memoryMiB % 8 === 0), tried.join(" "));
  assert.ok(tried.length <= 5, `${tried.length} boots: ${tried.join(" ")}`);
  assert.deepEqual(await memoryFloor(200, 208, async () => true), { serves: 208, fails: 200 }, "nothing left to try");
});

test("the median of an even count is the mean of the middle two", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});
