// Runs a deploy plan step by step through narrow actions (the provider and the entry point stand
// behind them), emitting typed events for the terminal and the history. A failure up to the last
// switch runs the undo plan, so the old version keeps serving; after it, the new version serves.
import { type DeployStep, type DeployTimeouts, isTrafficStep, type SplitWeights, type StepKind, undoPlan } from "./deploy-plan.ts";

/** What a step does to one instance; each throws an Error whose message says why it gave up. */
export interface DeployActions {
  boot(instance: string, signal: AbortSignal): Promise<void>;
  waitHealthy(instance: string, timeoutMs: number, signal: AbortSignal): Promise<void>;
  addToEntry(instance: string): Promise<void>;
  waitUp(instance: string, timeoutMs: number, signal: AbortSignal): Promise<void>;
  /** Green takes the requests and blue none, in one act; on failure it leaves blue serving. */
  switchTraffic(green: string[], blue: string[]): Promise<void>;
  /** The canaries and the old instances take their weights, in one act; on failure it leaves the weights as they were. */
  split(canary: string[], old: string[], weights: SplitWeights): Promise<void>;
  drain(instance: string, timeoutMs: number): Promise<void>;
  stop(instance: string, timeoutMs: number): Promise<void>;
}

export type DeployEvent =
  | { type: "step"; phase: "deploy" | "undo"; index: number; kind: StepKind; instances: string[]; status: "started" }
  | { type: "step"; phase: "deploy" | "undo"; index: number; kind: StepKind; instances: string[]; status: "done"; durationMs: number }
  | { type: "step"; phase: "deploy" | "undo"; index: number; kind: StepKind; instances: string[]; status: "failed"; durationMs: number; reason: string; instance: string }
  | { type: "finished"; outcome: "succeeded" | "failed"; durationMs: number; reason?: string };

export interface DeployOutcome {
  outcome: "succeeded" | "failed";
  reason?: string;
  /** The instance whose failure decided the outcome, for its last console lines. */
  failedInstance?: string;
  durationMs: number;
}

/**
 * @example
 * const outcome = await runDeploy(blueGreenPlan({ blue, green, timeouts }), actions, { timeouts, emit: (event) => history.add(event) });
 */
export async function runDeploy(plan: DeployStep[], actions: DeployActions, options: { timeouts: DeployTimeouts; emit?: (event: DeployEvent) => void; signal?: AbortSignal }): Promise<DeployOutcome> {
  const started = performance.now();
  const emit = options.emit ?? (() => {});
  const signal = options.signal ?? new AbortController().signal;
  const { failure, noted } = await runSteps(plan, "deploy", actions, emit, signal);
  if (failure) {
    await runSteps(undoPlan(plan, failure.index, options.timeouts), "undo", actions, emit, signal);
    const durationMs = performance.now() - started;
    emit({ type: "finished", outcome: "failed", durationMs, reason: failure.reason });
    return { outcome: "failed", reason: failure.reason, failedInstance: failure.instance, durationMs };
  }
  // An old instance that would not drain or stop is reported, not undone: the new version serves.
  const durationMs = performance.now() - started;
  emit({ type: "finished", outcome: "succeeded", durationMs, ...(noted ? { reason: noted.reason } : {}) });
  return { outcome: "succeeded", durationMs, ...(noted ? { reason: noted.reason, failedInstance: noted.instance } : {}) };
}

/**
 * Runs every step of a plan that takes something back (an aborted canary), going on past a failed
 * step; resolves with the first failure's reason, if any.
 */
export async function runUndo(plan: DeployStep[], actions: DeployActions, options: { emit?: (event: DeployEvent) => void; signal?: AbortSignal } = {}): Promise<string | undefined> {
  const { failure } = await runSteps(plan, "undo", actions, options.emit ?? (() => {}), options.signal ?? new AbortController().signal);
  return failure?.reason;
}

interface StepFailure { index: number; reason: string; instance: string }

/** A deploy's drain and stop act on the instances it replaces: one that will not go is noted, and the deploy goes on (it is killed at the timeout). */
const NOTED_STEPS: ReadonlySet<StepKind> = new Set(["drain", "stop"]);

/** `failure`: the step that stopped a deploy (the first that failed, in an undo); `noted`: a replaced instance that would not go. */
async function runSteps(steps: DeployStep[], phase: "deploy" | "undo", actions: DeployActions, emit: (event: DeployEvent) => void, signal: AbortSignal): Promise<{ failure?: StepFailure; noted?: StepFailure }> {
  let failure: StepFailure | undefined;
  let noted: StepFailure | undefined;
  for (const [index, step] of steps.entries()) {
    const stepStarted = performance.now();
    emit({ type: "step", phase, index, kind: step.kind, instances: step.instances, status: "started" });
    const results = isTrafficStep(step)
      ? [await traffic(step, actions).then((value) => ({ status: "fulfilled", value }) as const, (reason: unknown) => ({ status: "rejected", reason }) as const)]
      : await Promise.allSettled(step.instances.map((instance) => perform(step, instance, actions, signal)));
    const failed = results.findIndex((result) => result.status === "rejected");
    const durationMs = performance.now() - stepStarted;
    if (failed < 0) {
      emit({ type: "step", phase, index, kind: step.kind, instances: step.instances, status: "done", durationMs });
      continue;
    }
    const reason = ((results[failed] as PromiseRejectedResult).reason as Error).message;
    const instance = step.instances[failed] ?? step.instances[0] ?? "";
    emit({ type: "step", phase, index, kind: step.kind, instances: step.instances, status: "failed", durationMs, reason, instance });
    // Undo goes on through every step (it cleans up); a deploy stops at its first failure, except
    // in retiring what it replaced, which it reports when it is done.
    if (phase === "deploy" && NOTED_STEPS.has(step.kind)) {
      noted ??= { index, reason, instance };
      continue;
    }
    failure ??= { index, reason, instance };
    if (phase === "deploy") break;
  }
  return { ...(failure ? { failure } : {}), ...(noted ? { noted } : {}) };
}

function traffic(step: Extract<DeployStep, { kind: "switch" | "split" }>, actions: DeployActions): Promise<void> {
  return step.kind === "switch" ? actions.switchTraffic(step.instances, step.replacing) : actions.split(step.instances, step.old, step.weights);
}

function perform(step: Exclude<DeployStep, { kind: "switch" | "split" }>, instance: string, actions: DeployActions, signal: AbortSignal): Promise<void> {
  switch (step.kind) {
    case "boot": return actions.boot(instance, signal);
    case "wait-healthy": return actions.waitHealthy(instance, step.timeoutMs, signal);
    case "add-to-entry": return actions.addToEntry(instance);
    case "wait-up": return actions.waitUp(instance, step.timeoutMs, signal);
    case "drain": return actions.drain(instance, step.timeoutMs);
    case "stop": return actions.stop(instance, step.timeoutMs);
  }
}
