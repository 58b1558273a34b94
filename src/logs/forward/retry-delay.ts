// How long a forwarder waits before it tries an unreachable peer again: doubling from a quarter second
// to half a minute, with jitter so that forwarders restarted together do not knock together.

const FIRST_RETRY_MS = 250;
const LONGEST_RETRY_MS = 30_000;

/**
 * @example
 * retryDelayMs(1, () => 0.5); // 250
 * retryDelayMs(20, () => 0.5); // 30000
 */
export function retryDelayMs(failures: number, random: () => number = Math.random): number {
  const base = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, failures - 1));
  // ±20% around the base.
  return Math.round(base * (0.8 + 0.4 * random()));
}
