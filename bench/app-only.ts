// App-only rebuilds of examples/hello, in process, with the ingot of a given checkout: a quick
// side-by-side figure for two versions on a quiet machine (bench/lock.ts has the full comparison).
// Usage: node --import tsx bench/app-only.ts CHECKOUT WORKDIR [REBUILDS]
import { appendFile, cp, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { median } from "./measure.ts";

const [checkout, work, rebuildsText = "7"] = process.argv.slice(2) as [string, string, string?];
const from = (path: string): string => resolve(checkout, path);
const { buildImage } = (await import(from("src/image/build.ts"))) as typeof import("../src/image/build.ts");
const { Vault } = (await import(from("src/vault/vault.ts"))) as typeof import("../src/vault/vault.ts");
const vault = await Vault.open(join(work, "vault"));
const app = join(work, "hello");
await rm(app, { recursive: true, force: true });
await cp(from("examples/hello"), app, { recursive: true });
await buildImage(app, { vault });
const times: number[] = [];
for (let run = 0; run < Number(rebuildsText); run++) {
  await appendFile(join(app, "server.js"), `// change ${run} ${Date.now()}\n`);
  times.push(Math.round((await buildImage(app, { vault })).durationMs));
}
console.log(JSON.stringify({ checkout, appOnlyRebuildMs: median(times), runs: times }));
