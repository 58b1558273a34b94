// `ingot status [--env E] [--json]`: each environment's entry URL, the image it serves and the config
// version it was deployed with, a running deploy, and its instances with state, uptime and health.
import type { CanaryView } from "../deploy/canary-watch.ts";
import type { Capacity } from "../deploy/capacity.ts";
import type { EnvironmentStatus } from "../server/environment-status.ts";
import { callServer } from "../server/control-client.ts";
import { flag, type Parsed } from "./args.ts";
import { formatDuration, printable, table } from "./format.ts";

/**
 * @example
 * // $ ingot status --env prod
 * // prod  http://127.0.0.1:8080/  hello:2.0.0 (sha256:3f2a…)  config v2
 * //   instances 3 (scaled; the image says 2)
 * //   degraded: 3 instances of hello:2.0.0 failed within 5 min; last: its app exited with status 1; not replacing … (ingot events --env prod)
 * //   ID       STATE    UPTIME  PORT   ENTRY
 * //   i-9c1d   healthy  3m12s   41234  UP L7OK 200
 */
export const statusVerb = {
  async run(args: Parsed): Promise<number> {
    const environment = flag(args, "env");
    const environments = await callServer<EnvironmentStatus[]>("POST", "/v1/status", environment ? { environment } : {});
    if (flag(args, "json") === "true") {
      console.log(JSON.stringify(environments, null, 2));
      return 0;
    }
    for (const status of environments) {
      const serving = status.serving ? `${status.serving.imageRef} (${status.serving.imageDigest.slice(0, 19)}), config v${status.serving.configVersion}` : "nothing deployed";
      const pending = status.configVersion !== (status.serving?.configVersion ?? status.configVersion) ? ` (config v${status.configVersion} reaches instances on the next deploy)` : "";
      console.log(printable(`${status.name}  ${status.entryUrl ?? "no entry point yet"}  ${serving}${pending}${status.running ? `  deploying ${status.running.imageRef} (deploy ${status.running.id})` : ""}`));
      if (status.capacity) console.log(`  ${describeCapacity(status.capacity)}`);
      if (status.degraded) console.log(printable(`  degraded: ${status.degraded.summary}; not replacing its instances until a deploy or ingot stop (ingot events --env ${status.name})`));
      if (status.canary) for (const line of canaryLines(status.name, status.canary)) console.log(printable(line));
      if (status.accessories.length > 0) console.log(`  accessories: ${status.accessories.map((accessory) => `${accessory.name} (${accessory.kind}, ${accessory.state}, ${accessory.variable})`).join(", ")}`);
      if (status.instances.length === 0) continue;
      console.log(table([
        ["  ID", "STATE", "IMAGE", "UPTIME", "PORT", "ENTRY"],
        ...status.instances.map((instance) => [`  ${instance.id}`, instance.state, instance.image, formatDuration(instance.uptimeMs), String(instance.port ?? "-"), instance.entry ? `${instance.entry.state} ${instance.entry.check}` : "-"]),
      ]));
    }
    return 0;
  },
};

/**
 * A running canary: its share and judging, then both versions side by side since the split.
 *
 * @example
 * // canary i-3f2a takes 25% of the requests since 1m12s; ingot judges it, 3m48s of its window left
 * //   VERSION      REQUESTS  5XX        P95
 * //   hello:1.0.0  1500      0 (0.0%)   4 ms
 * //   hello:1.1.0  500       49 (9.8%)  5 ms
 */
function canaryLines(environment: string, canary: CanaryView): string[] {
  const judging = canary.auto ? `ingot judges it, ${formatDuration(canary.auto.leftMs)} of its window left` : `ingot deploy --env ${environment} --promote (or --abort) ends it`;
  const lines = [`  canary ${canary.instances.join(", ")} takes ${canary.percent}% of the requests since ${formatDuration(Date.now() - canary.sinceMs)}; ${judging}`];
  if (!canary.versions) return [...lines, "    (no figures: the log store is unavailable)"];
  const row = (figures: NonNullable<CanaryView["versions"]>["old"]): string[] => [
    `    ${figures.version}`, String(figures.requests),
    `${figures.serverErrors} (${(figures.requests === 0 ? 0 : (100 * figures.serverErrors) / figures.requests).toFixed(1)}%)`,
    figures.p95Ms === undefined ? "-" : `${figures.p95Ms} ms`,
  ];
  lines.push(...table([["    VERSION", "REQUESTS", "5XX", "P95"], row(canary.versions.old), row(canary.versions.canary)]).split("\n"));
  if (canary.judgement && canary.judgement.verdict === "wait") lines.push(`    judge: ${canary.judgement.reason}`);
  return lines;
}

/** "instances 3 (scaled; the image says 2)", or "instances 2" when the image's number holds. */
export function describeCapacity(capacity: Capacity): string {
  return `instances ${capacity.instances}${capacity.scaled ? ` (scaled; the image says ${capacity.imageInstances})` : ""}`;
}
