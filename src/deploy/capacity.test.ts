import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { capacity, withCapacity } from "./capacity.ts";

describe("capacity", () => {
  it("is the scaled number when ingot scale set one, else the image's", () => {
    assert.deepEqual(capacity({ desiredInstances: 3 }, { instances: 2 }), { instances: 3, imageInstances: 2, scaled: true });
    assert.deepEqual(capacity({ desiredInstances: null }, { instances: 2 }), { instances: 2, imageInstances: 2, scaled: false });
    // Scaled to the image's own number is still scaled: the next image's number does not apply.
    assert.equal(capacity({ desiredInstances: 2 }, { instances: 2 }).scaled, true);
  });

  it("puts the capacity into a deploy's settings, leaving the rest", () => {
    assert.deepEqual(withCapacity({ instances: 1, memoryMiB: 256 }, { desiredInstances: 4 }), { instances: 4, memoryMiB: 256 });
    assert.deepEqual(withCapacity({ instances: 1, memoryMiB: 256 }, { desiredInstances: null }), { instances: 1, memoryMiB: 256 });
  });
});
