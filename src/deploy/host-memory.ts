// Whether new instances fit in this host's memory, decided before anything boots: a deploy that
// would push the host into swap or the OOM killer takes the serving version down with it.
import { readFileSync } from "node:fs";
import { IngotError } from "../errors.ts";
import { detectAccelerator } from "../vm/qemu-args.ts";

/**
 * What a QEMU process may hold beside its guest's RAM, in MiB: device state, libslirp, its heap,
 * and under TCG the translation cache, which grows with the code the guest runs. Sampled RSS minus
 * guest RAM during the test suite under TCG (docs/benchmarks.md, "Memory per instance"): at most
 * 9 MiB for the ELF test server, up to 147 MiB for a Node app at 256 MiB. KVM has no translation
 * cache: an estimate, as this host has no /dev/kvm to measure with.
 */
export const QEMU_OVERHEAD_MIB = { tcg: 192, kvm: 64 } as const;

export interface HostMemory {
  /** MemAvailable: what the kernel can give without swapping. */
  availableMiB: number;
  totalMiB: number;
}

export interface MemoryPlan {
  neededMiB: number;
  availableMiB: number;
  /** Kept free for the host itself (ingot, HAProxy, the page cache): a tenth of its memory, at least 512 MiB. */
  reserveMiB: number;
  fits: boolean;
}

/**
 * @example
 * memoryPlan({ instances: 3, memoryMiB: 512 }, { availableMiB: 2048, totalMiB: 8192 }, "kvm");
 * // { neededMiB: 1728, availableMiB: 2048, reserveMiB: 819, fits: false }
 */
export function memoryPlan(boot: { instances: number; memoryMiB: number }, host: HostMemory, accelerator: "kvm" | "tcg" = "tcg"): MemoryPlan {
  const neededMiB = boot.instances * (boot.memoryMiB + QEMU_OVERHEAD_MIB[accelerator]);
  const reserveMiB = Math.max(512, Math.floor(host.totalMiB / 10));
  return { neededMiB, availableMiB: host.availableMiB, reserveMiB, fits: neededMiB + reserveMiB <= host.availableMiB };
}

/** /proc/meminfo's MemAvailable and MemTotal; undefined where it cannot be read (not Linux). */
export function hostMemory(meminfo = readMeminfo()): HostMemory | undefined {
  const field = (name: string): number | undefined => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(meminfo ?? "");
    return match ? Math.floor(Number(match[1]) / 1024) : undefined;
  };
  const [availableMiB, totalMiB] = [field("MemAvailable"), field("MemTotal")];
  return availableMiB === undefined || totalMiB === undefined ? undefined : { availableMiB, totalMiB };
}

/**
 * Refuses, with the figures, to boot `instances` of `memoryMiB` each for `what` when they would not
 * fit; a host whose memory cannot be read is not refused.
 */
export function assertMemoryForInstances(what: string, boot: { instances: number; memoryMiB: number }, host = hostMemory()): void {
  if (!host) return;
  const plan = memoryPlan(boot, host, detectAccelerator());
  if (plan.fits) return;
  throw new IngotError(
    `Cannot ${what} as ${boot.instances} instance${boot.instances === 1 ? "" : "s"} of ${boot.memoryMiB} MiB need ${plan.neededMiB} MiB with QEMU's own, `
    + `and the host has ${plan.availableMiB} MiB available of which it keeps ${plan.reserveMiB} MiB for itself`,
    { code: "host-memory", hint: "Lower instances or memory for this environment in ingot.yaml, or stop an environment you do not need (ingot stop --env E)" },
  );
}

function readMeminfo(): string | undefined {
  try {
    return readFileSync("/proc/meminfo", "utf8");
  } catch {
    return undefined;
  }
}
