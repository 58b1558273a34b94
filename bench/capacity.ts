// `npm run bench:capacity`: the most instances of examples/hello (Node) this host runs at once, and
// what stops it there. A deploy of one instance, then `ingot scale` one more at a time (bin/ingot, a
// fresh INGOT_HOME) until the host-memory check refuses, an instance fails to become healthy, the
// cap or the time bound (past 32, an environment's most, a second environment grows); each
// instance's QEMU RSS on the host. Then ten at once, booted as the host's
// cores allow (the default) against all together (INGOT_BOOT_PARALLELISM=10).
// Usage: npm run bench:capacity -- [--cap 40] [--minutes 25] [--parallel 10] [--vault DIR]; figures in bench/results/capacity.json.
import { readFileSync } from "node:fs";
import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { MAX_INSTANCES } from "../src/config/app-schema.ts";
import { hostMemory, memoryPlan, QEMU_OVERHEAD_MIB } from "../src/deploy/host-memory.ts";
import { buildImage } from "../src/image/build.ts";
import { BOOT_PARALLELISM_VARIABLE } from "../src/instance/boot-slots.ts";
import { Vault } from "../src/vault/vault.ts";
import { detectAccelerator } from "../src/vm/qemu-args.ts";
import { eventsOf, homeWithImages, runIngot } from "../test/control-plane.ts";
import { endBenchHome, median, saveResult } from "./measure.ts";

const { values } = parseArgs({
  options: {
    cap: { type: "string", default: "40" },
    minutes: { type: "string", default: "25" },
    parallel: { type: "string", default: "10" },
    vault: { type: "string", default: process.env.INGOT_TEST_HOME ?? join(tmpdir(), "ingot-test-vault") },
  },
});
const log = (line: string): void => console.error(`bench: ${line}`);
const cap = Number(values.cap);
const parallel = Number(values.parallel);
const deadlineMs = Date.now() + Number(values.minutes) * 60_000;
const MEMORY_MIB = 256;

interface InstanceStatus { id: string; state: string; pid: number | null; entry?: { state: string } }

