import { test } from "node:test";
import assert from "node:assert/strict";
import { blueGreenPlan, type DeployTimeouts, undoPlan } from "./deploy-plan.ts";
import { type DeployActions, type DeployEvent, runDeploy } from "./deploy-runner.ts";

const timeouts: DeployTimeouts = { healthyMs: 120_000, upMs: 10_000, drainMs: 30_000, stopMs: 10_000 };

test("blue/green boots green, waits healthy, switches, then drains and stops blue", () => {
  const plan = blueGreenPlan({ blue: ["i-1"], green: ["i-2", "i-3"], timeouts });
  assert.deepEqual(plan.map((step) => [step.kind, step.instances]), [
    ["boot", ["i-2", "i-3"]], ["wait-healthy", ["i-2", "i-3"]], ["add-to-entry", ["i-2", "i-3"]], ["wait-up", ["i-2", "i-3"]], ["switch", ["i-2", "i-3"]], ["drain", ["i-1"]], ["stop", ["i-1"]],
  ]);
  assert.deepEqual(blueGreenPlan({ blue: [], green: ["i-2"], timeouts }).map((step) => step.kind), ["boot", "wait-healthy", "add-to-entry", "wait-up", "switch"], "a first deploy has no blue");
  assert.deepEqual(plan.find((step) => step.kind === "switch"), { kind: "switch", instances: ["i-2", "i-3"], replacing: ["i-1"] });
  assert.throws(() => blueGreenPlan({ blue: ["i-1"], green: [], timeouts }), /at least one new instance/);
});

test("undo before the switch destroys green (out of the entry point first if it got there); after it, nothing", () => {
  const plan = blueGreenPlan({ blue: ["i-1"], green: ["i-2"], timeouts });
  assert.deepEqual(undoPlan(plan, 1, timeouts).map((step) => [step.kind, step.instances]), [["stop", ["i-2"]]]);
  assert.deepEqual(undoPlan(plan, 3, timeouts).map((step) => [step.kind, step.instances]), [["drain", ["i-2"]], ["stop", ["i-2"]]]);
  assert.deepEqual(undoPlan(plan, 4, timeouts).map((step) => [step.kind, step.instances]), [["drain", ["i-2"]], ["stop", ["i-2"]]], "a failed switch is undone too");
  assert.deepEqual(undoPlan(plan, 5, timeouts), []);
});

/** A recording stand-in for the provider and the entry point: the runner's logic alone is under test here. */
function recordingActions(failures: Partial<Record<keyof DeployActions, string>> = {}): DeployActions & { calls: string[] } {
  const calls: string[] = [];
  const act = (name: keyof DeployActions) => async (instance: string): Promise<void> => {
    calls.push(`${name} ${instance}`);
    const failing = failures[name];
    if (failing && failing.split(" ")[0] === instance) throw new Error(failing.split(" ").slice(1).join(" "));
  };
  return {
    calls, boot: act("boot"), waitHealthy: act("waitHealthy"), addToEntry: act("addToEntry"), waitUp: act("waitUp"), drain: act("drain"), stop: act("stop"),
    switchTraffic: async (green, blue) => act("switchTraffic")(`${green.join(",")}>${blue.join(",")}`),
  };
}

test("a deploy whose green never gets healthy is undone, blue untouched, and the reason names the instance", async () => {
  const actions = recordingActions({ waitHealthy: "i-3 health check /health answered 500 for 120 s" });
  const events: DeployEvent[] = [];
  const outcome = await runDeploy(blueGreenPlan({ blue: ["i-1"], green: ["i-2", "i-3"], timeouts }), actions, { timeouts, emit: (event) => events.push(event) });
  assert.equal(outcome.outcome, "failed");
  assert.equal(outcome.failedInstance, "i-3");
  assert.match(outcome.reason ?? "", /answered 500/);
  assert.deepEqual(actions.calls, ["boot i-2", "boot i-3", "waitHealthy i-2", "waitHealthy i-3", "stop i-2", "stop i-3"]);
  assert.ok(!actions.calls.some((call) => call.endsWith("i-1")), "blue never touched");
  assert.deepEqual(events.filter((event) => event.type === "step").map((event) => event.type === "step" && `${event.phase} ${event.kind} ${event.status}`), [
    "deploy boot started", "deploy boot done", "deploy wait-healthy started", "deploy wait-healthy failed", "undo stop started", "undo stop done",
  ]);
  assert.equal(events.at(-1)?.type, "finished");
});

test("a deploy that switched succeeds even when an old instance will not stop, and says so", async () => {
  const actions = recordingActions({ stop: "i-1 QEMU did not exit within 10 s" });
  const outcome = await runDeploy(blueGreenPlan({ blue: ["i-1"], green: ["i-2"], timeouts }), actions, { timeouts });
  assert.equal(outcome.outcome, "succeeded");
  assert.match(outcome.reason ?? "", /did not exit/);
  assert.deepEqual(actions.calls, ["boot i-2", "waitHealthy i-2", "addToEntry i-2", "waitUp i-2", "switchTraffic i-2>i-1", "drain i-1", "stop i-1"]);
});
