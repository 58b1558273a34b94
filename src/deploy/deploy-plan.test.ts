import { test } from "node:test";
import assert from "node:assert/strict";
import { blueGreenPlan, canaryPlan, type DeployStep, type DeployTimeouts, promotePlan, rollingPlan, undoPlan, withdrawPlan } from "./deploy-plan.ts";
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

const shape = (plan: DeployStep[]): string[] => plan.map((step) => `${step.kind} ${step.instances.join(",")}${step.kind === "switch" ? `>${step.replacing.join(",")}` : ""}`);

test("rolling brings one batch in before it replaces as many old instances, and the last batch replaces the rest", () => {
  assert.deepEqual(shape(rollingPlan({ blue: ["b1", "b2", "b3"], green: ["g1", "g2", "g3"], batch: 1, timeouts })), [
    "boot g1", "wait-healthy g1", "add-to-entry g1", "wait-up g1", "switch g1>b1", "drain b1", "stop b1",
    "boot g2", "wait-healthy g2", "add-to-entry g2", "wait-up g2", "switch g2>b2", "drain b2", "stop b2",
    "boot g3", "wait-healthy g3", "add-to-entry g3", "wait-up g3", "switch g3>b3", "drain b3", "stop b3",
  ]);
  assert.deepEqual(shape(rollingPlan({ blue: ["b1", "b2", "b3", "b4"], green: ["g1", "g2"], batch: 1, timeouts })).filter((line) => line.startsWith("switch")), ["switch g1>b1", "switch g2>b2,b3,b4"], "after a scale down the last batch replaces the rest");
  assert.deepEqual(shape(rollingPlan({ blue: ["b1"], green: ["g1", "g2", "g3"], batch: 2, timeouts })).filter((line) => /^(switch|stop)/.test(line)), ["switch g1,g2>b1", "stop b1", "switch g3>"]);
  assert.deepEqual(rollingPlan({ blue: ["b1"], green: ["g1", "g2"], batch: 2, timeouts }), blueGreenPlan({ blue: ["b1"], green: ["g1", "g2"], timeouts }), "blue/green is one batch");
  assert.throws(() => rollingPlan({ blue: [], green: ["g1"], batch: 0, timeouts }), /batch/);
});

test("undoing a rolling deploy takes out every new instance booted so far, and lets those that served finish their requests", () => {
  const plan = rollingPlan({ blue: ["b1", "b2"], green: ["g1", "g2"], batch: 1, timeouts });
  const failedAt = plan.findIndex((step, index) => index > 7 && step.kind === "wait-healthy");
  assert.deepEqual(undoPlan(plan, failedAt, timeouts), [{ kind: "drain", instances: ["g1"], timeoutMs: timeouts.drainMs }, { kind: "stop", instances: ["g1", "g2"], timeoutMs: timeouts.stopMs }]);
  assert.deepEqual(undoPlan(plan, plan.length - 2, timeouts), [], "past the last switch the new version serves");
});

test("a canary comes in like green and stops at the split; promotion brings the rest in and switches; withdrawal puts the old weights back", () => {
  const canary = canaryPlan({ blue: ["b1", "b2"], canary: ["c1"], weights: { canary: 2, old: 3 }, timeouts });
  assert.deepEqual(shape(canary), ["boot c1", "wait-healthy c1", "add-to-entry c1", "wait-up c1", "split c1"]);
  assert.deepEqual(canary.at(-1), { kind: "split", instances: ["c1"], old: ["b1", "b2"], weights: { canary: 2, old: 3 } });
  assert.deepEqual(shape(undoPlan(canary, 4, timeouts)), ["drain c1", "stop c1"], "a canary has no switch: a failed split is undone");
  assert.deepEqual(shape(promotePlan({ blue: ["b1", "b2"], canary: ["c1"], rest: ["g2"], timeouts })), [
    "boot g2", "wait-healthy g2", "add-to-entry g2", "wait-up g2", "switch c1,g2>b1,b2", "drain b1,b2", "stop b1,b2",
  ]);
  assert.deepEqual(shape(promotePlan({ blue: ["b1"], canary: ["c1"], rest: [], timeouts })), ["switch c1>b1", "drain b1", "stop b1"]);
  assert.deepEqual(withdrawPlan({ blue: ["b1"], green: ["c1"], timeouts })[0], { kind: "split", instances: ["c1"], old: ["b1"], weights: { canary: 0, old: 1 } });
});

test("a rolling deploy whose old instance will not stop goes on and says so; one whose second batch fails is undone", async () => {
  const stuck = recordingActions({ stop: "b1 QEMU did not exit within 10 s" });
  const plan = rollingPlan({ blue: ["b1", "b2"], green: ["g1", "g2"], batch: 1, timeouts });
  const outcome = await runDeploy(plan, stuck, { timeouts });
  assert.equal(outcome.outcome, "succeeded");
  assert.match(outcome.reason ?? "", /did not exit/);
  assert.ok(stuck.calls.includes("switchTraffic g2>b2"), "the next batch went on");
  const failing = recordingActions({ waitUp: "g2 HAProxy did not report it UP" });
  const failed = await runDeploy(plan, failing, { timeouts });
  assert.equal(failed.outcome, "failed");
  assert.deepEqual(failing.calls.slice(failing.calls.indexOf("waitUp g2") + 1).sort(), ["drain g1", "drain g2", "stop g1", "stop g2"], "every new instance is taken out; the old b2 serves");
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
    split: async (canary, old, weights) => act("split")(`${canary.join(",")}=${weights.canary}/${old.join(",")}=${weights.old}`),
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
