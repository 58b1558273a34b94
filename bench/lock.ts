// `npm run bench:lock -- --before REF [--rounds N] [--builds N]`: build figures of examples/hello
// with ingot at REF (a git ref, e.g. the commit before pinned inputs) and with this checkout, in
// one run, interleaved round by round: cold build (node cached), warm build, app-only rebuild, size.
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { median } from "./measure.ts";

const { values } = parseArgs({ options: { before: { type: "string" }, rounds: { type: "string", default: "3" }, builds: { type: "string", default: "5" } } });
if (!values.before) throw new Error("Usage: npm run bench:lock -- --before REF [--rounds N] [--builds N]");
const rounds = Number(values.rounds);
const work = await mkdtemp(join(tmpdir(), "ingot-bench-lock-"));
const before = join(work, "before");
interface Figures { coldBuildMs: number; warmBuildMs: number; appOnlyRebuildMs: number; totalBytes: number; layers: Record<string, number> }
const results: Record<"before" | "after", Figures[]> = { before: [], after: [] };
try {
  execFileSync("git", ["worktree", "add", "--detach", before, values.before], { stdio: "ignore" });
  await symlink(resolve("node_modules"), join(before, "node_modules"));
  execFileSync("make", ["-s", "-C", join(before, "init")]);
  for (let round = 0; round < rounds; round++) {
    for (const [label, checkout] of [["before", before], ["after", resolve(".")]] as const) {
      const output = execFileSync("node", ["--import", "tsx", "bench/build-times.ts", checkout, join(work, `${label}-${round}`), values.builds!], { stdio: ["ignore", "pipe", "inherit"] });
      const figures = JSON.parse(output.toString().trim().split("\n").at(-1)!) as Figures;
      results[label].push(figures);
      console.error(`bench: round ${round + 1} ${label}: cold ${figures.coldBuildMs} ms, warm ${figures.warmBuildMs} ms, app-only ${figures.appOnlyRebuildMs} ms, ${figures.totalBytes} B`);
    }
  }
  const summary = (label: "before" | "after"): Record<string, number> => ({
    coldBuildMs: median(results[label].map((figures) => figures.coldBuildMs)),
    warmBuildMs: median(results[label].map((figures) => figures.warmBuildMs)),
    appOnlyRebuildMs: median(results[label].map((figures) => figures.appOnlyRebuildMs)),
    totalBytes: results[label][0]!.totalBytes,
  });
  console.log(JSON.stringify({ command: `npm run bench:lock -- --before ${values.before} --rounds ${rounds} --builds ${values.builds}`, before: summary("before"), after: summary("after"), runs: results }, null, 2));
} finally {
  execFileSync("git", ["worktree", "remove", "--force", before], { stdio: "ignore" });
  await rm(work, { recursive: true, force: true });
}
