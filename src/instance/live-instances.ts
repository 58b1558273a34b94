// The control plane's running instances, by id: booted by deploys or adopted after a restart. It
// records every state change as an event, and notices an instance that ends without being stopped
// (a crash of the app, a killed QEMU): that one is marked failed and taken out of its entry point.
import { randomBytes } from "node:crypto";
import type { EntryPoints } from "../entry/entry-points.ts";
import type { ImageManifest } from "../image/manifest.ts";
import type { InstanceSpec, Provider } from "../providers/provider.ts";
import type { EventLog } from "../state/events.ts";
import type { InstanceRecord, InstanceRecords } from "../state/instances.ts";
import { Instance, type InstanceContext } from "./instance.ts";
import type { StateChange } from "./instance-state.ts";

export type InstanceChange = StateChange & { environment: string | null; lastLines?: string[] };

/**
 * @example
 * const live = new LiveInstances({ provider, records, events, entryPoints });
 * const unsubscribe = live.subscribe((change) => console.log(change));
 * const instance = await live.boot(spec, { deployment: 12 });
 * live.in("prod"); // the environment's running instances, oldest first
 */
export class LiveInstances {
  readonly #byId = new Map<string, Instance>();
  readonly #stopping = new Set<string>();
  readonly #listeners = new Set<(change: InstanceChange) => void>();

  constructor(private readonly parts: { provider: Provider; records: InstanceRecords; events: EventLog; entryPoints: EntryPoints }) {}

  /** A new instance id: short, random, valid as an HAProxy server name and a hostname. */
  static newId(): string {
    return `i-${randomBytes(4).toString("hex")}`;
  }

  get platform(): string {
    return this.parts.provider.platform;
  }

  /** Calls `listener` with every state change from now on, until the returned function is called. */
  subscribe(listener: (change: InstanceChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async boot(spec: InstanceSpec, origin: { deployment?: number }): Promise<Instance> {
    const instance = await Instance.boot(this.parts.provider, spec, this.#context(origin.deployment), origin);
    this.#watch(instance);
    return instance;
  }

  /** Takes over a recorded instance that still runs; one that does not is recorded as failed. */
  async adopt(record: InstanceRecord, manifest: ImageManifest): Promise<Instance | undefined> {
    try {
      const instance = await Instance.adopt(this.parts.provider, record, manifest, this.#context(record.deployment ?? undefined));
      this.#watch(instance);
      return instance;
    } catch (error) {
      this.markGone(record, `gone while ingot server was down: ${(error as Error).message}`);
      return undefined;
    }
  }

  /** Records a recorded instance that cannot be adopted (its process or its image is gone) as failed. */
  markGone(record: InstanceRecord, reason: string): void {
    const was = this.parts.records.setState(record.id, "failed");
    this.parts.events.append({ kind: "instance-state", environment: record.environment ?? undefined, instance: record.id, ...(record.deployment === null ? {} : { deployment: record.deployment }), data: { msg: "instance state", instance: record.id, state: "failed", was, reason } });
  }

  get(id: string): Instance | undefined {
    return this.#byId.get(id);
  }

  /** The environment's instances that run, in the order they were booted or adopted. */
  in(environment: string): Instance[] {
    return [...this.#byId.values()].filter((instance) => instance.environment === environment);
  }

  all(): Instance[] {
    return [...this.#byId.values()];
  }

  /**
   * Records a running instance as failed (it kept failing its health check), takes it out of its
   * entry point and stops it; whoever keeps the capacity replaces it on the failed change.
   */
  async fail(id: string, reason: string, timeoutMs: number): Promise<void> {
    const instance = this.#byId.get(id);
    if (!instance) return;
    this.#stopping.add(id);
    instance.markFailed(reason);
    await this.#leaveEntry(instance);
    await this.stop(id, timeoutMs);
  }

  /** Stops an instance gracefully (it is no longer watched as a crash); an unknown id is already gone. */
  async stop(id: string, timeoutMs: number): Promise<void> {
    const instance = this.#byId.get(id);
    if (!instance) return;
    this.#stopping.add(id);
    try {
      await instance.stop(timeoutMs);
    } finally {
      this.#byId.delete(id);
      this.#stopping.delete(id);
    }
  }

  #watch(instance: Instance): void {
    this.#byId.set(instance.id, instance);
    void instance.running.vm.exited.then(async () => {
      if (this.#stopping.has(instance.id) || !this.#byId.has(instance.id)) return;
      this.#byId.delete(instance.id);
      const { vm } = instance.running;
      instance.markFailed(vm.appStatus !== undefined ? `its app exited with status ${vm.appStatus}` : vm.bootFailure ? `its boot failed: ${vm.bootFailure.reason}` : "its VM exited");
      await this.#leaveEntry(instance);
    });
  }

  /** Frees the instance's slot in its entry point at once: it has nothing left to drain. */
  async #leaveEntry(instance: Instance): Promise<void> {
    const entry = instance.environment ? this.parts.entryPoints.get(instance.environment) : undefined;
    await entry?.remove(instance.id, 0).catch(() => {});
  }

  #context(deployment: number | undefined): InstanceContext {
    return {
      records: this.parts.records,
      onChange: (change) => {
        this.parts.events.append({ kind: "instance-state", environment: change.environment ?? undefined, instance: change.instance, ...(deployment === undefined ? {} : { deployment }), data: { ...change } });
        for (const listener of this.#listeners) listener(change);
      },
    };
  }
}
