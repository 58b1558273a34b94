// Deploys as data: the steps that move an environment from its serving instances (blue) to new
// ones (green), computed before anything runs, so tests assert on the plan and a restarted server
// can see where a deploy stopped. Blue/green is a rolling deploy in one batch; a canary is a plan
// that stops at a traffic split, and its promotion or abort is a plan of its own.

export interface DeployTimeouts {
  /** Boot to healthy, per instance (healthcheck.startTimeout). */
  healthyMs: number;
  /** Added to the entry point until it reports the instance UP. */
  upMs: number;
  /** In-flight requests of a drained instance may finish for this long. */
  drainMs: number;
  /** SIGTERM to power-off in the guest before the instance is killed. */
  stopMs: number;
}

/** Per-server HAProxy weights while a canary runs: each canary instance takes `canary`, each old one `old`. */
export interface SplitWeights {
  canary: number;
  old: number;
  /** The share of requests (%) these weights give the canaries, when it was computed (canaryWeights). */
  percent?: number;
}

export type DeployStep =
  | { kind: "boot"; instances: string[] }
  | { kind: "wait-healthy"; instances: string[]; timeoutMs: number }
  | { kind: "add-to-entry"; instances: string[] }
  | { kind: "wait-up"; instances: string[]; timeoutMs: number }
  /** One act for all: green starts taking requests and the replaced stop, together (no answer from them after one from green). */
  | { kind: "switch"; instances: string[]; replacing: string[] }
  /** One act: the canaries (`instances`) and the old instances take their weights, so the canaries get their share of requests. */
  | { kind: "split"; instances: string[]; old: string[]; weights: SplitWeights }
  | { kind: "drain"; instances: string[]; timeoutMs: number }
  | { kind: "stop"; instances: string[]; timeoutMs: number };

export type StepKind = DeployStep["kind"];

/** The step after which the new version serves: up to the last one, a failure leaves the old version serving. */
export const SWITCH_STEP: StepKind = "switch";

/** The steps that act on the entry point's traffic as one batch, not per instance. */
export function isTrafficStep(step: DeployStep): step is Extract<DeployStep, { kind: "switch" | "split" }> {
  return step.kind === "switch" || step.kind === "split";
}

/**
 * Blue/green: boot every green instance in parallel, wait until all are healthy, add them to the
 * entry point (taking no requests yet) and wait until it reports them UP, switch the traffic from
 * blue to green at once, then let blue's requests finish and stop it.
 *
 * @example
 * blueGreenPlan({ blue: ["i-1"], green: ["i-2", "i-3"], timeouts }).map((step) => step.kind);
 * // ["boot", "wait-healthy", "add-to-entry", "wait-up", "switch", "drain", "stop"]
 */
export function blueGreenPlan(input: { blue: string[]; green: string[]; timeouts: DeployTimeouts }): DeployStep[] {
  return rollingPlan({ ...input, batch: input.green.length });
}

/**
 * Rolling: green comes in `batch` instances at a time, each batch healthy and UP before it takes
 * the place of as many blue instances, which are then drained and stopped; so the environment never
 * has fewer serving instances than its capacity. The last batch replaces whatever blue is left
 * (after a scale down there were more). Blue/green is the one-batch case.
 *
 * @example
 * rollingPlan({ blue: ["b1", "b2"], green: ["g1", "g2"], batch: 1, timeouts }).map((step) => `${step.kind} ${step.instances}`);
 * // ["boot g1", "wait-healthy g1", "add-to-entry g1", "wait-up g1", "switch g1", "drain b1", "stop b1",
 * //  "boot g2", "wait-healthy g2", "add-to-entry g2", "wait-up g2", "switch g2", "drain b2", "stop b2"]
 */
export function rollingPlan(input: { blue: string[]; green: string[]; batch: number; timeouts: DeployTimeouts }): DeployStep[] {
  const { blue, green, timeouts } = input;
  if (green.length === 0) throw new Error("A deploy needs at least one new instance");
  if (!Number.isInteger(input.batch) || input.batch < 1) throw new Error(`A rolling deploy's batch is a whole number from 1, got ${input.batch}`);
  const batches = Math.ceil(green.length / input.batch);
  return Array.from({ length: batches }, (_, index) => {
    const last = index === batches - 1;
    const newOnes = green.slice(index * input.batch, (index + 1) * input.batch);
    const replacing = blue.slice(index * input.batch, last ? undefined : (index + 1) * input.batch);
    return [...bringIn(newOnes, timeouts), { kind: "switch", instances: newOnes, replacing } as const, ...retire(replacing, timeouts)];
  }).flat();
}

