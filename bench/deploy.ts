// `npm run bench:deploy`: issue 9's figures. Blue/green deploys through the control plane (in this
// process: openControlPlane and its DeployEngine, with a fresh INGOT_HOME) under a paced wrk load,
// each step's duration from the engine's own events, beside a plain boot of the same image to
// healthy under the same load; then the entry point's overhead: wrk through HAProxy against wrk
// straight to the instance's forwarded port, alternated in the same run.
// Usage: npm run bench:deploy -- [--rounds N] [--seconds S] [--pairs P] [--vault DIR] [--apps elf,node] [--pace-ms MS]
import { execFileSync } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { DeployStep } from "../src/deploy/deploy-plan.ts";
import { deploySettings } from "../src/deploy/deploy-settings.ts";
import { buildImage, type BuildResult } from "../src/image/build.ts";
import { type ControlPlane, openControlPlane } from "../src/server/control-plane.ts";
import { environmentStatus } from "../src/server/environment-status.ts";
import { Vault } from "../src/vault/vault.ts";
import { bootImage } from "../src/vm/boot-image.ts";
import { detectAccelerator } from "../src/vm/qemu-args.ts";
import { endControlPlane, homeWithImages } from "../test/control-plane.ts";
import { median, timeToHttp200 } from "./measure.ts";
import { type LoadCount, runWrk, startLoad, type WrkFigures } from "./wrk.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    seconds: { type: "string", default: "10" },
    pairs: { type: "string", default: "3" },
    vault: { type: "string", default: join(tmpdir(), "ingot-bench-vault") },
    apps: { type: "string", default: "elf,node" },
    "pace-ms": { type: "string", default: "20" },
  },
});
const rounds = Number(values.rounds);
const log = (line: string): void => console.error(`bench: ${line}`);
const ENVIRONMENT = "dev";
/** The entry point's overhead is measured as bench:network measures the guest network. */
const WRK = ["-t1", "-c8", `-d${values.seconds}s`, "--latency"];
/** The load during deploys: per kind of connection, 2 connections each waiting --pace-ms between requests (0: as fast as they can). */
const LOAD = { connections: 2, paceMs: Number(values["pace-ms"]) };
/** Load before a deploy starts and after it ends, so that a switch has a before and an after. */
const MARGIN_MS = 500;

interface BenchApp {
  label: string;
  /** Builds version 1 or 2 (the body of `loadPath` names the version where the app can). */
  build: (vault: Vault, version: number, work: string) => Promise<BuildResult>;
  loadPath: string;
}

const APPS: Record<string, BenchApp> = {
  elf: {
    label: "ELF test server (test/fixtures/http-server.c, 128 MiB)",
    loadPath: "env/VERSION",
    async build(vault, version, work) {
      const folder = join(work, `elf-${version}`);
      await mkdir(folder, { recursive: true });
      execFileSync("gcc", ["-O2", "-o", join(folder, "server"), "test/fixtures/http-server.c"]);
      await writeFile(join(folder, "ingot.yaml"), [
        "name: deploy-bench-elf", `version: ${version}.0.0`, "runtime: elf", "command: [./server]", "ports:", "  http: 8080",
        "healthcheck:", "  path: /health", "resources:", "  memory: 128M", "env:", `  VERSION: "${version}"`, "",
      ].join("\n"));
      return buildImage(folder, { vault });
    },
  },
  node: {
    label: "examples/hello (Node 22, 256 MiB)",
    loadPath: "",
    async build(vault, version, work) {
      const folder = join(work, `hello-${version}`);
      await cp("examples/hello", folder, { recursive: true });
      const yaml = await readFile(join(folder, "ingot.yaml"), "utf8");
      await writeFile(join(folder, "ingot.yaml"), yaml.replace("name: hello\n", `name: hello\nversion: ${version}.0.0\n`).replace("  GREETING: hello\n", `  GREETING: hello\n  VERSION: "${version}"\n`));
      return buildImage(folder, { vault });
    },
  },
};

