import { test } from "node:test";
import assert from "node:assert/strict";
import { isFinal, transition } from "./instance-state.ts";

test("an instance moves booting → healthy → draining → stopped, and a stopped or failed one never comes back", () => {
  const at = new Date("2026-01-01T00:00:00Z");
  assert.deepEqual(transition("i-1", "booting", "healthy", undefined, at), { msg: "instance state", instance: "i-1", state: "healthy", was: "booting", at: at.toISOString() });
  assert.equal(transition("i-1", "healthy", "draining").state, "draining");
  assert.equal(transition("i-1", "draining", "stopped").state, "stopped");
  assert.equal(transition("i-1", "booting", "failed", "health check timed out after 120 s").reason, "health check timed out after 120 s");
  assert.throws(() => transition("i-1", "stopped", "healthy"), /cannot go from stopped to healthy; allowed next: none/);
  assert.throws(() => transition("i-1", "booting", "draining"), /allowed next: healthy, stopped, failed/);
  assert.deepEqual((["booting", "healthy", "draining", "stopped", "failed"] as const).map(isFinal), [false, false, false, true, true]);
});