/** VmRSS of a process in MiB; undefined when it is gone. */
function rssMiB(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Math.round(Number(match[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

const vault = await Vault.open(values.vault);
const work = await mkdtemp(join(tmpdir(), "ingot-bench-capacity-"));
await cp("examples/hello", work, { recursive: true });
const yaml = await readFile(join(work, "ingot.yaml"), "utf8");
await writeFile(join(work, "ingot.yaml"), `${yaml.replace(/^environments:\n[\s\S]*$/m, "")}environments:\n  fleet:\n    instances: 1\n  fleet-2:\n    instances: 1\n  bound:\n    instances: ${parallel}\n  unbound:\n    instances: ${parallel}\n`);
const built = await buildImage(work, { vault });
const home = await homeWithImages(vault, "ingot-bench-capacity-home-");
const ingot = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => runIngot(home.path, args);
const instancesOf = async (environment: string): Promise<InstanceStatus[]> => (JSON.parse((await ingot("status", "--env", environment, "--json")).stdout) as { instances: InstanceStatus[] }[])[0]!.instances;

/** A deploy of `parallel` instances at once, timed from its boot step to each instance healthy (its events). */
async function parallelDeploy(environment: string): Promise<{ firstHealthyMs: number; medianHealthyMs: number; lastHealthyMs: number; deployMs: number }> {
  const started = performance.now();
  const deployed = await ingot("deploy", built.digest, "--env", environment);
  if (deployed.code !== 0) throw new Error(`the deploy to ${environment} failed:\n${deployed.stdout}${deployed.stderr}`);
  const deployMs = Math.round(performance.now() - started);
  const events = eventsOf(home.path, environment, "");
  const bootStarted = events.find((event) => event.kind === "deploy-step" && event.data.kind === "boot" && event.data.status === "started")!.timeMs;
  const healthy = events.filter((event) => event.kind === "instance-state" && event.data.state === "healthy").map((event) => event.timeMs - bootStarted).sort((a, b) => a - b);
  log(`${environment}: ${healthy.length} healthy after ${healthy.map((ms) => `${ms} ms`).join(", ")}; deploy ${deployMs} ms`);
  await ingot("stop", "--env", environment);
  return { firstHealthyMs: healthy[0]!, medianHealthyMs: Math.round(median(healthy)), lastHealthyMs: healthy.at(-1)!, deployMs };
}

try {
  // Ten at once first (bounded in time), then the fleet that grows until something stops it.
  delete process.env[BOOT_PARALLELISM_VARIABLE];
  const bound = await parallelDeploy("bound");
  await ingot("server", "stop");
  process.env[BOOT_PARALLELISM_VARIABLE] = String(parallel);
  const unbound = await parallelDeploy("unbound");
  await ingot("server", "stop");
  delete process.env[BOOT_PARALLELISM_VARIABLE];

  const deployed = await ingot("deploy", built.digest, "--env", "fleet");
  if (deployed.code !== 0) throw new Error(`the deploy to fleet failed:\n${deployed.stdout}${deployed.stderr}`);
  const steps: { instances: number; scaleMs: number }[] = [];
  let limit = `the cap of ${cap}`;
  let refusal: string | undefined;
  for (let count = 2; count <= cap; count++) {
    if (Date.now() > deadlineMs) {
      limit = `the time bound of ${values.minutes} min`;
      break;
    }
    const started = performance.now();
    // Past an environment's most, a second one: its deploy boots its first instance, scale the others.
    const scaled = count <= MAX_INSTANCES ? await ingot("scale", "--env", "fleet", String(count))
      : count === MAX_INSTANCES + 1 ? await ingot("deploy", built.digest, "--env", "fleet-2")
        : await ingot("scale", "--env", "fleet-2", String(count - MAX_INSTANCES));
    const scaleMs = Math.round(performance.now() - started);
    if (scaled.code !== 0) {
      refusal = scaled.stderr.trim();
      limit = /need \d+ MiB with QEMU's own/.test(refusal) ? "host memory (ingot's check refused)" : "an instance that did not become healthy";
      log(`scale to ${count}: ${refusal}`);
      break;
    }
    steps.push({ instances: count, scaleMs });
    log(`${count} instances (+1 in ${scaleMs} ms, load ${loadavg()[0]!.toFixed(1)})`);
  }
  const instances = [...await instancesOf("fleet"), ...await instancesOf("fleet-2")];
  const rss = instances.map((instance) => (instance.pid ? rssMiB(instance.pid) : undefined)).filter((value): value is number => value !== undefined);
  const host = hostMemory();
  const accelerator = detectAccelerator();
  const result = {
    command: `npm run bench:capacity -- --cap ${cap} --minutes ${values.minutes} --parallel ${parallel}`, date: new Date().toISOString(), hostCores: availableParallelism(), accelerator, loadavgAtEnd: loadavg().map((value) => Number(value.toFixed(2))),
    fleet: {
      instances: instances.filter((instance) => instance.state === "healthy" && instance.entry?.state === "UP").length, limit, ...(refusal ? { refusal } : {}),
      memory: host ? { ...memoryPlan({ instances: 1, memoryMiB: MEMORY_MIB }, host, accelerator), totalMiB: host.totalMiB, perInstanceCountedMiB: MEMORY_MIB + QEMU_OVERHEAD_MIB[accelerator] } : undefined,
      qemuRssMiB: { median: Math.round(median(rss)), min: Math.min(...rss), max: Math.max(...rss), samples: rss.length },
      scaleByOneMs: { first: steps[0]?.scaleMs, median: Math.round(median(steps.map((step) => step.scaleMs))), last: steps.at(-1)?.scaleMs },
      steps,
    },
    parallel: { instances: parallel, boundByCores: { slots: availableParallelism(), ...bound }, unbounded: { slots: parallel, ...unbound } },
  };
  await saveResult("capacity", result);
} finally {
  await endBenchHome(home, work);
}
