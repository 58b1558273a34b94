// Waiting for HAProxy to reach a state: it has no events for it, so the state is read every interval.
import { setTimeout as sleep } from "node:timers/promises";

/**
 * Calls probe until it returns a value or the time is up; undefined when the time ran out. Rejects
 * with the signal's reason when it aborts.
 *
 * @example
 * const up = await pollUntil(async () => (await api.servers("prod")).find((s) => s.state === "UP"), { timeoutMs: 5000 });
 */
export async function pollUntil<T>(
  probe: () => Promise<T | undefined>,
  { timeoutMs, intervalMs = 100, signal }: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal },
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) return undefined;
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())), undefined, { signal });
  }
}