/**
 * A canary: its instances boot and come into the entry point like green, then the split gives them
 * their share of the requests beside the old version. The deploy waits there for a promotion or an
 * abort (canaryEndPlan).
 *
 * @example
 * canaryPlan({ blue: ["b1", "b2"], canary: ["c1"], weights: { canary: 2, old: 3 }, timeouts }).map((step) => step.kind);
 * // ["boot", "wait-healthy", "add-to-entry", "wait-up", "split"]
 */
export function canaryPlan(input: { blue: string[]; canary: string[]; weights: SplitWeights; timeouts: DeployTimeouts }): DeployStep[] {
  if (input.canary.length === 0) throw new Error("A canary needs at least one new instance");
  return [...bringIn(input.canary, input.timeouts), { kind: "split", instances: input.canary, old: input.blue, weights: input.weights }];
}

/**
 * Promoting a canary finishes it as blue/green: the rest of green boots and comes in, then green
 * (canaries included) takes every request and blue is drained and stopped.
 *
 * @example
 * promotePlan({ blue: ["b1", "b2"], canary: ["c1"], rest: ["g2"], timeouts }).map((step) => `${step.kind} ${step.instances}`);
 * // ["boot g2", "wait-healthy g2", "add-to-entry g2", "wait-up g2", "switch c1,g2", "drain b1,b2", "stop b1,b2"]
 */
export function promotePlan(input: { blue: string[]; canary: string[]; rest: string[]; timeouts: DeployTimeouts }): DeployStep[] {
  const green = [...input.canary, ...input.rest];
  return [...(input.rest.length > 0 ? bringIn(input.rest, input.timeouts) : []), { kind: "switch", instances: green, replacing: input.blue }, ...retire(input.blue, input.timeouts)];
}

/**
 * Undoing the new version: its instances leave the entry point (their requests finish) and stop,
 * and the old instances take their full weight again (after a canary's split they had another).
 *
 * @example
 * withdrawPlan({ blue: ["b1"], green: ["c1"], timeouts }).map((step) => step.kind); // ["split", "drain", "stop"]
 */
export function withdrawPlan(input: { blue: string[]; green: string[]; timeouts: DeployTimeouts }): DeployStep[] {
  return [
    { kind: "split", instances: input.green, old: input.blue, weights: { canary: 0, old: 1 } },
    { kind: "drain", instances: input.green, timeoutMs: input.timeouts.drainMs },
    { kind: "stop", instances: input.green, timeoutMs: input.timeouts.stopMs },
  ];
}

/**
 * What undoes a plan that failed at step `failedIndex`: up to its last switch (a failed switch
 * puts itself back), every new instance booted so far is taken out of the entry point (those of
 * earlier batches finish their requests) and destroyed, and the old ones serve; after it the new
 * version serves, so nothing is undone. A canary's plan has no switch: a failure anywhere undoes it.
 */
export function undoPlan(plan: DeployStep[], failedIndex: number, timeouts: DeployTimeouts): DeployStep[] {
  if (failedIndex > lastSwitchIndex(plan)) return [];
  const done = plan.slice(0, failedIndex + 1);
  const green = done.flatMap((step) => (step.kind === "boot" ? step.instances : []));
  const inEntry = new Set(done.flatMap((step) => (step.kind === "add-to-entry" ? step.instances : [])));
  const served = done.some((step, index) => isTrafficStep(step) && index < failedIndex);
  const entered = green.filter((instance) => inEntry.has(instance));
  return [
    ...(entered.length > 0 ? [{ kind: "drain", instances: entered, timeoutMs: served ? timeouts.drainMs : 0 } as const] : []),
    { kind: "stop", instances: green, timeoutMs: timeouts.stopMs },
  ];
}

/** The index of the plan's last switch (the point of no return), or the end for a plan without one. */
export function lastSwitchIndex(plan: DeployStep[]): number {
  for (let index = plan.length - 1; index >= 0; index--) if (plan[index]!.kind === SWITCH_STEP) return index;
  return plan.length;
}

function bringIn(instances: string[], timeouts: DeployTimeouts): DeployStep[] {
  return [
    { kind: "boot", instances },
    { kind: "wait-healthy", instances, timeoutMs: timeouts.healthyMs },
    { kind: "add-to-entry", instances },
    { kind: "wait-up", instances, timeoutMs: timeouts.upMs },
  ];
}

function retire(instances: string[], timeouts: DeployTimeouts): DeployStep[] {
  if (instances.length === 0) return [];
  return [{ kind: "drain", instances, timeoutMs: timeouts.drainMs }, { kind: "stop", instances, timeoutMs: timeouts.stopMs }];
}
