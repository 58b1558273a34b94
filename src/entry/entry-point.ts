// An environment's entry point: a detached HAProxy that outlives ingot, driven through its runtime API.
// Instances take a server slot marked down, so none takes a request before HAProxy's own checks pass.
import { rm } from "node:fs/promises";
import { IngotError } from "../errors.ts";
import { hasExited } from "../process/process-identity.ts";
import { launchEntry, readEntryRecord } from "./entry-launch.ts";
import { assertHaproxyName, entryPaths, type EntrySpec } from "./haproxy-config.ts";
import { isHaproxyOf } from "./haproxy-process.ts";
import { pollUntil } from "./poll.ts";
import { RuntimeApi } from "./runtime-api.ts";
import { type HeldSlot, ServerSlots, type SlotTarget } from "./server-slots.ts";
import type { ServerStatus } from "./server-status.ts";

export interface EntryInstance { name: string; address: string; port: number; weight?: number }

/** What a start again after a death did: the new process, the one it replaces, and the slots put back. */
export interface EntryRestart { pid: number; previousPid: number; restoredSlots: HeldSlot[]; unrestored: { name: string; reason: string }[] }

/**
 * @example
 * const entry = await EntryPoint.start(spec);          // or EntryPoint.adopt(spec.runDir) after a restart
 * await entry.add({ name: "web-2", address: "127.0.0.1", port: 41234 });
 * await entry.waitUp("web-2", 30_000);
 * await entry.remove("web-1");                          // drain, then maint and delete
 */
export class EntryPoint {
  readonly api: RuntimeApi;
  #process: { pid: number; startTime: string };
  #stopped = false;
  #restarting: Promise<EntryRestart> | undefined;

  private constructor(readonly spec: EntrySpec, process: { pid: number; startTime: string }, private readonly slots: ServerSlots) {
    this.api = new RuntimeApi(entryPaths(spec.runDir).socket);
    this.#process = process;
  }

  /** Writes the config and 503 page into spec.runDir and starts HAProxy detached from this process, with every slot free. */
  static async start(spec: EntrySpec): Promise<EntryPoint> {
    const paths = entryPaths(spec.runDir);
    await rm(paths.slots, { force: true });
    const record = await launchEntry(spec);
    return new EntryPoint(spec, record, await ServerSlots.load(paths.slots));
  }

  /** Reconnects to the HAProxy a previous ingot process started in runDir, if it still runs. */
  static async adopt(runDir: string): Promise<EntryPoint> {
    const record = await readEntryRecord(runDir);
    if (!(await isHaproxyOf(record.pid, entryPaths(runDir).config, record.startTime))) {
      throw new IngotError(`Cannot adopt the entry point of ${record.spec.environment} as its HAProxy no longer runs: pid ${record.pid}`, {
        code: "entry-not-running", hint: "Start it again; the instances must then be added again",
      });
    }
    const entry = new EntryPoint(record.spec, record, await ServerSlots.load(entryPaths(runDir).slots));
    await entry.#recordFromHaproxy();
    return entry;
  }