interface TimedDeploy {
  image: string;
  outcome: string;
  /** Each deploy step's duration, from the engine's events. */
  stepsMs: Partial<Record<DeployStep["kind"], number>>;
  /** From the deploy call to the boot step's start: checks, the entry point, the record. */
  beforeBootMs: number;
  /** Boot step start to wait-healthy done: the new instance's boot to healthy inside the deploy. */
  bootToHealthyMs: number;
  /** From the deploy call to the switch done: the new version serves. */
  servingMs: number;
  totalMs: number;
  /** HAProxy's view of the drained instance while it drains (runtime API, every 500 ms). */
  drainSamples: string[];
  load?: { keptAlive: LoadCount; fresh: LoadCount };
}

interface Round { plainBootToHealthyMs: number; deploy: TimedDeploy }

/** One deploy through the engine, every event timed on arrival. */
async function timedDeploy(plane: ControlPlane, image: string): Promise<TimedDeploy> {
  const started = performance.now();
  const at = new Map<string, number>();
  const stepsMs: TimedDeploy["stepsMs"] = {};
  const drainSamples: string[] = [];
  let sampling: Promise<void> | undefined;
  const report = await plane.engine.deploy({ environment: ENVIRONMENT, image }, (event) => {
    if (event.type !== "step" || event.phase !== "deploy") return;
    at.set(`${event.kind} ${event.status}`, performance.now() - started);
    if (event.status !== "started") stepsMs[event.kind] = Math.round(event.durationMs);
    if (event.status === "failed") log(`${image}: ${event.kind} failed: ${event.reason}`);
    if (event.kind === "drain" && event.status === "started") sampling = sampleDrain(plane, event.instances, () => at.has("drain done") || at.has("drain failed"), drainSamples);
  });
  await sampling;
  const totalMs = performance.now() - started;
  const bootStarted = at.get("boot started") ?? Number.NaN;
  return {
    image, outcome: report.deployment.state, stepsMs, beforeBootMs: Math.round(bootStarted),
    bootToHealthyMs: Math.round((at.get("wait-healthy done") ?? Number.NaN) - bootStarted),
    servingMs: Math.round(at.get("switch done") ?? Number.NaN), totalMs: Math.round(totalMs), drainSamples,
  };
}

