// The times `ingot logs --since/--until` take: an age (`30s`, `10m`, `2h`, `7d`) or a date (ISO 8601).
import { IngotError } from "../errors.ts";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 };

/**
 * @example
 * parseTimeBound("10m", Date.parse("2026-11-30T12:00:00Z")); // Date.parse("2026-11-30T11:50:00Z")
 */
export function parseTimeBound(value: string, nowMs: number, option = "--since"): number {
  const age = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value);
  if (age) return nowMs - Math.round(Number(age[1]) * UNITS[age[2]!]!);
  const time = Date.parse(value);
  if (Number.isFinite(time)) return time;
  throw new IngotError(`Cannot read ${option} ${value} as it is neither an age nor a date`, {
    code: "cli-bad-value", exitCode: 2, hint: `Write an age like 30s, 10m, 2h or 7d, or a date like 2026-11-30T10:00:00Z`,
  });
}
