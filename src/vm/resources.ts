// Bounds on an instance's CPUs and memory, checked before QEMU starts: past them QEMU fails with a
// raw message, or the guest thrashes the host.
import { availableParallelism, totalmem } from "node:os";
import { IngotError } from "../errors.ts";

/** q35's practical limit for a guest ingot runs; more vCPUs than host cores only adds contention. */
export const MAX_CPUS = 64;
/** Below this no kernel boots; the image's own floor (assertMemoryFits) is usually higher. */
export const MIN_MEMORY_MIB = 16;

export interface Host { cores: number; memoryMiB: number }

export function thisHost(): Host {
  return { cores: availableParallelism(), memoryMiB: Math.floor(totalmem() / 2 ** 20) };
}

/**
 * CPUs from 1 to the host's cores (at most 64); memory from 16 MiB to the host's memory. Checks
 * what is given, so the CLI can check its flags before a build and the boot the final values.
 *
 * @example
 * assertResources({ cpus: 4, memoryMiB: 512 }, { cores: 2, memoryMiB: 8192 }); // throws: 4 CPUs on 2 cores
 */
export function assertResources(resources: { cpus?: number | undefined; memoryMiB?: number | undefined }, host: Host = thisHost()): void {
  const maxCpus = Math.min(MAX_CPUS, host.cores);
  const { cpus, memoryMiB } = resources;
  if (cpus !== undefined && !(Number.isInteger(cpus) && cpus >= 1 && cpus <= maxCpus)) {
    throw new IngotError(`Cannot boot with ${cpus} CPUs as this machine allows 1 to ${maxCpus}`, {
      code: "resources-out-of-range", hint: `Use --cpus ${maxCpus} or fewer (${host.cores} host cores; ingot allows at most ${MAX_CPUS})`,
    });
  }
  if (memoryMiB !== undefined && !(Number.isInteger(memoryMiB) && memoryMiB >= MIN_MEMORY_MIB && memoryMiB <= host.memoryMiB)) {
    throw new IngotError(`Cannot boot with ${memoryMiB} MiB of memory as this machine allows ${MIN_MEMORY_MIB} to ${host.memoryMiB} MiB`, {
      code: "resources-out-of-range", hint: `Use --memory with a size up to ${host.memoryMiB}M`,
    });
  }
}
