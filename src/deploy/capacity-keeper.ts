// Self-healing capacity: an environment that serves is kept at its capacity (capacity.ts: the number
// ingot scale set, else its image's). An instance that ends without being stopped (its app crashed,
// its QEMU was killed, it was gone when the server started again) is replaced by a new one of the
// same image, which joins the entry point once it is healthy and UP; instances beyond the capacity
// (after ingot scale to fewer) are drained out of the entry point and stopped, newest first. A
// stopped environment, or one with a deploy running, is left alone. An image whose instances keep
// failing (crash-loop.ts) is not replaced again: the environment is marked degraded, its instances
// that still run serve on, and a deploy or ingot stop clears it.
import type { EntryPoint } from "../entry/entry-point.ts";
import { IngotError } from "../errors.ts";
import type { InstanceChange } from "../instance/live-instances.ts";
import type { Instance } from "../instance/instance.ts";
import { LiveInstances } from "../instance/live-instances.ts";
import type { Deployment } from "../state/deployments.ts";
import { environmentConfig } from "../state/environment-config.ts";
import type { Degraded } from "../state/environments.ts";
import { readManifest } from "../vault/image-ref.ts";
import { withCapacity } from "./capacity.ts";
import { type CrashLoopRule, crashLoop, degradedSummary } from "./crash-loop.ts";
import type { DeployEngine } from "./deploy-engine.ts";
import { type DeploySettings, deploySettings } from "./deploy-settings.ts";

/** After a replacement fails, the next try waits this long, doubling up to the maximum (a crash loop costs little). */
const RETRY_MS = 15_000;
const MAX_RETRY_MS = 5 * 60_000;

/** What one run of the keeper did to an environment. */
export interface Reconciled {
  started: string[];
  stopped: string[];
}

/**
 * @example
 * const keeper = new CapacityKeeper(engine, log);
 * keeper.watch();                  // replaces instances that end unexpectedly from now on
 * await keeper.replenish("prod");  // after a restart: replaces those that were gone
 * await keeper.reconcile("prod");  // after ingot scale: { started: ["i-3f2a"], stopped: [] }, or the reason it could not
 * keeper.close();
 */
export class CapacityKeeper {
  /** Per environment: the run in progress or queued; a call while one is queued shares it. */
  readonly #running = new Map<string, Promise<Reconciled>>();
  readonly #queued = new Map<string, Promise<Reconciled>>();
  readonly #retries = new Map<string, { timer: NodeJS.Timeout; delayMs: number }>();
  #unsubscribe: () => void = () => {};
  #closed = false;

  constructor(private readonly engine: DeployEngine, private readonly log: (line: string) => void) {}

