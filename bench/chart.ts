// `npm run bench:chart`: draws "where the time goes" for docs/benchmarks.md from the figures the
// benches last saved — a boot (bench/results/instances.json) and a blue/green deploy
// (bench/results/deploy.json) — into docs/boot-time.svg and docs/deploy-time.svg. It measures
// nothing itself, so a chart always shows the run the tables beside it quote.
import { readFile, writeFile } from "node:fs/promises";
import { timelineSvg, type TimelineChart } from "./timeline-chart.ts";

export const CHART_COMMAND = "npm run bench:chart";

/** The part of bench/results/instances.json a boot chart reads (bench/instances.ts writes it). */
export interface InstancesResult {
  machine: string;
  machineTypes: { command: string } & Record<string, { runs?: number; healthyMs: number; qemuToKernelMs: number; kernelToInitMs: number; initToAppMs: number; appToHealthyMs: number } | string>;
}

/** The part of bench/results/deploy.json a deploy chart reads (bench/deploy.ts writes it). */
export interface DeployResult {
  command: string;
  machine: string;
  apps: Record<string, { label: string; summary: { succeeded: number; medianMs: Record<string, number> } }>;
}

/** The machine type ingot boots by default (DEFAULT_MACHINE in src/vm/qemu-args.ts), as the bench names it. */
const DEFAULT_MACHINE = "q35, no SATA/SMBus";

export function bootChart(result: InstancesResult): TimelineChart {
  const boot = result.machineTypes[DEFAULT_MACHINE];
  if (typeof boot !== "object") throw new Error(`Cannot draw the boot chart as instances.json has no "${DEFAULT_MACHINE}" machine`);
  return {
    title: "Boot to healthy: examples/hello (Node 22), one instance",
    caption: `QEMU start to the first HTTP 200 on /health; each phase the median of ${boot.runs} boots (median boot ${seconds(boot.healthyMs)}), ${result.machine}`,
    command: result.machineTypes.command.replace(/ \(.*\)$/, ""),
    phases: [
      { name: "QEMU start → kernel", ms: boot.qemuToKernelMs },
      { name: "kernel → init", ms: boot.kernelToInitMs },
      { name: "init: network, metadata → app", ms: boot.initToAppMs },
      { name: "app start → healthy", ms: boot.appToHealthyMs },
    ],
  };
}

/** The deploy steps in the order a blue/green deploy runs them (src/deploy/deploy-plan.ts), with the names the chart gives them. */
const DEPLOY_PHASES: [step: string, name: string][] = [
  ["beforeBoot", "plan and record the deploy"],
  ["boot", "boot green: start QEMU"],
  ["wait-healthy", "green → healthy"],
  ["add-to-entry", "add green to the entry point"],
  ["wait-up", "green UP in HAProxy"],
  ["switch", "switch traffic"],
  ["drain", "drain blue"],
  ["stop", "stop blue"],
];

export function deployChart(result: DeployResult, app = "node"): TimelineChart {
  const figures = result.apps[app];
  if (!figures) throw new Error(`Cannot draw the deploy chart as deploy.json has no app ${app}`);
  const phases = DEPLOY_PHASES.map(([step, name]) => {
    const ms = figures.summary.medianMs[step];
    if (ms === undefined) throw new Error(`Cannot draw the deploy chart as deploy.json has no median for the step ${step}`);
    return { name, ms };
  });
  return {
    title: `Blue/green deploy under load: ${figures.label}`,
    caption: `Each step the median of ${figures.summary.succeeded} deploys (median from the call to the end ${seconds(figures.summary.medianMs.total ?? Number.NaN)}), ${result.machine}`,
    command: result.command,
    phases,
  };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** The charts and the files they go to, from the saved results. */
export async function charts(): Promise<{ path: string; svg: string }[]> {
  const read = async <T>(name: string): Promise<T> => JSON.parse(await readFile(`bench/results/${name}.json`, "utf8")) as T;
  return [
    { path: "docs/boot-time.svg", svg: timelineSvg(bootChart(await read<InstancesResult>("instances"))) },
    { path: "docs/deploy-time.svg", svg: timelineSvg(deployChart(await read<DeployResult>("deploy"))) },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const { path, svg } of await charts()) {
    await writeFile(path, svg);
    console.log(`wrote ${path}`);
  }
}