  /**
   * Fills in what an older ingot did not record of its slots (address, port, weight, draining) from
   * HAProxy itself, so that they can be put back if it dies. Best effort: the adoption goes on.
   */
  async #recordFromHaproxy(): Promise<void> {
    const unrecorded = this.slots.unrecorded();
    if (unrecorded.length === 0) return;
    const servers = await this.api.servers(this.backend).catch(() => []);
    for (const { name, slot } of unrecorded) {
      const server = servers.find((candidate) => candidate.name === slot);
      if (server) this.slots.record(name, { address: server.address, port: server.port, weight: server.weight, state: server.state === "DRAIN" ? "drain" : "ready" });
    }
    await this.slots.save();
  }

  /** The HAProxy's pid; it changes when the entry point is started again after a death (restart). */
  get pid(): number {
    return this.#process.pid;
  }

  get startTime(): string {
    return this.#process.startTime;
  }

  /** True once stop() was called: the HAProxy is gone on purpose and must not be started again. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** True until the recorded HAProxy process (pid and start time, so never a reused pid) has ended and closed its port. */
  async isRunning(): Promise<boolean> {
    return !(await hasExited(this.#process));
  }

  /**
   * Starts HAProxy again with the same spec (config, port, run folder) after it died, and puts every
   * held slot back as it was set: address, port, weight, ready or draining. The same object goes
   * on, so a deploy that holds it carries on with the new process. Calls during one share it.
   */
  restart(): Promise<EntryRestart> {
    this.#restarting ??= this.#restart().finally(() => { this.#restarting = undefined; });
    return this.#restarting;
  }

  async #restart(): Promise<EntryRestart> {
    const previousPid = this.pid;
    this.#process = await launchEntry(this.spec);
    const held = this.slots.held();
    // They served a moment ago: UP at once and checked from then on, rather than 503s until they
    // pass `healthyThreshold` checks again. One slot refused does not keep the others out.
    const results = await Promise.allSettled(held.map((slot) => this.#apply(slot.slot, slot, { checkedFirst: false })));
    return {
      pid: this.pid, previousPid,
      restoredSlots: held.filter((_, index) => results[index]!.status === "fulfilled"),
      unrestored: held.flatMap((slot, index) => {
        const result = results[index]!;
        return result.status === "rejected" ? [{ name: slot.name, reason: (result.reason as Error).message }] : [];
      }),
    };
  }

  get backend(): string {
    return this.spec.environment;
  }

  /**
   * Green takes requests and blue none, in one batch of runtime API commands: a client that got an
   * answer from green never gets one from blue again. A batch that fails is put back (blue serves).
   */
  async switchTraffic(serve: string[], drain: string[]): Promise<void> {
    const to = (weight: number, state: "ready" | "drain"): string[] => [
      ...serve.map((name) => `set weight ${this.backend}/${this.#slot(name)} ${weight}`),
      ...drain.map((name) => `set server ${this.backend}/${this.#slot(name)} state ${state}`),
    ];
    const record = (weight: number, state: "ready" | "drain"): Promise<void> => {
      for (const name of serve) this.slots.update(name, { weight });
      for (const name of drain) this.slots.update(name, { state });
      return this.slots.save();
    };
    try {
      await this.api.batch(to(1, "drain"));
      await record(1, "drain");
    } catch (error) {
      await this.api.batch(to(0, "ready")).then(() => record(0, "ready")).catch(() => {});
      throw error;
    }
  }

  /**
   * Sets the weights of several instances in one batch of runtime API commands (a canary's share
   * of the requests: HAProxy balances by weight); a batch that fails is put back as it was.
   *
   * @example
   * await entry.setWeights({ "i-c1": 1, "i-b1": 3 }); // i-c1 takes a quarter of the requests
   */
  async setWeights(weights: Record<string, number>): Promise<void> {
    const names = Object.keys(weights);
    const before = new Map(this.slots.held().map((held) => [held.name, held.weight]));
    const to = (weightOf: (name: string) => number): string[] => names.map((name) => `set weight ${this.backend}/${this.#slot(name)} ${weightOf(name)}`);
    try {
      await this.api.batch(to((name) => weights[name]!));
    } catch (error) {
      await this.api.batch(to((name) => before.get(name) ?? 0)).catch(() => {});
      throw error;
    }
    for (const name of names) this.slots.update(name, { weight: weights[name]! });
    await this.slots.save();
  }

  /** Puts an instance into a free slot; it takes no request until HAProxy's checks pass `healthyThreshold` times (and none at weight 0). */
  async add(instance: EntryInstance): Promise<void> {
    assertHaproxyName("an instance", instance.name);
    const target: SlotTarget = { address: instance.address, port: instance.port, weight: instance.weight ?? 1, state: "ready" };
    const slot = this.slots.take(instance.name, target);
    try {
      await this.#apply(slot, { name: instance.name, ...target }, { checkedFirst: true });
      await this.slots.save();
    } catch (error) {
      await this.api.setServerState(this.backend, slot, "maint").catch(() => {});
      this.slots.release(instance.name);
      throw error;
    }
  }

  /**
   * Sets a slot's address, port, weight and state. `checkedFirst`: marked down until HAProxy's own
   * checks pass, so a new instance takes no request before it is found healthy.
   */
  async #apply(slot: string, target: SlotTarget & { name: string }, { checkedFirst }: { checkedFirst: boolean }): Promise<void> {
    const server = `${this.backend}/${slot}`;
    // HAProxy answers an address change with a sentence, not silence; anything else is a refusal.
    const answer = await this.api.command(`set server ${server} addr ${target.address} port ${target.port}`);
    if (!/changed|No need to change/.test(answer)) throw new IngotError(`Cannot add ${target.name} to the entry point of ${this.backend} as HAProxy answered: ${answer}`, { code: "entry-command-failed", hint: "Check the instance's address and port" });
    // "ready" puts a slot UP before its first check (at weight 0: no request); marked down after
    // it, it must pass its checks first. One batch: no request is balanced in between.
    await this.api.batch([
      `set weight ${server} 0`,
      `set server ${server} state ${target.state}`,
      ...(checkedFirst && this.spec.healthcheck ? [`set server ${server} health down`] : []),
      `set weight ${server} ${target.weight}`,
    ]);
  }

  /** Resolves once HAProxy reports the instance UP; otherwise says which check failed and how. */
  async waitUp(name: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    let last: ServerStatus | undefined;
    const up = await pollUntil(async () => {
      last = await this.server(name);
      return last.state === "UP" ? last : undefined;
    }, { timeoutMs, signal });
    if (up) return;
    const check = last?.check;
    const why = check?.status ? `${check.description || check.status} (${[check.status, check.code, check.detail].filter(Boolean).join(" ")})` : last?.statusText;
    throw new IngotError(`Cannot bring ${name} into the entry point of ${this.backend} as HAProxy did not report it UP within ${timeoutMs} ms: ${why}`, {
      code: "entry-server-unhealthy",
      hint: this.spec.healthcheck && this.spec.healthcheck.type === "http"
        ? `Check that ${this.spec.healthcheck.path} answers 2xx at ${last?.address}:${last?.port}`
        : `Check that the instance listens at ${last?.address}:${last?.port}`,
    });
  }

  /** Sends the instance no new requests and waits until its sessions end; resolves with those left at the timeout. */
  async drain(name: string, timeoutMs = this.spec.drainTimeoutMs, signal?: AbortSignal): Promise<number> {
    await this.api.setServerState(this.backend, this.#slot(name), "drain");
    this.slots.update(name, { state: "drain" });
    await this.slots.save();
    const drained = await pollUntil(async () => ((await this.server(name)).currentSessions === 0 ? true : undefined), { timeoutMs, signal });
    return drained ? 0 : (await this.server(name)).currentSessions;
  }

  /** Drains the instance, ends what is left after the drain timeout, and frees its slot (maintenance). */
  async remove(name: string, timeoutMs = this.spec.drainTimeoutMs, signal?: AbortSignal): Promise<void> {
    const slot = this.#slot(name);
    if ((await this.drain(name, timeoutMs, signal)) > 0) await this.api.shutdownSessions(this.backend, slot);
    await this.api.setServerState(this.backend, slot, "maint");
    this.slots.release(name);
    await this.slots.save();
  }

  /** True while the instance holds a slot (added and not removed). */
  holds(name: string): boolean {
    return this.slots.slotOf(name) !== undefined;
  }

  /** The instances in the entry point, by their names (free slots are not listed). */
  async servers(): Promise<ServerStatus[]> {
    const holders = this.slots.holders();
    return (await this.api.servers(this.backend)).flatMap((server) => {
      const name = holders.get(server.name);
      return name ? [{ ...server, name }] : [];
    });
  }

  /**
   * Slot name → instance name for the slots held now: HAProxy's own figures (show stat, the access
   * log's server) name slots, and a slot freed is taken again by a later instance.
   */
  slotHolders(): Map<string, string> {
    return this.slots.holders();
  }

  /** Soft-stops this HAProxy (SIGUSR1: in-flight requests finish, up to the drain timeout) and waits until it is gone. */
  async stop(signal?: AbortSignal): Promise<void> {
    this.#stopped = true;
    if (!(await this.isRunning())) return;
    process.kill(this.pid, "SIGUSR1");
    const gone = await pollUntil(async () => ((await this.isRunning()) ? undefined : true),
      { timeoutMs: this.spec.drainTimeoutMs + 2_000, signal });
    if (!gone) process.kill(this.pid, "SIGKILL");
    await rm(entryPaths(this.spec.runDir).record, { force: true });
  }

  #slot(name: string): string {
    const slot = this.slots.slotOf(name);
    if (slot) return slot;
    throw new IngotError(`Cannot find ${name} in the entry point of ${this.backend} as it has no such server`, {
      code: "entry-server-unknown", hint: "List the entry point's servers; it may have been removed already",
    });
  }

  async server(name: string): Promise<ServerStatus> {
    const found = (await this.servers()).find((server) => server.name === name);
    if (found) return found;
    throw new IngotError(`Cannot find ${name} in the entry point of ${this.backend} as it has no such server`, {
      code: "entry-server-unknown", hint: `Its servers: ${(await this.servers()).map((server) => server.name).join(", ") || "none"}`,
    });
  }
}