  watch(): void {
    this.#unsubscribe = this.engine.parts.live.subscribe((change: InstanceChange) => {
      if (change.state === "failed" && change.was !== "booting" && change.environment) void this.replenish(change.environment);
    });
  }

  /** Brings the environment to its capacity in the background; a failure is logged and tried again later. */
  replenish(environment: string): Promise<void> {
    return this.#schedule(environment).then(() => {}, () => {});
  }

  /**
   * Brings the environment to its capacity, up or down, in a run that starts after this call (one
   * run per environment at a time); rejects with the reason a run failed, which is also retried later.
   */
  reconcile(environment: string): Promise<Reconciled> {
    return this.#schedule(environment);
  }

  #schedule(environment: string): Promise<Reconciled> {
    const queued = this.#queued.get(environment);
    if (queued) return queued;
    const previous = this.#running.get(environment)?.catch(() => {}) ?? Promise.resolve();
    const run = previous.then(() => {
      this.#queued.delete(environment);
      return this.#reconcile(environment);
    });
    this.#queued.set(environment, run);
    this.#running.set(environment, run);
    run.catch((error: unknown) => {
      this.log(`cannot keep ${environment} at capacity: ${(error as Error).message}`);
      this.#retryLater(environment);
    }).finally(() => {
      if (this.#running.get(environment) === run) this.#running.delete(environment);
    });
    return run;
  }

  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    for (const { timer } of this.#retries.values()) clearTimeout(timer);
  }

  async #reconcile(name: string): Promise<Reconciled> {
    const { engine } = this;
    const nothing: Reconciled = { started: [], stopped: [] };
    const environment = engine.environments.get(name);
    const serving = engine.deployments.serving(name);
    const entry = engine.parts.entryPoints.get(name);
    if (this.#closed || environment.stoppedMs !== null || environment.degraded !== null || !serving || !entry || engine.deployments.running(name)) return nothing;
    const manifest = await readManifest(engine.parts.vault, serving.imageDigest);
    const settings = withCapacity(deploySettings(manifest, name), environment);
    if (this.#crashLooping(name, serving, settings.crashLoop)) return nothing;
    await this.#stopOrphans(name, entry, settings);
    const running = engine.parts.live.in(name).filter((instance) => instance.imageDigest === serving.imageDigest && instance.state === "healthy");
    const missing = settings.instances - running.length;
    if (missing < 0) return { started: [], stopped: await this.#reduce(name, serving, running, settings) };
    if (missing === 0) {
      this.#retries.delete(name);
      return nothing;
    }
    const config = environmentConfig(engine.parts.state, engine.parts.secrets, name);
    const ids = Array.from({ length: missing }, () => LiveInstances.newId());
    this.log(`${name} runs ${running.length} of ${settings.instances} instances of ${serving.imageRef}: starting ${ids.join(", ")} (config v${config.version})`);
    engine.events.append({ kind: "capacity-replace", environment: name, deployment: serving.id, data: { instances: ids, have: running.length, want: settings.instances, configVersion: config.version } });
    const signal = new AbortController().signal;
    const results = await Promise.allSettled(ids.map(async (id) => {
      const instance = await engine.bootInstance(id, { environment: name, digest: serving.imageDigest, manifest, settings, config, deployment: serving.id });
      try {
        await instance.waitHealthy(settings.timeouts.healthyMs, signal);
        this.#assertStillServing(name, serving);
        await entry.add({ name: id, address: "127.0.0.1", port: instance.servicePort });
        await entry.waitUp(id, settings.timeouts.upMs, signal);
      } catch (error) {
        await entry.remove(id, 0).catch(() => {});
        await engine.parts.live.stop(id, settings.timeouts.stopMs);
        throw error;
      }
    }));
    const failed = results.find((result) => result.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    this.#retries.delete(name);
    this.log(`${name} is back at ${settings.instances} instances`);
    return { started: ids, stopped: [] };
  }

  /** Drains the instances beyond the capacity out of the entry point and stops them, newest first. */
  async #reduce(name: string, serving: Deployment, running: Instance[], settings: DeploySettings): Promise<string[]> {
    const { engine } = this;
    const entry = engine.parts.entryPoints.get(name)!;
    const ids = [...running].reverse().slice(0, running.length - settings.instances).map((instance) => instance.id);
    this.log(`${name} runs ${running.length} of ${settings.instances} instances of ${serving.imageRef}: draining and stopping ${ids.join(", ")}`);
    engine.events.append({ kind: "capacity-reduce", environment: name, deployment: serving.id, data: { instances: ids, have: running.length, want: settings.instances } });
    await Promise.all(ids.map(async (id) => {
      await engine.drain(entry, id, settings.timeouts.drainMs);
      await engine.parts.live.stop(id, settings.timeouts.stopMs);
    }));
    this.#retries.delete(name);
    this.log(`${name} is down to ${settings.instances} instances`);
    return ids;
  }

  /**
   * Stops the environment's instances that still boot: runs of an environment go one at a time and
   * no deploy runs, so the last server was starting them (killed mid-scale or mid-replacement) and
   * nothing would ever add them to the entry point. New ones take their place.
   */
  async #stopOrphans(name: string, entry: EntryPoint, settings: DeploySettings): Promise<void> {
    const orphans = this.engine.parts.live.in(name).filter((instance) => instance.state === "booting");
    if (orphans.length === 0) return;
    this.log(`${name}: stopping ${orphans.map((instance) => instance.id).join(", ")}, left booting by the last server; new ones take their place`);
    await Promise.all(orphans.map(async (instance) => {
      await entry.remove(instance.id, 0).catch(() => {});
      await this.engine.parts.live.stop(instance.id, settings.timeouts.stopMs);
    }));
  }

  /** A deploy that started meanwhile owns the environment: an instance of the image it replaces must not join the entry point. */
  #assertStillServing(name: string, serving: Deployment): void {
    const running = this.engine.deployments.running(name);
    if (running || this.engine.deployments.serving(name)?.id !== serving.id) {
      throw new IngotError(`Cannot add an instance of ${serving.imageRef} to ${name} as ${running ? `deploy ${running.id} of ${running.imageRef} started` : "another deploy finished"} meanwhile`, {
        code: "capacity-superseded", hint: "The deploy brings the environment to its capacity",
      });
    }
  }

  /** Marks the environment degraded when the serving deploy's instances broke the crash-loop rule. */
  #crashLooping(name: string, serving: Deployment, rule: CrashLoopRule): boolean {
    const nowMs = Date.now();
    // The serving deploy's instances: its own and their replacements (an earlier deploy's failures never count).
    const sinceMs = serving.finishedMs ?? serving.startedMs;
    const failures = this.engine.events.list({ deployment: serving.id, kind: "instance-state", sinceMs: Math.max(sinceMs, nowMs - rule.windowMs), limit: 10_000 })
      .filter((event) => event.data.state === "failed" && event.instance !== null)
      .map((event) => ({ timeMs: event.timeMs, instance: event.instance!, reason: String(event.data.reason ?? "it failed") }));
    const loop = crashLoop(failures, rule, { nowMs, sinceMs });
    if (!loop) return false;
    const degraded: Degraded = { sinceMs: nowMs, imageRef: serving.imageRef, imageDigest: serving.imageDigest, failures: loop.failures, windowMs: loop.windowMs, lastReason: loop.lastReason };
    const summary = degradedSummary(degraded);
    this.engine.environments.setDegraded(name, degraded);
    this.engine.events.append({ kind: "environment-degraded", environment: name, deployment: serving.id, data: { ...degraded, instances: loop.instances, rule: { ...rule }, summary } });
    this.log(`${name} is degraded: ${summary}; its instances are no longer replaced until a deploy or ingot stop`);
    clearTimeout(this.#retries.get(name)?.timer);
    this.#retries.delete(name);
    return true;
  }

  #retryLater(environment: string): void {
    if (this.#closed) return;
    const delayMs = Math.min((this.#retries.get(environment)?.delayMs ?? RETRY_MS / 2) * 2, MAX_RETRY_MS);
    const timer = setTimeout(() => void this.replenish(environment), delayMs);
    timer.unref();
    this.#retries.set(environment, { timer, delayMs });
  }
}
