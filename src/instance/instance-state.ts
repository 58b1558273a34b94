// An instance's lifecycle as explicit states, and the one rule for which change is allowed. Every
// change goes through `transition`, which returns the record to keep (kamal-proxy's target states).

export type InstanceState = "booting" | "healthy" | "draining" | "stopped" | "failed";

/** Where each state may go next: a stopped or failed instance is never revived (it is replaced). */
const NEXT: Record<InstanceState, InstanceState[]> = {
  booting: ["healthy", "stopped", "failed"],
  healthy: ["draining", "stopped", "failed"],
  draining: ["stopped", "failed"],
  stopped: [],
  failed: [],
};

/** The structured record of a change, as the terminal, the history and the log store take it. */
export interface StateChange {
  msg: "instance state";
  instance: string;
  state: InstanceState;
  was: InstanceState;
  /** Why, when it is not the plain next step: "health check timed out after 120 s". */
  reason?: string;
  at: string;
}

/**
 * @example
 * transition("i-3f2a", "booting", "healthy"); // { msg: "instance state", instance: "i-3f2a", state: "healthy", was: "booting", at: "…" }
 * transition("i-3f2a", "stopped", "healthy"); // throws: a stopped instance cannot become healthy
 */
export function transition(instance: string, was: InstanceState, state: InstanceState, reason?: string, now = new Date()): StateChange {
  if (!NEXT[was].includes(state)) {
    throw new Error(`Instance ${instance} cannot go from ${was} to ${state}; allowed next: ${NEXT[was].join(", ") || "none"}`);
  }
  return { msg: "instance state", instance, state, was, ...(reason ? { reason } : {}), at: now.toISOString() };
}

/** True for states an instance never leaves. */
export function isFinal(state: InstanceState): boolean {
  return NEXT[state].length === 0;
}
