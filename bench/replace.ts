// `npm run bench:replace`: how long an environment runs short of an instance when one dies. Two ELF
// instances serve `dev` (bin/ingot, a fresh INGOT_HOME); each round kills one QEMU (SIGKILL) and
// times, from the kill: the control plane noticing (the instance recorded failed), the replacement
// booted and healthy (its events), and in rotation (HAProxy reporting it UP, read from the entry
// point's runtime API every 20 ms). Requests keep being answered by the other instance meanwhile;
// the deploy test checks that none fails.
// Usage: npm run bench:replace -- [--rounds N] [--vault DIR]; the figures go to bench/results/replace.json.
import { execFileSync } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { EntryPoint } from "../src/entry/entry-point.ts";
import { buildImage } from "../src/image/build.ts";
import { serverPaths } from "../src/server/server-paths.ts";
import { Vault } from "../src/vault/vault.ts";
import { eventsOf, homeWithImages, runIngot } from "../test/control-plane.ts";
import { endBenchHome, median, saveResult } from "./measure.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    vault: { type: "string", default: process.env.INGOT_TEST_HOME ?? join(tmpdir(), "ingot-test-vault") },
  },
});
const log = (line: string): void => console.error(`bench: ${line}`);
const DEADLINE_MS = 120_000;

interface Round { noticedMs: number; healthyMs: number; inRotationMs: number }

const vault = await Vault.open(values.vault);
const work = await mkdtemp(join(tmpdir(), "ingot-bench-replace-"));
execFileSync("gcc", ["-O2", "-o", join(work, "server"), "test/fixtures/http-server.c"]);
// The kills are the bench's, not a crash loop: a generous rule keeps the environment replacing.
await writeFile(join(work, "ingot.yaml"), ["name: replace-bench", "version: 1.0.0", "runtime: elf", "command: [./server]", "ports:", "  http: 8080",
  "healthcheck:", "  path: /", "  interval: 500ms", "resources:", "  memory: 128M", "environments:", "  dev:", "    instances: 2",
  "    crashLoop:", "      failures: 100", "      window: 1m", ""].join("\n"));
await buildImage(work, { vault });
const home = await homeWithImages(vault, "ingot-bench-replace-home-");
try {
  const deployed = await runIngot(home.path, ["deploy", "replace-bench:1.0.0", "--env", "dev"]);
  if (deployed.code !== 0) throw new Error(`the deploy failed:\n${deployed.stdout}${deployed.stderr}`);
  const entryDir = join(serverPaths(home.path).dir, "entry", "dev");
  const rounds: Round[] = [];
  for (let round = 1; round <= Number(values.rounds); round++) {
    const before = await upInstances(entryDir);
    const victim = await instancePid(home.path, before[0]!);
    const killedAt = Date.now();
    const startedAt = performance.now();
    process.kill(victim.pid, "SIGKILL");
    // In rotation: two instances UP again, the victim not among them.
    let up: string[] = [];
    while (!(up.length === 2 && !up.includes(victim.id))) {
      if (performance.now() - startedAt > DEADLINE_MS) throw new Error(`round ${round}: no replacement UP within ${DEADLINE_MS / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
      up = await upInstances(entryDir);
    }
    const inRotationMs = performance.now() - startedAt;
    const replacement = up.find((id) => !before.includes(id))!;
    const states = eventsOf(home.path, "dev", "instance-state");
    const timeOf = (instance: string, state: string): number => states.find((event) => event.instance === instance && event.data.state === state)?.timeMs ?? Number.NaN;
    const result = { noticedMs: timeOf(victim.id, "failed") - killedAt, healthyMs: timeOf(replacement, "healthy") - killedAt, inRotationMs: Math.round(inRotationMs) };
    rounds.push(result);
    log(`round ${round}: killed ${victim.id} (pid ${victim.pid}); noticed after ${result.noticedMs} ms, ${replacement} healthy after ${result.healthyMs} ms, UP after ${result.inRotationMs} ms`);
  }
  const figures = {
    command: `npm run bench:replace -- --rounds ${values.rounds}`, date: new Date().toISOString(), loadavgAtEnd: loadavg().map((value) => Number(value.toFixed(2))),
    rounds, medianNoticedMs: median(rounds.map((round) => round.noticedMs)), medianHealthyMs: median(rounds.map((round) => round.healthyMs)), medianInRotationMs: median(rounds.map((round) => round.inRotationMs)),
  };
  await saveResult("replace", figures);
} finally {
  await endBenchHome(home, work);
}

/**
 * The instances HAProxy has UP in the environment's backend, by instance id. Adopted afresh each
 * time: which slot holds which instance is in slots.json, which the control plane rewrites.
 */
async function upInstances(entryDir: string): Promise<string[]> {
  return (await (await EntryPoint.adopt(entryDir)).servers()).filter((server) => server.state === "UP").map((server) => server.name);
}

/** The pid of an instance, as `ingot ps` reports it. */
async function instancePid(homePath: string, id: string): Promise<{ id: string; pid: number }> {
  const listed = await runIngot(homePath, ["ps", "--json"]);
  const instance = (JSON.parse(listed.stdout) as { id: string; pid: number }[]).find((candidate) => candidate.id === id);
  if (!instance) throw new Error(`instance ${id} is not in ingot ps: ${listed.stdout}${listed.stderr}`);
  return instance;
}
