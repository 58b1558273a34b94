// One checkout's build figures for examples/hello, run in a child process by bench/lock.ts so that
// two versions of ingot (before and after a change) are measured side by side in one run.
// Usage: node --import tsx bench/build-times.ts CHECKOUT WORKDIR BUILDS
import { appendFile, cp, mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { median } from "./measure.ts";

const [checkout, work, buildsText] = process.argv.slice(2) as [string, string, string];
const builds = Number(buildsText);
const from = (path: string): string => resolve(checkout, path);
const { buildImage } = (await import(from("src/image/build.ts"))) as typeof import("../src/image/build.ts");
const { Vault } = (await import(from("src/vault/vault.ts"))) as typeof import("../src/vault/vault.ts");
const { fetchNodeRuntime, resolveNodeVersion } = (await import(from("src/image/node-runtime.ts"))) as typeof import("../src/image/node-runtime.ts");

await mkdir(work, { recursive: true });
const vault = await Vault.open(join(work, "vault"));
const app = join(work, "hello");
await cp(from("examples/hello"), app, { recursive: true });
// "Runtime cached": the node download is not part of the cold build, everything else is (for a
// locked build: fetching and unpacking the .deb files once).
await fetchNodeRuntime(vault, await resolveNodeVersion(vault, "22"));
const cold = await buildImage(app, { vault });
const warmMs: number[] = [];
const appOnlyMs: number[] = [];
for (let run = 0; run < builds; run++) {
  warmMs.push((await buildImage(app, { vault })).durationMs);
  await appendFile(join(app, "server.js"), `// change ${run}\n`);
  appOnlyMs.push((await buildImage(app, { vault })).durationMs);
}
console.log(JSON.stringify({
  coldBuildMs: Math.round(cold.durationMs),
  warmBuildMs: Math.round(median(warmMs)),
  appOnlyRebuildMs: Math.round(median(appOnlyMs)),
  totalBytes: cold.manifest.kernel.size + cold.manifest.layers.reduce((sum, layer) => sum + layer.size, 0),
  layers: Object.fromEntries(cold.manifest.layers.map((layer) => [layer.name, layer.size])),
}));
