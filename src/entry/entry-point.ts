// An environment's entry point: a detached HAProxy that outlives ingot, driven through its runtime API.
// Instances join at weight 0 and marked down, so none takes a request before HAProxy's own checks pass.
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { IngotError } from "../errors.ts";
import { assertHaproxyName, entryPaths, haproxyConfig, serverOptions, unavailablePage, type EntrySpec } from "./haproxy-config.ts";
import { processStartTime } from "../process/process-identity.ts";
import { assertBindable, isHaproxyOf, startHaproxy } from "./haproxy-process.ts";
import { pollUntil } from "./poll.ts";
import { RuntimeApi } from "./runtime-api.ts";
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

  private constructor(readonly spec: EntrySpec, readonly pid: number, readonly startTime: string) {
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
    await startHaproxy(paths.config, spec.environment);
    const pid = Number((await readFile(paths.pidFile, "utf8")).trim());
    const startTime = await processStartTime(pid);
    if (!startTime) {
      throw new IngotError(`Cannot start the entry point of ${spec.environment} as HAProxy exited right after starting: pid ${pid}`, {
        code: "entry-start-failed", hint: `Run haproxy -d -f ${paths.config} to see why`,
      });
    }
    await writeFile(paths.record, JSON.stringify({ pid, startTime, spec } satisfies EntryRecord, null, 2));
    return new EntryPoint(spec, pid, startTime);
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
    return new EntryPoint(record.spec, record.pid, record.startTime);
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
      ...serve.map((name) => `set weight ${this.backend}/${name} ${weight}`),
      ...drain.map((name) => `set server ${this.backend}/${name} state ${state}`),
    ];
    try {
      await this.api.batch(to(1, "drain"));
    } catch (error) {
      await this.api.batch(to(0, "ready")).catch(() => {});
      throw error;
    }
  }

  /** Adds an instance that takes no request until HAProxy's checks pass `healthyThreshold` times (and none at weight 0). */
  async add(instance: EntryInstance): Promise<void> {
    assertHaproxyName("an instance", instance.name);
    await this.api.addServer(this.backend, instance.name, instance.address, instance.port, serverOptions(this.spec.healthcheck));
    await this.api.setServerState(this.backend, instance.name, "ready");
    // "ready" puts a dynamic server UP before its first check; at weight 0 it takes nothing yet.
    if (this.spec.healthcheck) await this.api.markDown(this.backend, instance.name);
    await this.api.setWeight(this.backend, instance.name, instance.weight ?? 1);
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
    await this.api.setServerState(this.backend, name, "drain");
    const drained = await pollUntil(async () => ((await this.server(name)).currentSessions === 0 ? true : undefined), { timeoutMs, signal });
    return drained ? 0 : (await this.server(name)).currentSessions;
  }

  /** Drains the instance, ends what is left after the drain timeout, and deletes it from the backend. */
  async remove(name: string, timeoutMs = this.spec.drainTimeoutMs, signal?: AbortSignal): Promise<void> {
    if ((await this.drain(name, timeoutMs, signal)) > 0) await this.api.shutdownSessions(this.backend, name);
    // Idle kept-alive connections to it may linger a moment after its sessions ended.
    const deleted = await pollUntil(() => this.api.deleteServer(this.backend, name).then(() => true, (error: unknown) => {
      if (error instanceof IngotError && error.code === "entry-server-busy") return undefined;
      throw error;
    }), { timeoutMs: 5_000, signal });
    if (!deleted) await this.api.deleteServer(this.backend, name);
  }

  async servers(): Promise<ServerStatus[]> {
    return this.api.servers(this.backend);
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

  async server(name: string): Promise<ServerStatus> {
    const found = (await this.servers()).find((server) => server.name === name);
    if (found) return found;
    throw new IngotError(`Cannot find ${name} in the entry point of ${this.backend} as it has no such server`, {
      code: "entry-server-unknown", hint: `Its servers: ${(await this.servers()).map((server) => server.name).join(", ") || "none"}`,
    });
  }
}
