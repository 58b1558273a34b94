// Instances that serve are checked by ingot too, not only by HAProxy: HAProxy takes an instance
// that fails its checks out of rotation but never ends it, so a hung app would hold a slot (and
// its share of capacity) for good. One that fails its image's health check N times in a row is
// marked failed, with its last console lines, taken out and stopped; the capacity keeper replaces
// it as it replaces a crash. ingot checks with the instance's own image's check, where HAProxy
// checks with the one of the image that started the entry point (docs/deploy.md, Known limits).
import type { Healthcheck } from "../config/app-config.ts";
import type { Instance } from "../instance/instance.ts";
import type { LiveInstances } from "../instance/live-instances.ts";
import { checkHealth, type HealthAnswer } from "../vm/health.ts";
import { deploySettings } from "./deploy-settings.ts";

/** Failed checks in a row that end an instance: HAProxy's default `fall`, as ingot.yaml has no unhealthy threshold (yet). */
export const UNHEALTHY_THRESHOLD = 3;
/** How often the watch looks for instances due a check; each is checked at its image's interval. */
const TICK_MS = 250;

interface Streak { failures: number; dueMs: number; checking: boolean }

/**
 * @example
 * const watch = new HealthWatch(live, (line) => console.error(line));
 * watch.start(); // from now on, a healthy instance that fails 3 checks in a row is failed and stopped
 * watch.close();
 */
export class HealthWatch {
  readonly #streaks = new Map<string, Streak>();
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly live: Pick<LiveInstances, "all" | "fail">, private readonly log: (line: string) => void,
    private readonly check: typeof checkHealth = checkHealth) {}

  start(): void {
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #tick(): void {
    const nowMs = Date.now();
    const watched = this.live.all().filter((instance) => instance.state === "healthy" && instance.environment !== null && instance.manifest.healthcheck);
    // An instance that drains, stopped or failed starts from zero should it ever be watched again.
    for (const id of this.#streaks.keys()) if (!watched.some((instance) => instance.id === id)) this.#streaks.delete(id);
    for (const instance of watched) {
      const streak = this.#streaks.get(instance.id) ?? { failures: 0, dueMs: nowMs, checking: false };
      this.#streaks.set(instance.id, streak);
      if (streak.checking || nowMs < streak.dueMs) continue;
      streak.checking = true;
      void this.#checkOnce(instance, instance.manifest.healthcheck as Exclude<Healthcheck, false>, streak);
    }
  }

  async #checkOnce(instance: Instance, check: Exclude<Healthcheck, false>, streak: Streak): Promise<void> {
    const answer = await this.check(check, "127.0.0.1", instance.servicePort).catch((error: unknown): HealthAnswer => ({ ok: false, answer: (error as Error).message }));
    streak.checking = false;
    streak.dueMs = Date.now() + check.intervalMs;
    if (instance.state !== "healthy") return;
    streak.failures = answer.ok ? 0 : streak.failures + 1;
    if (streak.failures < UNHEALTHY_THRESHOLD) return;
    this.#streaks.delete(instance.id);
    const reason = `failed its health check ${streak.failures} times in a row: last answer ${answer.answer}`;
    this.log(`instance ${instance.id} of ${instance.environment}: ${reason}; stopping it`);
    const { timeouts } = deploySettings(instance.manifest, instance.environment ?? "");
    await this.live.fail(instance.id, reason, timeouts.stopMs).catch((error: unknown) => this.log(`cannot stop instance ${instance.id}: ${(error as Error).message}`));
  }
}
