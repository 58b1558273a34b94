// Retention of the log store, per environment: lines older than maxAgeMs go, then the oldest lines
// of an environment above maxBytes until it fits. Computed as a plan (data), run by the store.
import { type EnvironmentUsage, type LogStore, ROW_OVERHEAD_BYTES } from "./log-store.ts";

export interface RetentionPolicy { maxAgeMs: number; maxBytes: number }

export const DEFAULT_RETENTION: RetentionPolicy = { maxAgeMs: 7 * 24 * 3600_000, maxBytes: 1024 ** 3 };

export type RetentionStep =
  | { kind: "older-than"; environment: string; beforeMs: number }
  | { kind: "shrink"; environment: string; maxBytes: number };

/**
 * @example
 * retentionPlan([{ environment: "prod", lines: 9, bytes: 2e9 }], () => DEFAULT_RETENTION, Date.now());
 * // [{ kind: "older-than", environment: "prod", beforeMs: … }, { kind: "shrink", environment: "prod", maxBytes: 1073741824 }]
 */
export function retentionPlan(usage: EnvironmentUsage[], policyOf: (environment: string) => RetentionPolicy, nowMs: number): RetentionStep[] {
  return usage.flatMap((entry): RetentionStep[] => {
    const policy = policyOf(entry.environment);
    const steps: RetentionStep[] = [{ kind: "older-than", environment: entry.environment, beforeMs: nowMs - policy.maxAgeMs }];
    if (entry.bytes > policy.maxBytes) steps.push({ kind: "shrink", environment: entry.environment, maxBytes: policy.maxBytes });
    return steps;
  });
}

/** Runs the plan; returns the lines deleted. Age goes first, so a shrink sees what age left. */
export function applyRetention(store: LogStore, steps: RetentionStep[]): number {
  let deleted = 0;
  for (const step of steps) {
    if (step.kind === "older-than") {
      deleted += store.deleteLines(step.environment, "time_ms < @before", { before: step.beforeMs });
      continue;
    }
    const usage = store.usage().environments.find((entry) => entry.environment === step.environment);
    const excess = (usage?.bytes ?? 0) - step.maxBytes;
    if (excess <= 0) continue;
    // The oldest lines whose running size reaches the excess: the first id past it is the cut.
    const cut = store.sqlite.prepare<[string, number], { id: number }>(
      `SELECT id FROM (SELECT id, sum(length(CAST(message AS BLOB)) + coalesce(length(fields), 0) + ${ROW_OVERHEAD_BYTES}) OVER (ORDER BY id) AS running FROM lines WHERE environment = ?) WHERE running >= ? LIMIT 1`,
    ).get(step.environment, excess);
    if (cut) deleted += store.deleteLines(step.environment, "id <= @cut", { cut: cut.id });
  }
  return deleted;
}
