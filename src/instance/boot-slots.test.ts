import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BootSlots, bootParallelism, whenBooted } from "./boot-slots.ts";
import type { Instance } from "./instance.ts";
import type { InstanceChange } from "./live-instances.ts";

/** An instance that boots until told otherwise: its app never starts, its VM ends on `exit()`. */
function bootingInstance(id: string): { instance: Instance; exit: () => void } {
  let exit = (): void => {};
  const exited = new Promise<number | null>((resolve) => { exit = () => resolve(0); });
  const instance = { id, state: "booting", manifest: { healthcheck: false }, running: { vm: { exited, waitForLine: () => new Promise(() => {}) } } };
  return { instance: instance as unknown as Instance, exit };
}

/** Listeners of instance changes, as LiveInstances.subscribe keeps them. */
function changes(): { subscribe: (listener: (change: InstanceChange) => void) => () => void; announce: (instance: string, state: InstanceChange["state"]) => void; listeners: Set<unknown> } {
  const listeners = new Set<(change: InstanceChange) => void>();
  return {
    listeners,
    subscribe: (listener) => { listeners.add(listener); return () => listeners.delete(listener); },
    announce: (instance, state) => { for (const listener of listeners) listener({ msg: "instance state", at: new Date().toISOString(), instance, state, was: "booting", environment: "dev" } as InstanceChange); },
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("BootSlots", () => {
  it("grants at most its size at once, the waiting ones first come first served", async () => {
    const slots = new BootSlots(2);
    const order: string[] = [];
    const first = await slots.acquire();
    const second = await slots.acquire();
    const third = slots.acquire().then((release) => { order.push("third"); return release; });
    const fourth = slots.acquire().then((release) => { order.push("fourth"); return release; });
    await tick();
    assert.deepEqual({ inUse: slots.inUse, waiting: slots.waiting, order }, { inUse: 2, waiting: 2, order: [] });
    first();
    first(); // a second release gives back nothing more
    await tick();
    assert.deepEqual({ inUse: slots.inUse, waiting: slots.waiting, order }, { inUse: 2, waiting: 1, order: ["third"] });
    second();
    (await third)();
    (await fourth)();
    assert.deepEqual({ inUse: slots.inUse, waiting: slots.waiting, order }, { inUse: 0, waiting: 0, order: ["third", "fourth"] });
  });

  it("holds a slot from before the boot until the instance leaves booting, and gives it back when a boot fails", async () => {
    const slots = new BootSlots(1);
    const { subscribe, announce, listeners } = changes();
    const a = bootingInstance("i-a");
    const booted = await slots.boot(async () => a.instance, { subscribe, healthyMs: 1000 });
    assert.equal(booted, a.instance);
    let startedB = false;
    const b = slots.boot(async () => { startedB = true; throw new Error("no QEMU"); }, { subscribe, healthyMs: 1000 });
    await tick();
    assert.equal(startedB, false, "the second boot waits for the first's slot");
    announce("i-other", "healthy");
    await tick();
    assert.equal(startedB, false, "another instance's change frees nothing");
    announce("i-a", "healthy");
    await assert.rejects(b, /no QEMU/);
    assert.deepEqual({ inUse: slots.inUse, listeners: listeners.size }, { inUse: 0, listeners: 0 });
  });

  it("frees the slot of an instance whose VM ends while it boots", async () => {
    const slots = new BootSlots(1);
    const { subscribe } = changes();
    const a = bootingInstance("i-a");
    await slots.boot(async () => a.instance, { subscribe, healthyMs: 1000 });
    assert.equal(slots.inUse, 1);
    a.exit();
    await tick();
    assert.equal(slots.inUse, 0);
  });

  it("knows an instance already past booting is booted", async () => {
    const { subscribe, listeners } = changes();
    const a = bootingInstance("i-a");
    (a.instance as { state: string }).state = "healthy";
    await whenBooted(a.instance, subscribe, 1000);
    assert.equal(listeners.size, 0);
  });
});

describe("bootParallelism", () => {
  it("is the host's cores unless INGOT_BOOT_PARALLELISM says otherwise", () => {
    assert.equal(bootParallelism({}, 2), 2);
    assert.equal(bootParallelism({ INGOT_BOOT_PARALLELISM: "" }, 2), 2);
    assert.equal(bootParallelism({ INGOT_BOOT_PARALLELISM: "10" }, 2), 10);
  });

  it("refuses a value that is not a whole number of boots, with a hint", () => {
    for (const value of ["0", "-1", "two", "1.5"]) {
      assert.throws(() => bootParallelism({ INGOT_BOOT_PARALLELISM: value }, 2), (error: Error & { code?: string; hint?: string }) => error.code === "boot-parallelism-invalid" && error.message.includes(`"${value}"`) && /Unset it/.test(error.hint ?? ""));
    }
  });
});
