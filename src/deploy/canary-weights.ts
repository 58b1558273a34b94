// The HAProxy weights that give a canary its share of the requests: round robin sends each server
// requests in proportion to its weight, so the canaries' share is canaries×canary / (canaries×canary
// + olds×old). HAProxy takes weights of 0 to 256 (the `weight` server option), hence integers.
import { IngotError } from "../errors.ts";

/** HAProxy's largest server weight. */
export const MAX_WEIGHT = 256;

export interface CanaryWeights {
  /** The weight of each canary instance. */
  canary: number;
  /** The weight of each instance of the old version. */
  old: number;
  /** The share of requests (%) the canaries get with these weights, which may differ from the one asked. */
  percent: number;
}

/**
 * The per-server weights that come nearest to `percent`% of the requests for the canaries,
 * the smallest such pair. Weights between 1 and 256 cannot give every share: 32 canaries beside
 * one old instance get at least 11.1% (32×1 against 1×256); a share out of reach gives the nearest
 * there is, and `percent` says which.
 *
 * @example
 * canaryWeights({ percent: 25, canaries: 1, olds: 1 }); // { canary: 1, old: 3, percent: 25 }
 * canaryWeights({ percent: 25, canaries: 1, olds: 2 }); // { canary: 2, old: 3, percent: 25 }
 * canaryWeights({ percent: 10, canaries: 1, olds: 3 }); // { canary: 1, old: 3, percent: 10 }
 */
export function canaryWeights({ percent, canaries, olds }: { percent: number; canaries: number; olds: number }): CanaryWeights {
  if (!(percent >= 0 && percent <= 100)) {
    throw new IngotError(`Cannot send a canary ${percent}% of the requests as a share must be between 0 and 100: ${percent}`, { code: "canary-percent-invalid", hint: "Give --percent a number from 1 to 99" });
  }
  for (const [what, count] of [["canaries", canaries], ["old instances", olds]] as const) {
    if (!Number.isInteger(count) || count < 1) {
      throw new IngotError(`Cannot weigh a canary's share with ${count} ${what} as it needs at least one of each: ${count}`, { code: "canary-count-invalid", hint: "A canary runs beside the old version: both need an instance" });
    }
  }
  if (percent === 0) return { canary: 0, old: 1, percent: 0 };
  if (percent === 100) return { canary: 1, old: 0, percent: 100 };
  const target = percent / 100;
  const share = (canary: number, old: number): number => (canaries * canary) / (canaries * canary + olds * old);
  let best = { canary: 1, old: 1, error: Infinity };
  // For each old weight the nearest canary weight is one of the two around the exact (real) one,
  // as the share grows with it: 512 candidates instead of every pair.
  for (let old = 1; old <= MAX_WEIGHT; old++) {
    const exact = (target * olds * old) / ((1 - target) * canaries);
    for (const canary of new Set([Math.floor(exact), Math.ceil(exact)].map((weight) => Math.min(MAX_WEIGHT, Math.max(1, weight))))) {
      const error = Math.abs(share(canary, old) - target);
      // A tie (up to rounding) keeps the smaller pair: 1 and 3 rather than 2 and 6.
      if (error < best.error - 1e-12 || (Math.abs(error - best.error) <= 1e-12 && canary + old < best.canary + best.old)) best = { canary, old, error };
    }
  }
  return { canary: best.canary, old: best.old, percent: share(best.canary, best.old) * 100 };
}
