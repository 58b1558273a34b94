// Measuring helpers for the benchmarks: medians, file and ELF counts of a tree, time to first HTTP
// 200, and what every control-plane bench does at its end (its figures saved, its home ended).
import { lstat, open, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "../src/vm/free-port.ts";
import type { VmSpec } from "../src/vm/qemu-args.ts";
import { QemuVm } from "../src/vm/qemu-vm.ts";
import { endControlPlane } from "../test/control-plane.ts";

/** Writes a bench's figures to bench/results/NAME.json (docs/benchmarks.md quotes them) and prints them. */
export async function saveResult(name: string, result: unknown): Promise<void> {
  await writeFile(`bench/results/${name}.json`, JSON.stringify(result, null, 2) + "\n");
  console.log(JSON.stringify(result, null, 2));
}

/** Ends what a control-plane bench started in its home (server, instances, entry points), then removes it and its work folder. */
export async function endBenchHome(home: { path: string; remove: () => Promise<void> }, work: string): Promise<void> {
  await endControlPlane(home.path);
  await home.remove();
  await rm(work, { recursive: true, force: true });
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Regular files, ELF files among them (by their magic) and their bytes, below `dir`. */
export async function countTree(dir: string): Promise<{ files: number; elfFiles: number; bytes: number }> {
  const counts = { files: 0, elfFiles: 0, bytes: 0 };
  const magic = Buffer.alloc(4);
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        counts.files++;
        counts.bytes += (await lstat(path)).size;
        const handle = await open(path, "r");
        const { bytesRead } = await handle.read(magic, 0, 4, 0);
        await handle.close();
        if (bytesRead === 4 && magic.toString("latin1") === "\x7fELF") counts.elfFiles++;
      }
    }
  };
  await walk(dir);
  return counts;
}

/** Milliseconds from QEMU's start to the first 200 from `url`; polls every 100 ms for up to 5 minutes. */
export async function timeToHttp200(vm: QemuVm, url: string, timeoutMs = 300_000): Promise<number> {
  while (performance.now() - vm.startedAt < timeoutMs) {
    if (vm.state === "stopped") throw new Error(`The VM stopped before ${url} answered:\n${vm.console.slice(-20).join("\n")}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status === 200) return performance.now() - vm.startedAt;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${vm.console.slice(-20).join("\n")}`);
}

/** What a bench boots: the kernel and layers, at a memory size; one CPU under software emulation, the app on 8080. */
export type BenchBoot = Pick<VmSpec, "kernel" | "initrd" | "layerDisks" | "cmdline" | "memoryMiB">;

/**
 * Boots without ingot's own memory check: ms from QEMU's start to /health's first 200 and the
 * console, or undefined when it never answered. The VM is killed either way.
 */
export async function bootToHealthy(boot: BenchBoot, timeoutMs = 120_000): Promise<{ healthyMs: number; console: string[] } | undefined> {
  const hostPort = await freePort();
  const vm = QemuVm.start({ ...boot, cpus: 1, forwards: [{ hostPort, guestPort: 8080 }], accelerator: "tcg" });
  try {
    return { healthyMs: await timeToHttp200(vm, `http://127.0.0.1:${hostPort}/health`, timeoutMs), console: vm.console };
  } catch {
    return undefined;
  } finally {
    vm.kill();
    await vm.exited.catch(() => {});
  }
}

/**
 * The smallest memory, in 8 MiB steps between `low` (known to fail) and `high` (known to serve),
 * for which `serves` is true.
 *
 * @example
 * await memoryFloor(32, 256, async (mib) => mib >= 48); // { serves: 48, fails: 40 }
 */
export async function memoryFloor(low: number, high: number, serves: (memoryMiB: number) => Promise<boolean>): Promise<{ serves: number; fails: number }> {
  while (high - low > 8) {
    const middle = Math.round((low + high) / 16) * 8;
    if (await serves(middle)) high = middle;
    else low = middle;
  }
  return { serves: high, fails: low };
}
