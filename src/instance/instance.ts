// One instance of an image in an environment, as the control plane sees it: a provider's running
// VM plus its recorded state. Every state change happens in `#move`, which checks it against the
// one rule (instance-state.ts), records it and announces it as a structured StateChange.
import type { ImageManifest } from "../image/manifest.ts";
import { IngotError } from "../errors.ts";
import type { InstanceSpec, Provider, RunningInstance } from "../providers/provider.ts";
import type { InstanceRecord, InstanceRecords } from "../state/instances.ts";
import { waitHealthy } from "../vm/health.ts";
import { APP_STARTED_LINE } from "../vm/init-lines.ts";
import { type InstanceState, type StateChange, transition } from "./instance-state.ts";

/** How long init may take from QEMU's start to starting the app before the boot counts as hung. */
export const BOOT_TIMEOUT_MS = 5 * 60_000;
/** Console lines kept with a failure, as the deploy history shows them. */
const LAST_LINES = 15;

export interface InstanceContext {
  /** Where the control plane keeps the instance's record; `ingot run`'s instance is kept by nobody. */
  records?: InstanceRecords;
  /** Receives every state change (the history, the terminal, the log store); a failure carries the last console lines. */
  onChange: (change: StateChange & { environment: string | null; lastLines?: string[] }) => void;
}

/**
 * @example
 * const instance = await Instance.boot(provider, spec, { records, onChange }, { deployment: 12 });
 * await instance.waitHealthy(120_000, signal); // healthy, or failed with the reason and its last console lines
 * await instance.stop(15_000);
 */
export class Instance {
  #state: InstanceState;

  private constructor(readonly id: string, readonly environment: string | null, readonly imageDigest: string, readonly manifest: ImageManifest,
    readonly running: RunningInstance, state: InstanceState, private readonly context: InstanceContext) {
    this.#state = state;
  }

  /** Records the instance as booting, then boots it; a boot that fails leaves it recorded as failed. */
  static async boot(provider: Provider, spec: InstanceSpec, context: InstanceContext, origin: { deployment?: number } = {}): Promise<Instance> {
    context.records?.add({ id: spec.id, environment: spec.environment, imageDigest: spec.imageDigest, ...origin });
    let running: RunningInstance;
    try {
      running = await provider.boot(spec);
    } catch (error) {
      context.records?.setState(spec.id, "failed");
      context.onChange({ ...transition(spec.id, "booting", "failed", (error as Error).message), environment: spec.environment });
      throw error;
    }
    context.records?.update(spec.id, running.location);
    return new Instance(spec.id, spec.environment, spec.imageDigest, spec.manifest, running, "booting", context);
  }

  /** Takes over a recorded instance that still runs (after a restart of the control plane). */
  static async adopt(provider: Provider, record: InstanceRecord, manifest: ImageManifest, context: InstanceContext): Promise<Instance> {
    const { pid, processStart, qmpSocket, runDir } = record;
    if (pid === null || processStart === null || qmpSocket === null || runDir === null) {
      throw new IngotError(`Cannot adopt instance ${record.id} as its process was never recorded`, { code: "instance-gone", hint: "It is replaced" });
    }
    const running = await provider.adopt({ pid, processStart, qmpSocket, runDir, ports: record.ports }, { id: record.id, environment: record.environment ?? "", manifest });
    return new Instance(record.id, record.environment, record.imageDigest, manifest, running, record.state, context);
  }

  get state(): InstanceState {
    return this.#state;
  }

  /** The host port of the port the app serves on: the health check's, else the first declared. */
  get servicePort(): number {
    const check = this.manifest.healthcheck;
    const guestPort = (check && this.manifest.ports[check.port]) ?? Object.values(this.manifest.ports)[0];
    const hostPort = guestPort === undefined ? undefined : this.running.location.ports[String(guestPort)];
    if (hostPort === undefined) {
      throw new IngotError(`Cannot serve instance ${this.id} through an entry point as its image declares no port`, { code: "instance-no-port", hint: "Declare the port the app listens on under ports: in ingot.yaml" });
    }
    return hostPort;
  }

  /** The last console lines, for a failure's report. */
  lastLines(count = LAST_LINES): string[] {
    return this.running.vm.console.slice(-count);
  }

  /**
   * Waits until init has started the app and its health check passes (`timeoutMs` from the app's
   * start). A crash, a failed boot or the deadline makes it failed, with the reason.
   */
  async waitHealthy(timeoutMs: number, signal: AbortSignal): Promise<void> {
    const { vm } = this.running;
    const gone = vm.exited.then(() => {
      const why = vm.bootFailure ? `its boot failed: ${vm.bootFailure.reason}` : vm.appStatus !== undefined ? `its app exited with status ${vm.appStatus}` : "QEMU exited";
      throw new IngotError(`Cannot call instance ${this.id} healthy as ${why}`, { code: "instance-exited", hint: "Its last console lines say why" });
    });
    try {
      await Promise.race([vm.waitForLine(APP_STARTED_LINE, BOOT_TIMEOUT_MS), gone]);
      const check = this.manifest.healthcheck;
      if (check) await Promise.race([waitHealthy({ ...check, startTimeoutMs: timeoutMs }, "127.0.0.1", this.servicePort, signal), gone]);
      this.#move("healthy");
    } catch (error) {
      if (this.#state === "booting") this.#move("failed", (error as Error).message.split("\n")[0]);
      throw error;
    } finally {
      gone.catch(() => {});
    }
  }

  /** Taken out of its entry point: no new requests reach it. */
  markDraining(): void {
    if (this.#state === "healthy") this.#move("draining");
  }

  /** Stops the VM gracefully; a failed instance stays recorded as failed. */
  async stop(timeoutMs: number): Promise<void> {
    await this.running.stop(timeoutMs);
    if (this.#state !== "failed" && this.#state !== "stopped") this.#move("stopped");
  }

  /** Records that the instance failed while it ran: its process is gone without a stop, or it kept failing its health check. */
  markFailed(reason: string): void {
    if (this.#state !== "failed" && this.#state !== "stopped") this.#move("failed", reason);
  }

  #move(state: InstanceState, reason?: string): void {
    const change = transition(this.id, this.#state, state, reason);
    this.context.records?.setState(this.id, state);
    this.#state = state;
    // Why it failed is mostly on its console: the event keeps the last lines, as the deploy report does.
    this.context.onChange({ ...change, environment: this.environment, ...(state === "failed" ? { lastLines: this.lastLines() } : {}) });
  }
}
