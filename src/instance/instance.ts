// One instance of an image in an environment, as the control plane sees it: a provider's running
// VM plus its recorded state. Every state change happens in `#move`, which checks it against the
// one rule (instance-state.ts), records it and announces it as a structured StateChange.
import type { ImageManifest } from "../image/manifest.ts";
import { IngotError } from "../errors.ts";
import type { InstanceSpec, Provider, RunningInstance } from "../providers/provider.ts";
import type { InstanceRecord, InstanceRecords } from "../state/instances.ts";
import { waitHealthy } from "../vm/health.ts";
import { APP_STARTED_LINE, type ListeningSocket } from "../vm/init-lines.ts";
import { followedPort, listeningHint, listeningProblem } from "./listening-port.ts";
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
  /** The guest port the service port leads to: the declared one, unless the instance follows the app. */
  #servedGuestPort: number | undefined;
  /** Why the service port could not be led to where the app listens, when it could not. */
  #followFailure: string | undefined;

  private constructor(readonly id: string, readonly environment: string | null, readonly imageDigest: string, readonly manifest: ImageManifest,
    readonly running: RunningInstance, state: InstanceState, private readonly context: InstanceContext) {
    this.#state = state;
    this.#servedGuestPort = this.expectedGuestPort;
    if (manifest.portSource !== undefined) this.#followListening();
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

  /**
   * The host port of the port the app serves on: the health check's, else the first declared. When
   * ingot.yaml declares no port it leads to where the app listens (servedGuestPort), so the health
   * check and the entry point follow the app without knowing.
   */
  get servicePort(): number {
    const guestPort = this.expectedGuestPort;
    const hostPort = guestPort === undefined ? undefined : this.running.location.ports[String(guestPort)];
    if (hostPort === undefined) {
      throw new IngotError(`Cannot serve instance ${this.id} through an entry point as its image declares no port`, { code: "instance-no-port", hint: "Declare the port the app listens on under ports: in ingot.yaml" });
    }
    return hostPort;
  }

  /** The guest port behind servicePort: the image's, or the first port the app listens on when the instance follows it. */
  get servedGuestPort(): number | undefined {
    return this.#servedGuestPort;
  }

  /** The guest port the image expects its app on (its PORT): the health check's, else the first of its ports. */
  get expectedGuestPort(): number | undefined {
    const check = this.manifest.healthcheck;
    return (check ? this.manifest.ports[check.port] : undefined) ?? Object.values(this.manifest.ports)[0];
  }

  /**
   * Leads the service port to the first port the app listens on, each time init reports a change
   * (listening-port.ts); back to the declared one when the app listens there after all.
   */
  #followListening(): void {
    const expected = this.expectedGuestPort;
    const hostPort = expected === undefined ? undefined : this.running.location.ports[String(expected)];
    if (expected === undefined || hostPort === undefined) return;
    const { vm } = this.running;
    let leading = Promise.resolve();
    const follow = (sockets: ListeningSocket[]): void => {
      const guestPort = followedPort(expected, sockets);
      if (guestPort === this.#servedGuestPort) return;
      this.#servedGuestPort = guestPort;
      // One change at a time, in the order init reported them.
      leading = leading.then(() => this.running.leadPort(hostPort, guestPort)).then(
        () => { this.#followFailure = undefined; },
        (error: unknown) => { this.#followFailure = (error as Error).message; },
      );
    };
    vm.on("listening", follow);
    if (vm.listening) follow(vm.listening);
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
      if (check) await Promise.race([waitHealthy({ ...check, startTimeoutMs: timeoutMs }, "127.0.0.1", this.servicePort, signal).catch((error: unknown) => { throw this.#whereItListens(error); }), gone]);
      this.#move("healthy");
    } catch (error) {
      if (this.#state === "booting") this.#move("failed", (error as Error).message.split("\n")[0]);
      throw error;
    } finally {
      gone.catch(() => {});
    }
  }

  /** A health timeout says what init reported of where the app listens, which is usually why. */
  #whereItListens(error: unknown): unknown {
    const expected = this.#servedGuestPort;
    if (!(error instanceof IngotError) || error.code !== "health-timeout" || expected === undefined) return error;
    const { listening } = this.running.vm;
    const problem = this.#followFailure ?? listeningProblem(expected, listening);
    if (!problem) return error;
    const hint = this.#followFailure ? "Declare the port the app listens on under ports: in ingot.yaml" : listeningHint(expected, listening);
    return new IngotError(`${error.message} (${problem})`, { code: error.code, hint, cause: error });
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
