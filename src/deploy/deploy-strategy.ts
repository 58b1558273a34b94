// How a deploy brings in its new version, checked before anything boots: blue/green (all at once),
// rolling (in batches) or a canary (a share of the requests first). Plain data from the request and
// the environment's capacity; a value that cannot work is refused with what would.
import { IngotError } from "../errors.ts";

export type DeployStrategy = "blue-green" | "rolling" | "canary" | "rollback" | "promote";

/** What the caller asked for, as the CLI and the API pass it. */
export interface StrategyRequest {
  strategy?: DeployStrategy;
  /** rolling: new instances per batch (1 unless given). */
  batch?: number;
  /** canary: the share of requests its instances take, how many there are (1 unless given), and ingot's judging. */
  canary?: { percent?: number; instances?: number; autoWindowMs?: number };
}

/** How many new instances boot now, in which batches, and a canary's split. */
export type StrategyShape =
  | { kind: "batches"; strategy: DeployStrategy; instances: number; batch: number }
  | { kind: "canary"; strategy: "canary"; instances: number; percent: number; autoWindowMs: number | null };

/** The window an automatic canary is judged over when none is given. */
export const DEFAULT_CANARY_WINDOW_MS = 5 * 60_000;

/**
 * @example
 * strategyShape({ strategy: "rolling", batch: 2 }, { capacity: 3, serving: 3, environment: "prod" });
 * // { kind: "batches", strategy: "rolling", instances: 3, batch: 2 }
 * strategyShape({ strategy: "canary", canary: { percent: 25 } }, { capacity: 3, serving: 3, environment: "prod" });
 * // { kind: "canary", strategy: "canary", instances: 1, percent: 25, autoWindowMs: null }
 */
export function strategyShape(request: StrategyRequest, environment: { name: string; capacity: number; serving: number }): StrategyShape {
  const strategy = request.strategy ?? "blue-green";
  const { capacity } = environment;
  if (request.batch !== undefined && strategy !== "rolling") refuse(`give a batch size to a ${strategy} deploy`, "--batch is for --strategy rolling");
  if (request.canary !== undefined && strategy !== "canary") refuse(`give a canary share to a ${strategy} deploy`, "--percent and --auto are for --strategy canary");
  if (strategy === "rolling") {
    const batch = request.batch ?? 1;
    if (!Number.isInteger(batch) || batch < 1 || batch > capacity) refuse(`roll out in batches of ${batch} as ${environment.name} runs ${capacity} instance${capacity === 1 ? "" : "s"}`, `Give --batch a whole number from 1 to ${capacity}`);
    return { kind: "batches", strategy, instances: capacity, batch };
  }
  if (strategy !== "canary") return { kind: "batches", strategy, instances: capacity, batch: capacity };
  const canary = request.canary;
  if (canary?.percent === undefined) return refuse("start a canary without its share of requests", "Give --percent N, e.g. --strategy canary --percent 10");
  if (!Number.isInteger(canary.percent) || canary.percent < 1 || canary.percent > 99) refuse(`give a canary ${canary.percent}% of the requests`, "Give --percent a whole number from 1 to 99");
  if (environment.serving === 0) refuse(`start a canary in ${environment.name} as no version serves there to compare it with`, `Deploy it without --strategy canary first (blue/green or rolling)`);
  const instances = canary.instances ?? 1;
  if (!Number.isInteger(instances) || instances < 1 || instances > capacity) refuse(`start ${instances} canary instances as ${environment.name} runs ${capacity}`, `Give --canary-instances a whole number from 1 to ${capacity}`);
  const window = canary.autoWindowMs;
  if (window !== undefined && !(window > 0)) refuse(`judge a canary over ${window} ms`, "Give --auto a window such as 5m or 90s");
  return { kind: "canary", strategy, instances, percent: canary.percent, autoWindowMs: window ?? null };
}

function refuse(what: string, hint: string): never {
  throw new IngotError(`Cannot ${what}`, { code: "deploy-strategy", hint });
}
