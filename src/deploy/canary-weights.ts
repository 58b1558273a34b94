// Interim: replaced by the canary statistics work's version on merge.
import type { SplitWeights } from "./deploy-plan.ts";

/** Per-server weights (HAProxy's 0..256) that give `canaries` instances `percent` of the requests beside `olds`. */
export function canaryWeights(input: { percent: number; canaries: number; olds: number }): SplitWeights {
  let best = { canary: 1, old: 1, error: Infinity };
  for (let canary = 1; canary <= 256; canary++) {
    const old = Math.round((canary * input.canaries * (100 - input.percent)) / (input.percent * input.olds));
    if (old < 1 || old > 256) continue;
    const error = Math.abs((100 * canary * input.canaries) / (canary * input.canaries + old * input.olds) - input.percent);
    if (error < best.error - 1e-9) best = { canary, old, error };
  }
  return { canary: best.canary, old: best.old };
}
