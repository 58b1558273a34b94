// What a restarted control plane does with a deploy the last one did not end, read from the deploy's
// recorded plans and steps: finish it when its last plan got past its last switch (the new version
// serves alone), keep a canary that split its traffic waiting (the split is a resting state), and
// undo anything else (the old version serves alone). Plain data in, a decision out.
import type { EventRecord } from "../state/events.ts";
import { type DeployStep, lastSwitchIndex, SWITCH_STEP } from "./deploy-plan.ts";

export type ResumeDecision = "finish" | "undo" | "canary";

/**
 * @example
 * resumeDecision(events.list({ deployment: 7, limit: 100_000 }), { canary: null });
 * // "finish" when the plan's last switch was done, else "undo"
 */
export function resumeDecision(events: EventRecord[], deployment: { canary: unknown }): ResumeDecision {
  const planAt = findLast(events, (event) => event.kind === "deploy-plan");
  const done = (after: number, index: (step: Record<string, unknown>) => boolean): boolean => events.slice(after + 1)
    .some((event) => event.kind === "deploy-step" && event.data.phase === "deploy" && event.data.status === "done" && index(event.data));
  if (planAt < 0) {
    // Recorded before plans were: blue/green, whose only switch decides.
    return done(-1, (step) => step.kind === SWITCH_STEP) ? "finish" : "undo";
  }
  const { stage, steps } = events[planAt]!.data as { stage: string; steps: DeployStep[] };
  if (stage === "canary") return deployment.canary ? "canary" : "undo";
  if (stage === "withdraw") return "undo";
  const last = lastSwitchIndex(steps);
  return last < steps.length && done(planAt, (step) => step.index === last) ? "finish" : "undo";
}

function findLast<T>(items: T[], match: (item: T) => boolean): number {
  for (let index = items.length - 1; index >= 0; index--) if (match(items[index]!)) return index;
  return -1;
}
