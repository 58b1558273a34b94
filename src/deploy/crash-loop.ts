// The crash-loop rule as data: an image whose instances fail K times within W minutes in an
// environment is not replaced again (each replacement would fail the same way, and boots cost),
// and the environment is marked degraded until a deploy or a stop.
import type { Degraded } from "../state/environments.ts";

export interface CrashLoopRule {
  /** This many failures of the serving image… */
  failures: number;
  /** …within this long make a crash loop. */
  windowMs: number;
}

/** Three failures in five minutes: a crash or two is replaced (a leak, a bad request); a third is a pattern. */
export const DEFAULT_CRASH_LOOP: CrashLoopRule = { failures: 3, windowMs: 5 * 60_000 };

/** One instance of the image that ended without being stopped, or never became healthy. */
export interface InstanceFailure {
  timeMs: number;
  instance: string;
  reason: string;
}

/**
 * The figures of a crash loop when the failures break the rule at `nowMs`, else undefined. Failures
 * before `sinceMs` (when the serving deploy finished) belong to an earlier deploy and never count.
 *
 * @example
 * crashLoop([{ timeMs: 0, … }, { timeMs: 60_000, … }, { timeMs: 90_000, instance: "i-3", reason: "its app exited with status 1" }], DEFAULT_CRASH_LOOP, { nowMs: 91_000, sinceMs: 0 });
 * // { failures: 3, windowMs: 300000, lastReason: "its app exited with status 1", instances: ["i-1", "i-2", "i-3"] }
 */
export function crashLoop(failures: InstanceFailure[], rule: CrashLoopRule, at: { nowMs: number; sinceMs: number }): { failures: number; windowMs: number; lastReason: string; instances: string[] } | undefined {
  const windowStart = Math.max(at.sinceMs, at.nowMs - rule.windowMs);
  const recent = failures.filter((failure) => failure.timeMs >= windowStart && failure.timeMs <= at.nowMs).sort((a, b) => a.timeMs - b.timeMs);
  if (recent.length < rule.failures) return undefined;
  return { failures: recent.length, windowMs: rule.windowMs, lastReason: recent.at(-1)!.reason, instances: recent.map((failure) => failure.instance) };
}

/**
 * One line for `ingot status` and the event log.
 *
 * @example
 * degradedSummary({ imageRef: "hello:2.0.0", failures: 3, windowMs: 300_000, lastReason: "its app exited with status 1", … });
 * // "3 instances of hello:2.0.0 failed within 5 min; last: its app exited with status 1"
 */
export function degradedSummary(degraded: Pick<Degraded, "imageRef" | "failures" | "windowMs" | "lastReason">): string {
  const window = degraded.windowMs % 60_000 === 0 ? `${degraded.windowMs / 60_000} min` : `${Math.round(degraded.windowMs / 1000)} s`;
  return `${degraded.failures} instances of ${degraded.imageRef} failed within ${window}; last: ${degraded.lastReason}`;
}
