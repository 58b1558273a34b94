// `npm run bench:instances`: the figures of a running instance. Boot to healthy broken down (the
// example app and an ELF program), q35 against microvm, the smallest memory the example app serves
// in, and what runs inside the guest (processes, memory used).
// Usage: npm run bench:instances -- [--boots N] [--vault DIR] [--only machines,forms,memory,guest]
// A run of some sections keeps the other sections' last figures in bench/results/instances.json.
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildImage, type BuildResult } from "../src/image/build.ts";
import { Vault } from "../src/vault/vault.ts";
import { bootImage } from "../src/vm/boot-image.ts";
import { bootTimeline, type BootTimeline, type TimedLine } from "../src/vm/boot-timeline.ts";
import { assembleInitrd, minimumMemoryMiB, type InitrdForm } from "../src/vm/initrd.ts";
import { memoryNeededMiB } from "../src/vm/initrd-plan.ts";
import { kernelFile } from "../src/vm/kernel-file.ts";
import { DEFAULT_MACHINE } from "../src/vm/qemu-args.ts";
import { bootToHealthy, median, memoryFloor, timeToHttp200 } from "./measure.ts";

const { values } = parseArgs({
  options: {
    boots: { type: "string", default: "5" },
    vault: { type: "string", default: join(tmpdir(), "ingot-bench-vault") },
    only: { type: "string", default: "machines,forms,memory,guest" },
  },
});
const sections = new Set(values.only.split(","));
const RESULTS = "bench/results/instances.json";
const boots = Number(values.boots);
const log = (line: string): void => console.error(`bench: ${line}`);

/** Machine types to compare, as data: the -machine value without the accelerator. */
const MACHINES: Record<string, string> = {
  "q35": "q35",
  "q35, no SATA/SMBus (default)": DEFAULT_MACHINE,
  "microvm (PCIe, ACPI)": "microvm,pcie=on,acpi=on,rtc=on",
};

interface BootRun {
  healthyMs: number;
  timeline: BootTimeline | undefined;
  /** Ctrl-Alt-Del reached the app and QEMU exited within 10 s. */
  gracefulStop: boolean;
}

/** Boots, waits for HTTP 200 on /health, then stops it gracefully and notes whether that worked. */
async function bootOnce(vault: Vault, image: BuildResult, machine?: string, timeoutMs = 90_000): Promise<BootRun> {
  const instance = await bootImage(vault, image.digest, image.manifest, { memoryMiB: 512, cpus: 1, ...(machine ? { machine } : {}) });
  const { vm } = instance;
  const lines: TimedLine[] = [];
  vm.on("line", (line: string) => lines.push({ atMs: performance.now() - vm.startedAt, line }));
  try {
    const healthyMs = await timeToHttp200(vm, `http://127.0.0.1:${instance.forwards[0]!.hostPort}/health`, timeoutMs);
    const stopStarted = performance.now();
    await vm.stop(10_000);
    const gracefulStop = vm.console.some((line) => line.includes("stopping app")) && performance.now() - stopStarted < 10_000;
    return { healthyMs, timeline: bootTimeline(lines, healthyMs), gracefulStop };
  } finally {
    vm.kill();
    await vm.exited.catch(() => {});
    await instance.dispose();
  }
}

function summarize(runs: BootRun[]): Record<string, number | boolean> {
  const pick = (key: keyof BootTimeline): number => Math.round(median(runs.map((run) => run.timeline?.[key] ?? Number.NaN)));
  return {
    healthyMs: Math.round(median(runs.map((run) => run.healthyMs))),
    qemuToKernelMs: pick("qemuToKernelMs"), kernelToInitMs: pick("kernelToInitMs"), initToAppMs: pick("initToAppMs"), appToHealthyMs: pick("appToHealthyMs"),
    gracefulStop: runs.every((run) => run.gracefulStop),
  };
}

/**
 * Boots one initrd form at `memoryMiB` without ingot's own memory check: when init started (guest
 * clock) and when /health answered, or undefined when it never did.
 */
async function bootForm(vault: Vault, image: BuildResult, form: InitrdForm, memoryMiB: number): Promise<{ initStartedS: number; healthyMs: number } | undefined> {
  const booted = await bootToHealthy({
    kernel: await kernelFile(vault, image.manifest.kernel), initrd: await assembleInitrd(vault, image.digest, image.manifest, form), cmdline: image.manifest.kernel.cmdline, memoryMiB,
  });
  if (!booted) return undefined;
  const initStarted = /\[(\d+\.\d+)\] init started/.exec(booted.console.find((line) => line.includes("init started")) ?? "");
  return { initStartedS: Number(initStarted?.[1]), healthyMs: booted.healthyMs };
}

/** The smallest memory (8 MiB steps) a form serves /health in. */
async function floorOf(vault: Vault, image: BuildResult, form: InitrdForm): Promise<{ serves: number; fails: number }> {
  return memoryFloor(64, 512, async (memoryMiB) => {
    const serves = (await bootForm(vault, image, form, memoryMiB)) !== undefined;
    log(`${form} at ${memoryMiB} MiB: ${serves ? "serves" : "fails"}`);
    return serves;
  });
}

