// Build time and image size of each framework app of test/framework-apps.ts, with no ingot.yaml: a
// cold build (an empty npm cache and nothing of the app in the vault; the Node runtime's layer and
// the kernel already there, as on a machine that has built any Node app before), then app-only rebuilds
// (one source file changed: the build script runs again, its dependencies come from the cache).
// Beside them, the size of the node_modules the build needed (dev dependencies included), against the
// image: for Next.js, its standalone output against everything `npm ci` installed.
// Usage: npm run bench:frameworks -- [--rebuilds N] [--only NAME]
import { appendFile, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildImage } from "../src/image/build.ts";
import { Vault } from "../src/vault/vault.ts";
import { FRAMEWORK_APPS } from "../test/framework-apps.ts";
import { countTree, median, saveResult } from "./measure.ts";

const { values } = parseArgs({ options: { rebuilds: { type: "string", default: "3" }, only: { type: "string" } } });
process.env.NEXT_TELEMETRY_DISABLED = "1";
const work = join(tmpdir(), `ingot-bench-frameworks-${process.pid}`);
await mkdir(work, { recursive: true });
const MiB = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;

const results: Record<string, unknown> = {};
try {
  for (const app of FRAMEWORK_APPS.filter((candidate) => !values.only || candidate.name === values.only)) {
    const dir = join(work, app.name, "app");
    await mkdir(join(work, app.name), { recursive: true });
    await app.make(dir);
    const vault = await Vault.open(join(work, app.name, "vault"));
    // The runtime layer (Node compressed with xz, about two minutes here) is built once per machine
    // and shared by every app on the same Node release, so an app of one file builds it first.
    const warmUp = join(work, app.name, "warm-up");
    await mkdir(warmUp);
    await writeFile(join(warmUp, "package.json"), JSON.stringify({ name: "warm-up", version: "1.0.0", main: "server.js" }));
    await writeFile(join(warmUp, "server.js"), "require('node:http').createServer((_, res) => res.end('ok')).listen(8080);\n");
    await buildImage(warmUp, { vault });
    // npm's own cache too starts empty, so the cold build downloads every package as a new machine would.
    process.env.npm_config_cache = join(work, app.name, "npm-cache");
    const cold = await buildImage(dir, { vault });
    const rebuildMs: number[] = [];
    for (let run = 0; run < Number(values.rebuilds); run++) {
      await appendFile(join(dir, app.source), `\n// change ${run}\n`);
      rebuildMs.push((await buildImage(dir, { vault })).durationMs);
    }
    const layers = Object.fromEntries(cold.manifest.layers.map((layer) => [layer.name, MiB(layer.size)]));
    const unpacked = Object.fromEntries(cold.manifest.layers.map((layer) => [layer.name, MiB(layer.uncompressedSize)]));
    // The build script's install (dev dependencies included): what the app's node_modules holds before ingot keeps only what runs.
    const fullInstalls = join(vault.root, "cache", "deps-full");
    const fullBytes = (await Promise.all((await readdir(fullInstalls).catch(() => [])).map(async (key) => (await countTree(join(fullInstalls, key, "node_modules"))).bytes))).reduce((sum, bytes) => sum + bytes, 0);
    results[app.name] = {
      coldBuildMs: Math.round(cold.durationMs),
      appOnlyRebuildMs: Math.round(median(rebuildMs)),
      imageMiB: MiB(cold.manifest.kernel.size + cold.manifest.layers.reduce((sum, layer) => sum + layer.size, 0)),
      layersMiB: layers,
      unpackedLayersMiB: unpacked,
      memoryMiB: cold.manifest.resources.memoryMiB,
      ...(fullBytes > 0 ? { nodeModulesBeforePruningMiB: MiB(fullBytes) } : {}),
    };
    await rm(join(work, app.name), { recursive: true, force: true });
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
await saveResult("frameworks", { command: `npm run bench:frameworks -- --rebuilds ${values.rebuilds}${values.only ? ` --only ${values.only}` : ""}`, date: new Date().toISOString(), results });
