// `ingot scale --env E N | --reset [--json]`: keeps the environment at N instances of the image it
// serves, across deploys and restarts, or (--reset) at the number its image's ingot.yaml says.
// Progress streams as the instances start, or drain and stop.
import type { ScaleEvent, ScaleReport } from "../deploy/scale.ts";
import { IngotError } from "../errors.ts";
import { streamServer } from "../server/control-client.ts";
import { flag, type Parsed } from "./args.ts";
import { describeProgress } from "./deploy-progress.ts";
import { printable } from "./format.ts";

/**
 * @example
 * // $ ingot scale --env prod 3
 * //    0.0s  scale prod: 1 → 3 instances of hello:2.0.0 (the image says 1)
 * //    6.1s  i-9c1d booting → healthy
 * //    6.9s  i-07ab booting → healthy
 * //    7.8s  prod runs 3 instances of hello:2.0.0 at http://127.0.0.1:8080/ (started i-9c1d, i-07ab)
 */
export const scaleVerb = {
  async run(args: Parsed): Promise<number> {
    const environment = flag(args, "env")!;
    const instances = instanceCount(args.positionals[0], flag(args, "reset") === "true", environment);
    const json = flag(args, "json") === "true";
    const started = performance.now();
    const write = (line: string): void => console.log(`${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s  ${printable(line)}`);
    const report = await streamServer<ScaleReport>("/v1/scale", { environment, instances }, (raw) => {
      if (json) return console.log(JSON.stringify(raw));
      const event = raw as ScaleEvent;
      const line = event.type === "scale" ? describeScale(event) : describeProgress(event);
      if (line !== undefined) write(line);
    });
    if (json) console.log(JSON.stringify(report));
    else write(describeReport(report));
    return 0;
  },
};

/** "scale prod: 1 → 3 instances of hello:2.0.0 (the image says 1)". */
function describeScale(event: Extract<ScaleEvent, { type: "scale" }>): string {
  return `scale ${event.environment}: ${event.from} → ${event.to} instance${event.to === 1 ? "" : "s"} of ${event.imageRef} (${event.scaled ? `the image says ${event.imageInstances}` : "the image's number"})`;
}

function describeReport(report: ScaleReport): string {
  const changes = [report.started.length > 0 ? `started ${report.started.join(", ")}` : "", report.stopped.length > 0 ? `stopped ${report.stopped.join(", ")}` : ""].filter(Boolean);
  const count = report.capacity.instances;
  return `${report.environment} runs ${count} instance${count === 1 ? "" : "s"} of ${report.imageRef} at ${report.entryUrl}${changes.length > 0 ? ` (${changes.join("; ")})` : ""}`;
}

/** N, or null for --reset; exactly one of them. The range is the server's to check. */
function instanceCount(count: string | undefined, reset: boolean, environment: string): number | null {
  if (reset && count === undefined) return null;
  if (!reset && count !== undefined && /^\d+$/.test(count)) return Number(count);
  const why = reset ? "--reset and a number exclude each other" : count === undefined ? "it needs a number of instances, or --reset" : `${JSON.stringify(count)} is not a number of instances`;
  throw new IngotError(`Cannot scale ${environment} as ${why}`, { code: "cli-bad-value", exitCode: 2, hint: `Write ingot scale --env ${environment} 3, or ingot scale --env ${environment} --reset for the image's number` });
}