const work = await mkdtemp(join(tmpdir(), "ingot-bench-instances-"));
try {
  const vault = await Vault.open(values.vault);
  log("building examples/hello, an ELF program and bench/apps/proc-report");
  const hello = await buildImage("examples/hello", { vault });
  // The initrd forms' sections measure the form the disk layers replace (bench:disks compares the two).
  const helloInitrd = await buildImage("examples/hello", { vault, form: "initrd" });
  execFileSync("gcc", ["-O2", "-o", join(work, "server"), "test/fixtures/http-server.c"]);
  await writeFile(join(work, "ingot.yaml"), "name: elf-bench\nversion: 1.0.0\nruntime: elf\ncommand: [./server]\nports:\n  http: 8080\nhealthcheck:\n  path: /health\n");
  const elf = await buildImage(work, { vault });
  const report = await buildImage("bench/apps/proc-report", { vault });

  const result: Record<string, unknown> = JSON.parse(await readFile(RESULTS, "utf8").catch(() => "{}")) as Record<string, unknown>;
  // Sections keep the command that measured them: a later run of other sections leaves them as they are.
  const command = `npm run bench:instances -- --boots ${boots} --only ${values.only}`;
  delete result.command;
  Object.assign(result, { machine: `${execFileSync("nproc").toString().trim()} cores, software emulation (TCG)`, kernel: hello.manifest.kernel.version });

  if (sections.has("machines")) {
    log(`${boots} boots per machine type, interleaved (examples/hello, 512 MiB, 1 CPU)`);
    const byMachine = new Map<string, BootRun[]>(Object.keys(MACHINES).map((name) => [name, []]));
    const elfRuns: BootRun[] = [];
    const failures = new Map<string, number>();
    for (let round = 0; round < boots; round++) {
      for (const [name, machine] of Object.entries(MACHINES)) {
        const run = await bootOnce(vault, hello, machine).catch((error: Error) => {
          log(`${name}: ${error.message.split("\n").slice(0, 1).concat(error.message.split("\n").slice(-4)).join("\n    ")}`);
          failures.set(name, (failures.get(name) ?? 0) + 1);
          return undefined;
        });
        if (run) byMachine.get(name)!.push(run);
        log(`round ${round + 1} ${name}: ${run ? `${(run.healthyMs / 1000).toFixed(2)} s, graceful stop ${run.gracefulStop}` : "failed"}`);
      }
      elfRuns.push(await bootOnce(vault, elf));
      log(`round ${round + 1} ELF program: ${(elfRuns.at(-1)!.healthyMs / 1000).toFixed(2)} s`);
    }
    result.machineTypes = Object.fromEntries([...byMachine].map(([name, runs]) => [name, { runs: runs.length, failedBoots: failures.get(name) ?? 0, ...(runs.length ? summarize(runs) : {}) }]));
    result.elfProgram = { command, ...summarize(elfRuns) };
    result.machineTypes = { command, ...(result.machineTypes as object) };
  }

  if (sections.has("forms")) {
    log(`${boots} boots per initrd form at 256 MiB, interleaved (examples/hello)`);
    const byForm = new Map<InitrdForm, { initStartedS: number; healthyMs: number }[]>([["compressed", []], ["lz4-last", []]]);
    for (let round = 0; round < boots; round++) {
      for (const [form, runs] of byForm) {
        const run = await bootForm(vault, helloInitrd, form, 256);
        if (run) runs.push(run);
        log(`round ${round + 1} ${form}: ${run ? `init started ${run.initStartedS} s, healthy ${(run.healthyMs / 1000).toFixed(2)} s` : "failed"}`);
      }
    }
    result.initrdFormsAt256MiB = {
      command,
      ...Object.fromEntries([...byForm].map(([form, runs]) => [form, {
        runs: runs.length, initStartedS: median(runs.map((run) => run.initStartedS)), healthyMs: Math.round(median(runs.map((run) => run.healthyMs))),
        chosenFromMiB: memoryNeededMiB(helloInitrd.manifest, form),
      }])),
    };
  }

  if (sections.has("memory")) {
    log("smallest memory examples/hello serves in, per initrd form (8 MiB steps)");
    result.smallestMemoryMiB = {
      command,
      compressed: await floorOf(vault, helloInitrd, "compressed"),
      "lz4-last": await floorOf(vault, helloInitrd, "lz4-last"),
      ingotRefusesBelow: minimumMemoryMiB(helloInitrd.manifest),
    };
  }

  if (sections.has("guest")) {
    log("processes and memory inside the guest (bench/apps/proc-report, 256 MiB)");
    const instance = await bootImage(vault, report.digest, report.manifest, { memoryMiB: 256, cpus: 1 });
    let inside: { processes: { pid: number; comm: string; threads: number; kernelThread: boolean }[]; memoryKiB: { total: number; used: number } };
    try {
      const url = `http://127.0.0.1:${instance.forwards[0]!.hostPort}`;
      await timeToHttp200(instance.vm, `${url}/health`, 180_000);
      inside = await (await fetch(`${url}/`)).json() as typeof inside;
    } finally {
      instance.vm.kill();
      await instance.vm.exited.catch(() => {});
      await instance.dispose();
    }
    const userProcesses = inside.processes.filter((process) => !process.kernelThread);
    result.guest = {
      command,
      userProcesses: userProcesses.map((process) => `${process.pid} ${process.comm} (${process.threads} threads)`),
      kernelThreads: inside.processes.length - userProcesses.length,
      memoryUsedMiB: Math.round(inside.memoryKiB.used / 1024),
      memoryTotalMiB: Math.round(inside.memoryKiB.total / 1024),
    };
  }
  console.log(JSON.stringify(result, null, 2));
  await writeFile(RESULTS, JSON.stringify(result, null, 2) + "\n");
} finally {
  await rm(work, { recursive: true, force: true });
}
