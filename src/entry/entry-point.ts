// An environment's entry point: a detached HAProxy that outlives ingot, driven through its runtime API.
// Instances take a server slot marked down, so none takes a request before HAProxy's own checks pass.
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { IngotError } from "../errors.ts";
import { assertHaproxyName, entryPaths, haproxyConfig, unavailablePage, type EntrySpec } from "./haproxy-config.ts";
import { processStartTime } from "../process/process-identity.ts";
import { assertBindable, isHaproxyOf, startHaproxy } from "./haproxy-process.ts";
import { pollUntil } from "./poll.ts";
import { RuntimeApi } from "./runtime-api.ts";
import { ServerSlots } from "./server-slots.ts";
import type { ServerStatus } from "./server-status.ts";

/** What entry.json in the run folder records, so that a later ingot process can adopt the HAProxy. */
interface EntryRecord { pid: number; startTime: string; spec: EntrySpec }

export interface EntryInstance { name: string; address: string; port: number; weight?: number }

/**
 * @example
 * const entry = await EntryPoint.start(spec);          // or EntryPoint.adopt(spec.runDir) after a restart
 * await entry.add({ name: "web-2", address: "127.0.0.1", port: 41234 });
 * await entry.waitUp("web-2", 30_000);
 * await entry.remove("web-1");                          // drain, then maint and delete
 */
export class EntryPoint {
  readonly api: RuntimeApi;

  private constructor(readonly spec: EntrySpec, readonly pid: number, readonly startTime: string, private readonly slots: ServerSlots) {
    this.api = new RuntimeApi(entryPaths(spec.runDir).socket);
  }

  /** Writes the config and 503 page into spec.runDir and starts HAProxy detached from this process. */
  static async start(spec: EntrySpec): Promise<EntryPoint> {
    const paths = entryPaths(spec.runDir);
    const config = haproxyConfig(spec);
    // sun_path holds 108 bytes with its terminating NUL.
    if (Buffer.byteLength(paths.socket) > 107) {
      throw new IngotError(`Cannot start the entry point of ${spec.environment} as its socket path is too long for a unix socket: ${paths.socket}`, {
        code: "entry-run-dir-too-long", hint: "Use a shorter run folder (INGOT_HOME)",
      });
    }
    await assertBindable(spec.environment, spec.bind.address, spec.bind.port);
    await mkdir(spec.runDir, { recursive: true, mode: 0o700 });
    await chmod(spec.runDir, 0o700);
    await writeFile(paths.config, config);
    await writeFile(paths.unavailablePage, unavailablePage(spec.environment));
    await rm(paths.pidFile, { force: true });
    await rm(paths.slots, { force: true });
    await startHaproxy(paths.config, spec.environment);
    const pid = Number((await readFile(paths.pidFile, "utf8")).trim());
    const startTime = await processStartTime(pid);
    if (!startTime) {
      throw new IngotError(`Cannot start the entry point of ${spec.environment} as HAProxy exited right after starting: pid ${pid}`, {
        code: "entry-start-failed", hint: `Run haproxy -d -f ${paths.config} to see why`,
      });
    }
    await writeFile(paths.record, JSON.stringify({ pid, startTime, spec } satisfies EntryRecord, null, 2));
    return new EntryPoint(spec, pid, startTime, await ServerSlots.load(paths.slots));
  }

  /** Reconnects to the HAProxy a previous ingot process started in runDir, if it still runs. */
  static async adopt(runDir: string): Promise<EntryPoint> {
    const paths = entryPaths(runDir);
    const record = JSON.parse(await readFile(paths.record, "utf8").catch((cause: unknown) => {
      throw new IngotError(`Cannot adopt the entry point in ${runDir} as it has no record: ${paths.record}`, {
        code: "entry-not-running", hint: "Start it again", cause,
      });
    })) as EntryRecord;
    if (!(await isHaproxyOf(record.pid, paths.config, record.startTime))) {
      throw new IngotError(`Cannot adopt the entry point of ${record.spec.environment} as its HAProxy no longer runs: pid ${record.pid}`, {
        code: "entry-not-running", hint: "Start it again; the instances must then be added again",
      });
    }
    return new EntryPoint(record.spec, record.pid, record.startTime, await ServerSlots.load(paths.slots));
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
    try {
      await this.api.batch(to(1, "drain"));
    } catch (error) {
      await this.api.batch(to(0, "ready")).catch(() => {});
      throw error;
    }
  }

  /** Puts an instance into a free slot; it takes no request until HAProxy's checks pass `healthyThreshold` times (and none at weight 0). */
  async add(instance: EntryInstance): Promise<void> {
    assertHaproxyName("an instance", instance.name);
    const slot = this.slots.take(instance.name);
    const server = `${this.backend}/${slot}`;
    try {
      // HAProxy answers an address change with a sentence, not silence; anything else is a refusal.
      const answer = await this.api.command(`set server ${server} addr ${instance.address} port ${instance.port}`);
      if (!/changed|No need to change/.test(answer)) throw new IngotError(`Cannot add ${instance.name} to the entry point of ${this.backend} as HAProxy answered: ${answer}`, { code: "entry-command-failed", hint: "Check the instance's address and port" });
      // "ready" puts a slot UP before its first check (at weight 0: no request); marked down after
      // it, it must pass its checks first. One batch: no request is balanced in between.
      await this.api.batch([
        `set weight ${server} 0`,
        `set server ${server} state ready`,
        ...(this.spec.healthcheck ? [`set server ${server} health down`] : []),
        `set weight ${server} ${instance.weight ?? 1}`,
      ]);
      await this.slots.save();
    } catch (error) {
      await this.api.setServerState(this.backend, slot, "maint").catch(() => {});
      this.slots.release(instance.name);
      throw error;
    }
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

  /** The instances in the entry point, by their names (free slots are not listed). */
  async servers(): Promise<ServerStatus[]> {
    const holders = this.slots.holders();
    return (await this.api.servers(this.backend)).flatMap((server) => {
      const name = holders.get(server.name);
      return name ? [{ ...server, name }] : [];
    });
  }

  /** Soft-stops this HAProxy (SIGUSR1: in-flight requests finish, up to the drain timeout) and waits until it is gone. */
  async stop(signal?: AbortSignal): Promise<void> {
    const configPath = entryPaths(this.spec.runDir).config;
    if (!(await isHaproxyOf(this.pid, configPath, this.startTime))) return;
    process.kill(this.pid, "SIGUSR1");
    const gone = await pollUntil(async () => ((await isHaproxyOf(this.pid, configPath, this.startTime)) ? undefined : true),
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