/** What HAProxy says of the drained instances every 500 ms while they drain: "0.5s i-1a2b DRAIN scur 1". */
async function sampleDrain(plane: ControlPlane, instances: string[], done: () => boolean, samples: string[]): Promise<void> {
  const entry = plane.engine.parts.entryPoints.get(ENVIRONMENT);
  const started = performance.now();
  while (entry && !done()) {
    const servers = await entry.servers().catch(() => []);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    for (const server of servers.filter((candidate) => instances.includes(candidate.name))) samples.push(`${seconds}s ${server.name} ${server.statusText} scur ${server.currentSessions}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Boots the image without the control plane (as bench:instances does) and times the call to the first 200 on /health. */
async function plainBootToHealthy(vault: Vault, image: BuildResult): Promise<number> {
  const { cpus, memoryMiB } = deploySettings(image.manifest, ENVIRONMENT);
  const started = performance.now();
  const instance = await bootImage(vault, image.digest, image.manifest, { cpus, memoryMiB });
  try {
    await timeToHttp200(instance.vm, `http://127.0.0.1:${instance.forwards[0]!.hostPort}/health`, 180_000);
    return Math.round(performance.now() - started);
  } finally {
    instance.vm.kill();
    await instance.vm.exited.catch(() => {});
    await instance.dispose();
  }
}

/** Runs `work` while wrk requests `url` on kept-alive and on fresh connections. */
async function underLoad<T>(work: string, url: string, run: () => Promise<T>): Promise<{ result: T; keptAlive: LoadCount; fresh: LoadCount }> {
  const keptAlive = await startLoad(work, url, { ...LOAD, fresh: false });
  const fresh = await startLoad(work, url, { ...LOAD, fresh: true });
  try {
    await new Promise((resolve) => setTimeout(resolve, MARGIN_MS));
    const result = await run();
    await new Promise((resolve) => setTimeout(resolve, MARGIN_MS));
    return { result, keptAlive: await keptAlive.stop(), fresh: await fresh.stop() };
  } catch (error) {
    await Promise.allSettled([keptAlive.stop(), fresh.stop()]);
    throw error;
  }
}

/** wrk for GET / through the entry point and straight to the instance's port, alternated `pairs` times. */
async function entryOverhead(plane: ControlPlane): Promise<{ entry: WrkFigures[]; direct: WrkFigures[] }> {
  const [status] = await environmentStatus(plane.engine, ENVIRONMENT);
  const port = status!.instances[0]?.port;
  if (!status?.entryUrl || port === undefined) throw new Error(`No instance serves ${ENVIRONMENT} to measure the entry point against`);
  const runs = { entry: [] as WrkFigures[], direct: [] as WrkFigures[] };
  for (let pair = 0; pair < Number(values.pairs); pair++) {
    // The order flips each pair, so that a slower minute of the host weighs on both alike.
    for (const way of pair % 2 === 0 ? (["entry", "direct"] as const) : (["direct", "entry"] as const)) {
      const url = way === "entry" ? status.entryUrl : `http://127.0.0.1:${port}/`;
      runs[way].push(await runWrk(WRK, url));
      log(`${way} ${url}: ${JSON.stringify(runs[way].at(-1))}`);
    }
  }
  return runs;
}

async function benchApp(vault: Vault, app: BenchApp, work: string): Promise<Record<string, unknown>> {
  log(`${app.label}: building v1 and v2`);
  const images = [await app.build(vault, 1, work), await app.build(vault, 2, work)];
  const refs = images.map((image) => `${image.manifest.name}:${image.manifest.version}`);
  const home = await homeWithImages(vault, "ingot-bench-deploy-");
  const previousHome = process.env.INGOT_HOME;
  // openControlPlane opens the state database of $INGOT_HOME.
  process.env.INGOT_HOME = home.path;
  let plane: ControlPlane | undefined;
  try {
    plane = await openControlPlane(home.path, log);
    const first = await timedDeploy(plane, refs[0]!);
    log(`${refs[0]} first deploy (no load): ${JSON.stringify(first)}`);
    const [status] = await environmentStatus(plane.engine, ENVIRONMENT);
    const loadUrl = `${status!.entryUrl!}${app.loadPath}`;
    const roundsRun: Round[] = [];
    for (let round = 0; round < rounds; round++) {
      const image = images[(round + 1) % 2]!;
      // The instance's own boot to healthy, under the same load, beside each deploy.
      const { result: plainBootToHealthyMs } = await underLoad(work, loadUrl, () => plainBootToHealthy(vault, image));
      const { result: deploy, keptAlive, fresh } = await underLoad(work, loadUrl, () => timedDeploy(plane!, refs[(round + 1) % 2]!));
      roundsRun.push({ plainBootToHealthyMs, deploy: { ...deploy, load: { keptAlive, fresh } } });
      log(`round ${round + 1}: plain boot to healthy ${plainBootToHealthyMs} ms; deploy ${JSON.stringify({ ...deploy, load: { keptAlive, fresh } })}`);
    }
    log(`${app.label}: entry point overhead, ${values.pairs} pairs of ${values.seconds} s`);
    const overhead = await entryOverhead(plane);
    return { label: app.label, images: refs.map((ref, index) => `${ref} ${images[index]!.digest}`), firstDeploy: first, rounds: roundsRun, summary: summarize(roundsRun), overhead: { wrk: WRK, ...overhead, summary: overheadSummary(overhead) } };
  } finally {
    if (plane) {
      await plane.engine.stopEnvironment(ENVIRONMENT).catch((error: Error) => log(`stopping ${ENVIRONMENT}: ${error.message}`));
      await plane.engine.parts.entryPoints.get(ENVIRONMENT)?.stop().catch((error: Error) => log(`stopping the entry point: ${error.message}`));
      plane.close();
    }
    if (previousHome === undefined) delete process.env.INGOT_HOME;
    else process.env.INGOT_HOME = previousHome;
    // Whatever is left (a failure midway): the instances and HAProxy this home recorded.
    await endControlPlane(home.path);
    await home.remove();
  }
}

function summarize(roundsRun: Round[]): Record<string, unknown> {
  const deploys = roundsRun.map((round) => round.deploy);
  const pick = (value: (deploy: TimedDeploy) => number | undefined): number => Math.round(median(deploys.map((deploy) => value(deploy) ?? Number.NaN)));
  const plain = Math.round(median(roundsRun.map((round) => round.plainBootToHealthyMs)));
  const serving = pick((deploy) => deploy.servingMs);
  const loads = deploys.flatMap((deploy) => (deploy.load ? [deploy.load.keptAlive, deploy.load.fresh] : []));
  return {
    succeeded: deploys.filter((deploy) => deploy.outcome === "succeeded").length,
    medianMs: {
      beforeBoot: pick((deploy) => deploy.beforeBootMs),
      ...Object.fromEntries((["boot", "wait-healthy", "add-to-entry", "wait-up", "switch", "drain", "stop"] as const).map((kind) => [kind, pick((deploy) => deploy.stepsMs[kind])])),
      bootToHealthyInDeploy: pick((deploy) => deploy.bootToHealthyMs), serving, total: pick((deploy) => deploy.totalMs), plainBootToHealthy: plain,
    },
    target: { servingMs: serving, limitMs: plain + 2000, holds: serving <= plain + 2000, roundsWithin: roundsRun.filter((round) => round.deploy.servingMs <= round.plainBootToHealthyMs + 2000).length },
    requests: { answered: loads.reduce((sum, load) => sum + load.answered, 0), failed: loads.reduce((sum, load) => sum + load.failed, 0) },
  };
}

function overheadSummary(runs: { entry: WrkFigures[]; direct: WrkFigures[] }): Record<string, number> {
  const pick = (way: "entry" | "direct", key: keyof WrkFigures): number => median(runs[way].map((run) => run[key]));
  return {
    entryRequestsPerSecond: pick("entry", "requestsPerSecond"), directRequestsPerSecond: pick("direct", "requestsPerSecond"),
    entryP50Ms: pick("entry", "latencyP50Ms"), directP50Ms: pick("direct", "latencyP50Ms"),
    entryP99Ms: pick("entry", "latencyP99Ms"), directP99Ms: pick("direct", "latencyP99Ms"),
    throughputRatio: round2(pick("entry", "requestsPerSecond") / pick("direct", "requestsPerSecond")),
    p50Ratio: round2(pick("entry", "latencyP50Ms") / pick("direct", "latencyP50Ms")),
    p99Ratio: round2(pick("entry", "latencyP99Ms") / pick("direct", "latencyP99Ms")),
    errors: [...runs.entry, ...runs.direct].reduce((sum, run) => sum + run.errors, 0),
  };
}

const round2 = (value: number): number => Math.round(value * 100) / 100;

const work = await mkdtemp(join(tmpdir(), "ingot-bench-deploy-work-"));
try {
  const vault = await Vault.open(values.vault);
  const loadBefore = loadavg().map(round2);
  const started = new Date();
  const apps: Record<string, unknown> = {};
  for (const name of values.apps.split(",")) {
    const app = APPS[name];
    if (!app) throw new Error(`Cannot bench app ${name} as there is no such app: choose from ${Object.keys(APPS).join(", ")}`);
    apps[name] = await benchApp(vault, app, work);
  }
  const result = {
    date: started.toISOString(), command: `npm run bench:deploy -- --rounds ${rounds} --seconds ${values.seconds} --pairs ${values.pairs} --apps ${values.apps} --pace-ms ${values["pace-ms"]}`,
    machine: `${execFileSync("nproc").toString().trim()} cores, ${detectAccelerator()}`, loadAverage: { before: loadBefore, after: loadavg().map(round2) },
    durationS: Math.round((Date.now() - started.getTime()) / 1000), load: { ...LOAD, kinds: "kept-alive and fresh connections, one wrk each", marginMs: MARGIN_MS },
    engine: "in process (openControlPlane's DeployEngine), no CLI", apps,
  };
  for (const [name, app] of Object.entries(apps)) console.log(name, JSON.stringify((app as { summary: unknown }).summary), JSON.stringify((app as { overhead: { summary: unknown } }).overhead.summary));
  await writeFile("bench/results/deploy.json", JSON.stringify(result, null, 2) + "\n");
} finally {
  await rm(work, { recursive: true, force: true });
}
