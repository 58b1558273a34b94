// A deploy as data: the steps that move an environment from its serving instances (blue) to new
// ones (green), computed before anything runs, so tests assert on the plan and a restarted server
// can see where a deploy stopped.

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

export type DeployStep =
  | { kind: "boot"; instances: string[] }
  | { kind: "wait-healthy"; instances: string[]; timeoutMs: number }
  | { kind: "add-to-entry"; instances: string[] }
  | { kind: "wait-up"; instances: string[]; timeoutMs: number }
  /** One act for all: green starts taking requests and blue stops, together (no answer from blue after one from green). */
  | { kind: "switch"; instances: string[]; replacing: string[] }
  | { kind: "drain"; instances: string[]; timeoutMs: number }
  | { kind: "stop"; instances: string[]; timeoutMs: number };

/** The step after which the new version serves: up to it, a failure leaves the old version alone. */
export const SWITCH_STEP: DeployStep["kind"] = "switch";

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
  const { blue, green, timeouts } = input;
  if (green.length === 0) throw new Error("A deploy needs at least one new instance");
  return [
    { kind: "boot", instances: green },
    { kind: "wait-healthy", instances: green, timeoutMs: timeouts.healthyMs },
    { kind: "add-to-entry", instances: green },
    { kind: "wait-up", instances: green, timeoutMs: timeouts.upMs },
    { kind: "switch", instances: green, replacing: blue },
    ...(blue.length > 0
      ? [{ kind: "drain", instances: blue, timeoutMs: timeouts.drainMs } as const, { kind: "stop", instances: blue, timeoutMs: timeouts.stopMs } as const]
      : []),
  ];
}

/**
 * What undoes a plan that failed at step `failedIndex`: up to the switch (a failed switch puts
 * itself back), green is taken out of the entry point (if it got there) and destroyed, and blue
 * keeps serving. After the switch green serves, so nothing is undone.
 */
export function undoPlan(plan: DeployStep[], failedIndex: number, timeouts: DeployTimeouts): DeployStep[] {
  const switchIndex = plan.findIndex((step) => step.kind === SWITCH_STEP);
  if (failedIndex > switchIndex) return [];
  const green = plan[0]!.instances;
  const reachedEntry = plan.slice(0, failedIndex + 1).some((step) => step.kind === "add-to-entry");
  return [
    ...(reachedEntry ? [{ kind: "drain", instances: green, timeoutMs: 0 } as const] : []),
    { kind: "stop", instances: green, timeoutMs: timeouts.stopMs },
  ];
}
