// Instances that serve are watched through their entry point, not only checked by it: HAProxy takes
// an instance that fails its checks out of rotation but never ends it, so a hung app would hold a
// slot (and its share of capacity) for good. One that HAProxy reports DOWN, its last check failed
// and no request in flight, at N polls in a row (one per check interval) is marked failed with its last console lines, taken
// out and stopped; the capacity keeper replaces it as it replaces a crash. HAProxy's view is read
// rather than checking again from ingot: its checks retry where a direct connection to QEMU's port
// forward (backlog 1) loses its SYN to the traffic and times out under load.
// While a deploy runs in an environment its instances are the deploy's: none is watched or failed.
import type { EntryPoint } from "../entry/entry-point.ts";
import type { ServerStatus } from "../entry/server-status.ts";
import type { Instance } from "../instance/instance.ts";
import type { LiveInstances } from "../instance/live-instances.ts";
import { deploySettings } from "./deploy-settings.ts";

/** Failed checks in a row that end an instance: HAProxy's default `fall`, as ingot.yaml has no unhealthy threshold (yet). */
export const UNHEALTHY_THRESHOLD = 3;
/** How often the watch looks for environments due a poll; each is polled at its instances' check interval. */
const TICK_MS = 250;

/**
 * A poll's verdict on one server: down (HAProxy took it out after failed checks, and the last one
 * failed too) with no request in flight, or not. A server that was just added and not checked yet
 * ("INI"), or that is rising again ("DOWN 1/2": its last check passed), is not failing. Nor is one
 * busy with a request: a single-threaded app answers its checks late while it works, and stopping
 * it would end the request, which HAProxy then retries on the next instance, and so on through the
 * environment; a hung app's requests end at HAProxy's `timeout server`, and it fails after that.
 *
 * @example
 * isFailing({ state: "DOWN", statusText: "DOWN", currentSessions: 0, check: { status: "L7STS", … } }); // true
 */
export function isFailing(server: Pick<ServerStatus, "state" | "statusText" | "currentSessions" | "check">): boolean {
  const status = server.check.status;
  return server.state === "DOWN" && server.statusText === "DOWN" && server.currentSessions === 0 && status !== "" && !status.startsWith("INI") && !status.endsWith("OK");
}

interface Watched { failures: number }

/**
 * @example
 * const watch = new HealthWatch(live, (environment) => entryPoints.get(environment), (environment) => deployments.running(environment) !== undefined, log);
 * watch.start(); // from now on, a serving instance HAProxy keeps DOWN for 3 checks in a row is failed, stopped and replaced
 * watch.close();
 */
export class HealthWatch {
  readonly #streaks = new Map<string, Watched>();
  readonly #dueMs = new Map<string, number>();
  readonly #polling = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  /** `deploying`: whether a deploy runs in the environment now. */
  constructor(private readonly live: Pick<LiveInstances, "all" | "fail">, private readonly entryOf: (environment: string) => Pick<EntryPoint, "servers"> | undefined,
    private readonly deploying: (environment: string) => boolean, private readonly log: (line: string) => void) {}

  start(): void {
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #tick(): void {
    const nowMs = Date.now();
    const byEnvironment = new Map<string, Instance[]>();
    for (const instance of this.#watched()) byEnvironment.set(instance.environment!, [...(byEnvironment.get(instance.environment!) ?? []), instance]);
    // An instance that drains, stopped, failed or is in a deploy starts from zero should it be watched again.
    for (const id of this.#streaks.keys()) if (![...byEnvironment.values()].flat().some((instance) => instance.id === id)) this.#streaks.delete(id);
    for (const [environment, instances] of byEnvironment) {
      if (this.#polling.has(environment) || nowMs < (this.#dueMs.get(environment) ?? 0)) continue;
      this.#polling.add(environment);
      const intervalMs = Math.min(...instances.map((instance) => (instance.manifest.healthcheck as { intervalMs: number }).intervalMs));
      void this.#poll(environment).finally(() => {
        this.#polling.delete(environment);
        this.#dueMs.set(environment, Date.now() + intervalMs);
      });
    }
  }

  #watched(): Instance[] {
    return this.live.all().filter((instance) => instance.state === "healthy" && instance.environment !== null && instance.manifest.healthcheck && !this.deploying(instance.environment));
  }

  async #poll(environment: string): Promise<void> {
    const servers = await this.entryOf(environment)?.servers().catch(() => undefined);
    if (!servers) return;
    // Read again after the await: a deploy may have begun, an instance may have gone.
    for (const instance of this.#watched().filter((candidate) => candidate.environment === environment)) {
      const server = servers.find((candidate) => candidate.name === instance.id);
      const streak = this.#streaks.get(instance.id) ?? { failures: 0 };
      this.#streaks.set(instance.id, streak);
      streak.failures = server && isFailing(server) ? streak.failures + 1 : 0;
      if (streak.failures < UNHEALTHY_THRESHOLD) continue;
      this.#streaks.delete(instance.id);
      const check = server!.check;
      const reason = `failed its health check ${UNHEALTHY_THRESHOLD} times in a row: last check ${[check.status, check.code, check.description].filter(Boolean).join(" ")}`;
      this.log(`instance ${instance.id} of ${environment} ${reason}; stopping it`);
      const { timeouts } = deploySettings(instance.manifest, environment);
      void this.live.fail(instance.id, reason, timeouts.stopMs).catch((error: unknown) => this.log(`cannot stop instance ${instance.id}: ${(error as Error).message}`));
    }
  }
}
