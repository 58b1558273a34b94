// Every environment's entry point, by name: started on an environment's first deploy, adopted when
// the control plane starts again (HAProxy outlives it), each in its own folder under the server's.
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Healthcheck } from "../config/app-config.ts";
import { IngotError } from "../errors.ts";
import { EntryPoint } from "./entry-point.ts";
import type { EntryHealthcheck, EntrySpec } from "./haproxy-config.ts";

/**
 * @example
 * const entryPoints = new EntryPoints("/root/.local/share/ingot/server/entry");
 * await entryPoints.adoptAll();                     // after a restart
 * const entry = await entryPoints.ensure({ environment: "prod", bind: { address: "127.0.0.1", port: 8080 }, healthcheck, drainTimeoutMs: 30_000 });
 */
export class EntryPoints {
  readonly #running = new Map<string, EntryPoint>();

  /** `accessLog`: the log store's syslog address, which every entry point started from now on logs its requests to. */
  constructor(readonly root: string, private readonly options: { accessLog?: EntrySpec["accessLog"] } = {}) {}

  get(environment: string): EntryPoint | undefined {
    return this.#running.get(environment);
  }

  all(): EntryPoint[] {
    return [...this.#running.values()];
  }

  /**
   * The environment's entry point: the running one (started again if its HAProxy died and the
   * supervisor left it so, as for a stopped environment), one a previous server left running, or a new one.
   */
  async ensure(spec: Omit<EntrySpec, "runDir">): Promise<EntryPoint> {
    const entry = this.#running.get(spec.environment) ?? (await EntryPoint.adopt(this.runDir(spec.environment)).catch(() => undefined));
    if (entry) {
      const { address, port } = entry.spec.bind;
      if (address !== spec.bind.address || port !== spec.bind.port) {
        throw new IngotError(`Cannot move the entry point of ${spec.environment} from ${address}:${port} to ${spec.bind.address}:${spec.bind.port} while it runs`, {
          code: "entry-port-change", hint: `Stop the environment first (ingot stop --env ${spec.environment}), or keep port ${port}`,
        });
      }
      if (!entry.stopped && !(await entry.isRunning())) await entry.restart();
      this.#running.set(spec.environment, entry);
      return entry;
    }
    const accessLog = spec.accessLog ?? this.options.accessLog;
    const started = await EntryPoint.start({ ...spec, runDir: this.runDir(spec.environment), ...(accessLog ? { accessLog } : {}) });
    this.#running.set(spec.environment, started);
    return started;
  }

  /**
   * Ends the environment's HAProxy for good (ingot env rm): soft-stopped so in-flight requests
   * finish, forgotten, and its folder (config, socket, slots, record) removed, so neither the
   * supervisor nor a restarted server brings it back. Returns the entry point it ended, if one ran.
   *
   * @example
   * const ended = await entryPoints.remove("dev"); // ended?.spec.bind → { address: "127.0.0.1", port: 8080 }
   */
  async remove(environment: string): Promise<EntryPoint | undefined> {
    const entry = this.#running.get(environment) ?? (await EntryPoint.adopt(this.runDir(environment)).catch(() => undefined));
    const wasRunning = entry !== undefined && (await entry.isRunning());
    await entry?.stop();
    this.#running.delete(environment);
    await rm(this.runDir(environment), { recursive: true, force: true });
    return wasRunning ? entry : undefined;
  }

  /** Adopts every entry point a previous server left running; returns the environments it found. */
  async adoptAll(): Promise<string[]> {
    const adopted = [];
    for (const environment of await readdir(this.root).catch(() => [] as string[])) {
      const entry = await EntryPoint.adopt(this.runDir(environment)).catch(() => undefined);
      if (!entry) continue;
      this.#running.set(environment, entry);
      adopted.push(environment);
    }
    return adopted;
  }

  runDir(environment: string): string {
    return join(this.root, environment);
  }
}

/** The image's health check as HAProxy runs it against each instance. */
export function entryHealthcheck(check: Healthcheck | false): EntryHealthcheck {
  if (!check) return false;
  const timing = { intervalMs: check.intervalMs, timeoutMs: check.timeoutMs, healthyThreshold: check.healthyThreshold };
  return check.type === "http" ? { type: "http", path: check.path, ...timing } : { type: "tcp", ...timing };
}
