// `npm run bench:parallel-boot`: how long N instances of examples/hello take to boot side by side
// on this host, against one alone: a deploy of N instances (bin/ingot, a fresh INGOT_HOME) to an
// environment, timed from its boot step's start to each instance healthy (the deploy's events).
// Usage: npm run bench:parallel-boot -- [--instances 10] [--vault DIR]; figures in bench/results/parallel-boot.json.
import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildImage } from "../src/image/build.ts";
import { Vault } from "../src/vault/vault.ts";
import { eventsOf, homeWithImages, runIngot } from "../test/control-plane.ts";
import { endBenchHome, median, saveResult } from "./measure.ts";

const { values } = parseArgs({
  options: {
    instances: { type: "string", default: "10" },
    vault: { type: "string", default: process.env.INGOT_TEST_HOME ?? join(tmpdir(), "ingot-test-vault") },
  },
});
const log = (line: string): void => console.error(`bench: ${line}`);
const count = Number(values.instances);

const vault = await Vault.open(values.vault);
const work = await mkdtemp(join(tmpdir(), "ingot-bench-parallel-"));
await cp("examples/hello", work, { recursive: true });
// Two environments of the same image: one instance alone, then N at once.
const yaml = await readFile(join(work, "ingot.yaml"), "utf8");
await writeFile(join(work, "ingot.yaml"), `${yaml.replace(/^environments:\n[\s\S]*$/m, "")}environments:\n  alone:\n    instances: 1\n  many:\n    instances: ${count}\n`);
const built = await buildImage(work, { vault });
const home = await homeWithImages(vault, "ingot-bench-parallel-home-");
try {
  const timings: Record<string, number[]> = {};
  for (const environment of ["alone", "many"]) {
    const deployed = await runIngot(home.path, ["deploy", built.digest, "--env", environment]);
    if (deployed.code !== 0) throw new Error(`the deploy to ${environment} failed:\n${deployed.stdout}${deployed.stderr}`);
    const events = eventsOf(home.path, environment, "");
    const bootStarted = events.find((event) => event.kind === "deploy-step" && event.data.kind === "boot" && event.data.status === "started")!.timeMs;
    timings[environment] = events.filter((event) => event.kind === "instance-state" && event.data.state === "healthy").map((event) => event.timeMs - bootStarted).sort((a, b) => a - b);
    log(`${environment}: ${timings[environment]!.length} healthy after ${timings[environment]!.map((ms) => `${ms} ms`).join(", ")}`);
    await runIngot(home.path, ["stop", "--env", environment]);
  }
  const result = {
    command: `npm run bench:parallel-boot -- --instances ${count}`, date: new Date().toISOString(), hostCores: cpus().length, loadavgAtEnd: loadavg().map((value) => Number(value.toFixed(2))),
    aloneMs: timings.alone![0], parallel: { instances: count, firstHealthyMs: timings.many![0], medianHealthyMs: median(timings.many!), lastHealthyMs: timings.many!.at(-1) },
  };
  await saveResult("parallel-boot", result);
} finally {
  await endBenchHome(home, work);
}
