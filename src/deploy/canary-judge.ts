// Whether a canary goes on, is promoted or is aborted, from the requests of both versions since it
// started: abort as soon as it is worse than the old version beyond a tolerance, promote once its
// window is over and it is not, and otherwise wait. The reason is a sentence with the figures that
// decided, recorded with the deployment.

/** A version's requests since the canary started (CanaryStats.version or show stat's counters). */
export interface VersionRequests {
  /** The version's name in reasons: "1.0.0". */
  version: string;
  requests: number;
  /** Requests answered with a 5xx. */
  serverErrors: number;
  /** Undefined while none of its requests was timed. */
  p95Ms: number | undefined;
}

export interface CanaryPolicy {
  /** Percentage points the canary's 5xx rate may be above the old version's: 1 allows 0.5% against 0%, not 1.6%. */
  errorRateTolerancePt: number;
  /** How many times the old version's p95 the canary's may be… */
  latencyFactor: number;
  /** …or this many ms above it, whichever is more: a few ms apart is noise for fast requests. */
  latencyFloorMs: number;
  /** Requests the canary has had before it is judged either way. */
  minRequests: number;
  /** How long the canary runs before it is promoted. */
  windowMs: number;
}

export const DEFAULT_CANARY_POLICY: CanaryPolicy = { errorRateTolerancePt: 1, latencyFactor: 1.2, latencyFloorMs: 5, minRequests: 50, windowMs: 5 * 60_000 };

export type CanaryVerdict = "promote" | "abort" | "wait";

/** A version's figures as judged: errorRatePct is 5xx of requests in %, 0 without a request. */
export interface JudgedVersion extends VersionRequests { errorRatePct: number }

/** Everything a judgement rests on, to record beside it. */
export interface CanaryFigures {
  old: JudgedVersion;
  canary: JudgedVersion;
  elapsedMs: number;
  policy: CanaryPolicy;
  /** The most the canary's figures may be: its 5xx rate (%) and p95 (undefined: the old version has none to compare with). */
  limits: { errorRatePct: number; p95Ms: number | undefined };
}

export interface CanaryJudgement { verdict: CanaryVerdict; reason: string; figures: CanaryFigures }

/**
 * @example
 * judgeCanary({ old: { version: "1.0.0", requests: 1500, serverErrors: 0, p95Ms: 40 },
 *   canary: { version: "1.1.0", requests: 500, serverErrors: 49, p95Ms: 41 }, policy: DEFAULT_CANARY_POLICY, elapsedMs: 60_000 });
 * // { verdict: "abort", reason: "canary 5xx 9.8% (49 of 500) against 0.0% (0 of 1500) for 1.0.0, beyond the tolerance of +1 pt", figures: { … } }
 */
export function judgeCanary({ old, canary, policy, elapsedMs }: { old: VersionRequests; canary: VersionRequests; policy: CanaryPolicy; elapsedMs: number }): CanaryJudgement {
  const figures: CanaryFigures = {
    old: judged(old), canary: judged(canary), elapsedMs, policy,
    limits: {
      errorRatePct: errorRate(old) + policy.errorRateTolerancePt,
      p95Ms: old.p95Ms === undefined ? undefined : Math.max(old.p95Ms * policy.latencyFactor, old.p95Ms + policy.latencyFloorMs),
    },
  };
  const decide = (verdict: CanaryVerdict, reason: string): CanaryJudgement => ({ verdict, reason, figures });
  const windowLeft = policy.windowMs - elapsedMs;
  const window = windowLeft > 0 ? `${duration(windowLeft)} of the ${duration(policy.windowMs)} window left` : `the ${duration(policy.windowMs)} window is over`;
  // Too few requests say nothing either way: a 5xx among the first three is 33%.
  if (canary.requests < policy.minRequests) {
    return decide("wait", `canary has had ${canary.requests} of the ${policy.minRequests} requests needed to judge it; ${window}${windowLeft > 0 ? "" : ", waiting for them"}`);
  }
  const worse: string[] = [];
  // Equal to the limit is within it, also where the two rates round differently (1e-9 pt).
  if (figures.canary.errorRatePct > figures.limits.errorRatePct + 1e-9) {
    worse.push(`canary 5xx ${errorText(figures.canary)} against ${errorText(figures.old)} for ${old.version}, beyond the tolerance of +${policy.errorRateTolerancePt} pt`);
  }
  if (figures.limits.p95Ms !== undefined && canary.p95Ms !== undefined && canary.p95Ms > figures.limits.p95Ms) {
    worse.push(`canary p95 ${canary.p95Ms} ms (of ${canary.requests}) against ${old.p95Ms} ms (of ${old.requests}) for ${old.version}, beyond the tolerance of ×${policy.latencyFactor} or +${policy.latencyFloorMs} ms (${round(figures.limits.p95Ms)} ms)`);
  }
  if (worse.length > 0) return decide("abort", worse.join("; "));
  const compared = `5xx ${errorText(figures.canary)} against ${errorText(figures.old)} for ${old.version}, ${latencyText(canary, old)}`;
  if (windowLeft > 0) return decide("wait", `canary within the tolerances so far (${window}): ${compared}`);
  return decide("promote", `canary within the tolerances over the ${duration(policy.windowMs)} window: ${compared}`);
}

function judged(version: VersionRequests): JudgedVersion {
  return { ...version, errorRatePct: errorRate(version) };
}

function errorRate({ requests, serverErrors }: VersionRequests): number {
  return requests === 0 ? 0 : (100 * serverErrors) / requests;
}

/** "9.8% (49 of 500)" */
function errorText(version: JudgedVersion): string {
  return `${version.errorRatePct.toFixed(1)}% (${version.serverErrors} of ${version.requests})`;
}

function latencyText(canary: VersionRequests, old: VersionRequests): string {
  if (canary.p95Ms === undefined) return "no canary request timed";
  if (old.p95Ms === undefined) return `p95 ${canary.p95Ms} ms, not compared as no request of ${old.version} was timed`;
  return `p95 ${canary.p95Ms} ms against ${old.p95Ms} ms`;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** "5 min", "3 min 12 s", "45 s" */
function duration(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  const minutes = Math.floor(seconds / 60);
  if (minutes === 0) return `${seconds} s`;
  return seconds % 60 === 0 ? `${minutes} min` : `${minutes} min ${seconds % 60} s`;
}
