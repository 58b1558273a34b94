// Keeps every entry point's HAProxy running: HAProxy is detached (not our child after an adoption,
// so no exit event reaches us), hence its pid and start time are read every interval. One found
// gone while its environment should serve is started again from its record, with its server slots
// put back, and that is recorded; a deliberate stop (EntryPoint.stop) is never undone.
import type { NewEvent } from "../state/events.ts";
import type { EntryPoint } from "./entry-point.ts";
import type { EntryPoints } from "./entry-points.ts";

/** How often each HAProxy is looked at: a death is noticed within this, and it costs two /proc reads. */
const INTERVAL_MS = 250;
/** A HAProxy that stayed up this long after a start again counts as healed: the next death restarts at once. */
const STABLE_MS = 10_000;
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;

export interface SupervisorParts {
  entryPoints: Pick<EntryPoints, "all">;
  /** False for an environment whose HAProxy may stay gone (stopped, with no instance in it). */
  shouldServe: (entry: EntryPoint) => boolean;
  record: (event: NewEvent) => void;
  log: (line: string) => void;
  intervalMs?: number;
}

/** What the supervisor knows of one environment's HAProxy between looks. */
interface Watch {
  /** When it was found gone; undefined while it runs. */
  goneSinceMs?: number;
  /** Starts again since it last stayed up STABLE_MS: each one waits longer (restartDelayMs). */
  attempts: number;
  lastAttemptMs: number;
  /** The pid whose death was already reported as not to be undone, so it is said once. */
  leftGone?: number;
}

/**
 * The wait before start again number `attempts + 1`: none for the first, then doubling from 0.5 s up
 * to 30 s, so a HAProxy that cannot stay up (its port taken by another process) is not restarted in
 * a tight loop.
 *
 * @example
 * [0, 1, 2, 3, 10].map(restartDelayMs); // [0, 500, 1000, 2000, 30000]
 */
export function restartDelayMs(attempts: number): number {
  return attempts === 0 ? 0 : Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (attempts - 1));
}

/**
 * @example
 * const supervisor = new EntrySupervisor({ entryPoints, shouldServe: (entry) => !isStopped(entry.spec.environment), record: (event) => events.append(event), log });
 * supervisor.watch();
 * supervisor.close(); // when the control plane stops: HAProxy outlives it, unwatched
 */
export class EntrySupervisor {
  readonly #watches = new Map<string, Watch>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(private readonly parts: SupervisorParts) {}

  watch(): void {
    const next = (): void => {
      if (this.#closed) return;
      // A look that fails (the state closing under it) is said, and the next one comes all the same.
      this.#timer = setTimeout(() => void this.check().catch((error: unknown) => this.parts.log(`cannot look at the entry points: ${(error as Error).message}`)).finally(next),
        this.parts.intervalMs ?? INTERVAL_MS);
      // The control plane's API socket keeps the process alive, not this.
      this.#timer.unref();
    };
    next();
  }

  /** Looks at every entry point once, and starts again those that died and are due. */
  async check(now = Date.now()): Promise<void> {
    await Promise.all(this.parts.entryPoints.all().map((entry) => this.#check(entry, now)));
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  async #check(entry: EntryPoint, now: number): Promise<void> {
    const environment = entry.spec.environment;
    const watch = this.#watches.get(environment) ?? { attempts: 0, lastAttemptMs: 0 };
    this.#watches.set(environment, watch);
    if (entry.stopped || (await entry.isRunning())) {
      watch.goneSinceMs = undefined;
      if (watch.attempts > 0 && now - watch.lastAttemptMs >= STABLE_MS) watch.attempts = 0;
      return;
    }
    if (!this.parts.shouldServe(entry)) {
      if (watch.leftGone !== entry.pid) this.parts.log(`the entry point of ${environment} is gone (HAProxy pid ${entry.pid}); not started again as the environment is stopped, its next deploy starts it`);
      watch.leftGone = entry.pid;
      return;
    }
    watch.goneSinceMs ??= now;
    if (this.#closed || now < watch.lastAttemptMs + restartDelayMs(watch.attempts)) return;
    watch.attempts++;
    watch.lastAttemptMs = now;
    const previousPid = entry.pid;
    try {
      const restart = await entry.restart();
      const downMs = Date.now() - watch.goneSinceMs;
      watch.goneSinceMs = undefined;
      const restoredSlots = restart.restoredSlots.map(({ name, slot, weight, state }) => ({ instance: name, slot, weight, state }));
      const { unrestored } = restart;
      this.parts.record({ kind: "entry-restarted", environment, data: { msg: "entry point started again", pid: restart.pid, previousPid, downMs, attempt: watch.attempts, restoredSlots, ...(unrestored.length > 0 ? { unrestored } : {}) } });
      this.parts.log(`the entry point of ${environment} was gone (HAProxy pid ${previousPid}); started again as pid ${restart.pid} after ${downMs} ms, ${restoredSlots.length} instance(s) put back${watch.attempts > 1 ? ` (start ${watch.attempts} in a row)` : ""}`
        + unrestored.map(({ name, reason }) => `; ${name} not put back: ${reason}`).join(""));
    } catch (error) {
      const retryInMs = restartDelayMs(watch.attempts);
      const reason = (error as Error).message;
      this.parts.record({ kind: "entry-restart-failed", environment, data: { msg: "entry point could not start again", previousPid, attempt: watch.attempts, retryInMs, error: reason } });
      this.parts.log(`the entry point of ${environment} is gone (HAProxy pid ${previousPid}) and did not start again (attempt ${watch.attempts}; next in ${retryInMs} ms): ${reason}`);
    }
  }
}
