import assert from "node:assert/strict";
import { test } from "node:test";
import { IngotError } from "../errors.ts";
import { assertMemoryForInstances, hostMemory, memoryPlan, QEMU_OVERHEAD_MIB } from "./host-memory.ts";

test("instances fit when their memory and QEMU's own leave the host its reserve", () => {
  const host = { availableMiB: 4096, totalMiB: 8192 };
  assert.deepEqual(memoryPlan({ instances: 2, memoryMiB: 256 }, host), { neededMiB: 2 * (256 + QEMU_OVERHEAD_MIB.tcg), availableMiB: 4096, reserveMiB: 819, fits: true });
  assert.equal(memoryPlan({ instances: 8, memoryMiB: 512 }, host).fits, false);
  // Under KVM, QEMU holds no translation cache.
  assert.equal(memoryPlan({ instances: 1, memoryMiB: 128 }, { availableMiB: 710, totalMiB: 1024 }, "kvm").fits, true);
  assert.equal(memoryPlan({ instances: 1, memoryMiB: 128 }, { availableMiB: 710, totalMiB: 1024 }, "tcg").fits, false);
});

test("the host's memory is read from /proc/meminfo, and a refusal gives the figures and what to change", () => {
  assert.deepEqual(hostMemory("MemTotal:       24576000 kB\nMemFree:  100 kB\nMemAvailable:   20480000 kB\n"), { availableMiB: 20000, totalMiB: 24000 });
  assert.equal(hostMemory("nothing here"), undefined);
  assert.ok(hostMemory(), "this host's /proc/meminfo reads");
  assert.throws(() => assertMemoryForInstances("deploy shop:1.0.0 to prod", { instances: 32, memoryMiB: 1024 }, { availableMiB: 20000, totalMiB: 24000 }), (error: IngotError) => {
    assert.equal(error.code, "host-memory");
    assert.match(error.message, /^Cannot deploy shop:1\.0\.0 to prod as 32 instances of 1024 MiB need \d+ MiB with QEMU's own, and the host has 20000 MiB available of which it keeps 2400 MiB for itself$/);
    assert.match(error.hint ?? "", /Lower instances or memory/);
    return true;
  });
});
