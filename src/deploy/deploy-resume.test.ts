import { test } from "node:test";
import assert from "node:assert/strict";
import type { EventRecord } from "../state/events.ts";
import { canaryPlan, type DeployStep, lastSwitchIndex, rollingPlan } from "./deploy-plan.ts";
import { resumeDecision } from "./deploy-resume.ts";

const timeouts = { healthyMs: 1, upMs: 1, drainMs: 1, stopMs: 1 };
let id = 0;
const event = (kind: string, data: Record<string, unknown>): EventRecord => ({ id: ++id, timeMs: id, environment: "prod", instance: null, deployment: 1, kind, data });
const plan = (stage: string, steps: DeployStep[]): EventRecord => event("deploy-plan", { type: "plan", stage, steps });
const done = (steps: DeployStep[], upTo: number): EventRecord[] => steps.slice(0, upTo + 1).map((step, index) => event("deploy-step", { phase: "deploy", index, kind: step.kind, status: "done" }));

test("a rolling deploy is finished only past its last switch; before it, even after earlier batches switched, it is undone", () => {
  const steps = rollingPlan({ blue: ["b1", "b2"], green: ["g1", "g2"], batch: 1, timeouts });
  const lastSwitch = lastSwitchIndex(steps);
  assert.equal(resumeDecision([plan("deploy", steps), ...done(steps, 4)], { canary: null }), "undo", "the first batch switched, the second not");
  assert.equal(resumeDecision([plan("deploy", steps), ...done(steps, lastSwitch)], { canary: null }), "finish");
  assert.equal(resumeDecision([plan("deploy", steps)], { canary: null }), "undo");
});

test("a canary that split rests; one that did not, or a withdrawal, is undone; a promotion past its switch is finished", () => {
  const canary = canaryPlan({ blue: ["b1"], canary: ["c1"], weights: { canary: 1, old: 3 }, timeouts });
  const split = { instances: ["c1"] };
  assert.equal(resumeDecision([plan("canary", canary), ...done(canary, 4)], { canary: split }), "canary");
  assert.equal(resumeDecision([plan("canary", canary), ...done(canary, 2)], { canary: null }), "undo");
  const promote: DeployStep[] = [{ kind: "switch", instances: ["c1"], replacing: ["b1"] }, { kind: "drain", instances: ["b1"], timeoutMs: 1 }];
  assert.equal(resumeDecision([plan("canary", canary), ...done(canary, 4), plan("promote", promote)], { canary: split }), "undo", "a promotion cut short before its switch");
  assert.equal(resumeDecision([plan("canary", canary), ...done(canary, 4), plan("promote", promote), ...done(promote, 0)], { canary: split }), "finish");
  assert.equal(resumeDecision([plan("canary", canary), ...done(canary, 4), plan("withdraw", [])], { canary: split }), "undo");
});

test("a deploy recorded before plans were is finished once its switch was done", () => {
  assert.equal(resumeDecision([event("deploy-step", { phase: "deploy", index: 4, kind: "switch", status: "done" })], { canary: null }), "finish");
  assert.equal(resumeDecision([event("deploy-step", { phase: "deploy", index: 0, kind: "boot", status: "done" })], { canary: null }), "undo");
});
