// `npm run bench:entry-restart`: how long an environment is unreachable when its entry point's
// HAProxy is killed (SIGKILL): from the kill to the first 200 through the entry port, as the control
// plane (bin/ingot, a fresh INGOT_HOME, one ELF instance) notices the death and starts HAProxy again.
// Kills are spaced beyond the supervisor's 10 s of stability, so each is a first death (no backoff).
// Usage: npm run bench:entry-restart -- [--rounds N] [--vault DIR]; the figures go to bench/results/entry-restart.json.
import { execFileSync } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { readEntryRecord } from "../src/entry/entry-launch.ts";
import { buildImage } from "../src/image/build.ts";
import { serverPaths } from "../src/server/server-paths.ts";
import { Vault } from "../src/vault/vault.ts";
import { eventsOf, homeWithImages, msUntilServing, runIngot } from "../test/control-plane.ts";
import { endBenchHome, median, saveResult } from "./measure.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    vault: { type: "string", default: process.env.INGOT_TEST_HOME ?? join(tmpdir(), "ingot-test-vault") },
  },
});
const log = (line: string): void => console.error(`bench: ${line}`);
/** Longer than the supervisor's STABLE_MS, so that a kill never waits for a backoff. */
const BETWEEN_KILLS_MS = 11_000;

const vault = await Vault.open(values.vault);
const work = await mkdtemp(join(tmpdir(), "ingot-bench-entry-"));
execFileSync("gcc", ["-O2", "-o", join(work, "server"), "test/fixtures/http-server.c"]);
await writeFile(join(work, "ingot.yaml"), ["name: entry-restart-bench", "version: 1.0.0", "runtime: elf", "command: [./server]", "ports:", "  http: 8080",
  "healthcheck:", "  path: /", "  interval: 500ms", "resources:", "  memory: 128M", "environments:", "  dev:", "    instances: 1", ""].join("\n"));
await buildImage(work, { vault });
const home = await homeWithImages(vault, "ingot-bench-entry-home-");
try {
  const deployed = await runIngot(home.path, ["deploy", "entry-restart-bench:1.0.0", "--env", "dev"]);
  if (deployed.code !== 0) throw new Error(`the deploy failed:\n${deployed.stdout}${deployed.stderr}`);
  const runDir = join(serverPaths(home.path).dir, "entry", "dev");
  const { spec } = await readEntryRecord(runDir);
  const url = `http://${spec.bind.address}:${spec.bind.port}/`;
  const samples: number[] = [];
  for (let round = 1; round <= Number(values.rounds); round++) {
    await new Promise((resolve) => setTimeout(resolve, BETWEEN_KILLS_MS));
    const { pid } = await readEntryRecord(runDir);
    process.kill(pid, "SIGKILL");
    const ms = await msUntilServing(url, performance.now());
    if (ms === undefined) throw new Error(`round ${round}: no 200 within 10 s of killing HAProxy pid ${pid}`);
    samples.push(Math.round(ms));
    log(`round ${round}: killed HAProxy pid ${pid}, 200 again after ${Math.round(ms)} ms`);
  }
  // The server's own account: how long each death took to mend once noticed, and any start that failed.
  const events = eventsOf(home.path, "dev", "entry-");
  const restarts = events.filter((event) => event.kind === "entry-restarted");
  const result = {
    command: `npm run bench:entry-restart -- --rounds ${values.rounds}`, date: new Date().toISOString(), loadavgAtEnd: loadavg().map((value) => Number(value.toFixed(2))),
    killToFirst200Ms: samples, medianMs: median(samples),
    noticedToRestoredMs: restarts.map((event) => event.data.downMs), failedStarts: events.length - restarts.length,
  };
  await saveResult("entry-restart", result);
} finally {
  await endBenchHome(home, work);
}
