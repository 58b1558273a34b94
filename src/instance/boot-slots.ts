// At most one instance per host core boots at once. Under QEMU's software emulation (TCG) a boot is
// CPU bound until the app answers its health check: N boots on fewer cores each take about N/cores
// times as long, so ten at once on two cores would each run into their health timeout together.
// One BootSlots per control plane, shared by deploys, ingot scale and the capacity keeper's
// replacements (DeployEngine.bootInstance). A boot waits for its slot before it starts, so the wait
// eats none of the instance's health timeout, which starts with the boot.
import { availableParallelism } from "node:os";
import { IngotError } from "../errors.ts";
import { waitHealthy } from "../vm/health.ts";
import { APP_STARTED_LINE } from "../vm/init-lines.ts";
import { BOOT_TIMEOUT_MS, type Instance } from "./instance.ts";
import type { InstanceChange } from "./live-instances.ts";

/** Overrides the number of boots at once (benches compare bounded with unbounded boots). */
export const BOOT_PARALLELISM_VARIABLE = "INGOT_BOOT_PARALLELISM";

/**
 * @example
 * const slots = new BootSlots(bootParallelism());
 * const instance = await slots.boot(() => live.boot(spec, origin), { subscribe: live.subscribe.bind(live), healthyMs: 120_000 });
 */
export class BootSlots {
  readonly #waiting: Array<() => void> = [];
  #inUse = 0;

  constructor(readonly size: number) {}

  /** Boots that hold a slot now. */
  get inUse(): number {
    return this.#inUse;
  }

  /** Boots that wait for one, in the order they asked. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Resolves with the function that gives the slot back (once; a second call does nothing), first come first served. */
  acquire(): Promise<() => void> {
    return new Promise((resolve) => {
      const grant = (): void => {
        this.#inUse += 1;
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.#inUse -= 1;
          this.#waiting.shift()?.();
        });
      };
      if (this.#inUse < this.size) grant();
      else this.#waiting.push(grant);
    });
  }

  /**
   * Starts a boot once a slot is free and holds the slot until the instance is booted (whenBooted);
   * a boot that fails gives it back at once.
   */
  async boot(start: () => Promise<Instance>, watch: { subscribe: (listener: (change: InstanceChange) => void) => () => void; healthyMs: number }): Promise<Instance> {
    const release = await this.acquire();
    let instance: Instance;
    try {
      instance = await start();
    } catch (error) {
      release();
      throw error;
    }
    void whenBooted(instance, watch.subscribe, watch.healthyMs).finally(release);
    return instance;
  }
}

/**
 * Resolves when the instance no longer needs the CPU to boot: its app passes its health check (or
 * has started, for an image without one), it left booting (healthy, failed, stopped), its VM ended,
 * or its health timeout passed. Its own probe, because a deploy waits for its instances to be
 * healthy only after all of them booted: waiting for that would never free a slot for the last ones.
 */
export async function whenBooted(instance: Instance, subscribe: (listener: (change: InstanceChange) => void) => () => void, healthyMs: number): Promise<void> {
  const probe = new AbortController();
  let unsubscribe = (): void => {};
  const leftBooting = new Promise<void>((resolve) => {
    unsubscribe = subscribe((change) => { if (change.instance === instance.id && change.state !== "booting") resolve(); });
    if (instance.state !== "booting") resolve();
  });
  const { vm } = instance.running;
  const ended = vm.exited.then(() => {}, () => {});
  const answers = (async () => {
    await vm.waitForLine(APP_STARTED_LINE, BOOT_TIMEOUT_MS);
    const check = instance.manifest.healthcheck;
    if (check) await waitHealthy({ ...check, startTimeoutMs: healthyMs }, "127.0.0.1", instance.servicePort, probe.signal);
  })().catch(() => {});
  try {
    await Promise.race([leftBooting, ended, answers]);
  } finally {
    probe.abort();
    unsubscribe();
  }
}

/**
 * The host's cores, or INGOT_BOOT_PARALLELISM when set.
 *
 * @example
 * bootParallelism({}, 2);                               // 2
 * bootParallelism({ INGOT_BOOT_PARALLELISM: "10" }, 2); // 10
 */
export function bootParallelism(environment: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): number {
  const override = environment[BOOT_PARALLELISM_VARIABLE];
  if (override === undefined || override === "") return cores;
  if (!/^\d+$/.test(override) || Number(override) < 1) {
    throw new IngotError(`Cannot use ${BOOT_PARALLELISM_VARIABLE} as it must be a whole number of boots at once, at least 1: got "${override}"`, {
      code: "boot-parallelism-invalid", hint: `Unset it to boot one instance per core (${cores} here), or set it to e.g. ${cores * 2}`,
    });
  }
  return Number(override);
}
