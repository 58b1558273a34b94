// How a deploy's progress reads in the terminal: one line per step and per instance state change,
// each with the time since the deploy began; the failing instance's last console lines; the outcome.
// With --json every event is one JSON line, and the report the last.
import type { DeployReport, ProgressEvent } from "../deploy/deploy-engine.ts";
import { IngotError } from "../errors.ts";
import { printable } from "./format.ts";

/**
 * @example
 * const progress = deployProgress(json);
 * const report = await streamServer<DeployReport>("/v1/deploy", body, progress.event);
 * return progress.finish(report, "deploy");
 */
export function deployProgress(json: boolean, write: (line: string) => void = (line) => console.log(line)): { event: (event: unknown) => void; finish: (report: DeployReport, verb: string) => number } {
  const started = performance.now();
  const at = (): string => `${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s`;
  return {
    event(raw) {
      if (json) return write(JSON.stringify(raw));
      const line = describeProgress(raw as ProgressEvent);
      if (line !== undefined) write(`${at()}  ${printable(line)}`);
      if ((raw as ProgressEvent).type === "console") for (const consoleLine of (raw as { lines: string[] }).lines) write(`         | ${printable(consoleLine)}`);
    },
    finish(report, verb) {
      const { deployment } = report;
      if (json) write(JSON.stringify(report));
      const { canary } = deployment;
      if (deployment.state === "running" && canary) {
        if (!json) {
          write(`${at()}  canary ${deployment.imageRef} (${canary.instances.join(", ")}) takes ${canary.percent}% of the requests to ${deployment.environment} at ${report.entryUrl}`);
          write(canary.auto
            ? `         ingot judges it for ${formatMs(canary.auto.windowMs)} and promotes or aborts it; ingot status --env ${deployment.environment} compares the versions`
            : `         ingot status --env ${deployment.environment} compares the versions; then ingot deploy --env ${deployment.environment} --promote (or --abort)`);
        }
        return 0;
      }
      if (report.aborted) {
        if (!json) write(`${at()}  the canary ${deployment.imageRef} is withdrawn: the previous version serves ${deployment.environment} at ${report.entryUrl}`);
        return 0;
      }
      if (deployment.state === "succeeded") {
        if (!json) write(`${at()}  ${deployment.imageRef} serves ${deployment.environment} at ${report.entryUrl}${deployment.reason ? ` (note: ${deployment.reason})` : ""}`);
        return 0;
      }
      throw new IngotError(`Cannot ${verb} ${deployment.imageRef} to ${deployment.environment} as ${deployment.reason ?? "it failed"}`.replace(/ as (.*) as /, " as $1: "), {
        code: "deploy-failed",
        hint: `The previous version still serves ${report.entryUrl}; ${report.failedInstance ? `the console lines of ${report.failedInstance} are above; ` : ""}ingot history --env ${deployment.environment}`,
      });
    },
  };
}

/** "3 switches" (a rolling deploy's batches), or "a split" (a canary's). */
function planTurns(steps: Extract<ProgressEvent, { type: "plan" }>["steps"]): string {
  const switches = steps.filter((step) => step.kind === "switch").length;
  if (switches > 0) return `${switches} switch${switches === 1 ? "" : "es"}`;
  return steps.some((step) => step.kind === "split") ? "a split" : "no switch";
}

/** HAProxy's integer weights cannot give every share (32 canaries beside one old instance get 11% at least): say so when they are off. */
function nearestShare(asked: number, given: number | undefined): string {
  return given !== undefined && Math.abs(given - asked) >= 0.5 ? `, the nearest share they allow: ${given.toFixed(1)}%` : "";
}

function formatMs(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 1000)} s`;
}

/** One line for a deploy's event, as the terminal and `ingot events` show it; none for "finished" (the report says it). */
export function describeProgress(event: ProgressEvent): string | undefined {
  switch (event.type) {
    case "deploy":
      return `deploy ${event.deployment}: ${event.imageRef} (${event.imageDigest.slice(0, 19)}) to ${event.environment}, config v${event.configVersion}; `
        + `new ${event.green.join(", ")}${event.blue.length > 0 ? `; replacing ${event.blue.join(", ")}` : ""}`;
    case "step": {
      const what = `${event.phase === "undo" ? "undo " : ""}${event.kind} ${event.instances.join(", ")}`;
      if (event.status === "started") return `${what} …`;
      if (event.status === "done") return `${what}: done in ${(event.durationMs / 1000).toFixed(1)} s`;
      return `${what}: failed after ${(event.durationMs / 1000).toFixed(1)} s on ${event.instance}: ${event.reason}`;
    }
    case "instance":
      return `${event.instance} ${event.was} → ${event.state}${event.reason ? ` (${event.reason})` : ""}`;
    case "console":
      return `last console lines of ${event.instance}:`;
    case "canary":
      return `canary ${event.instances.join(", ")} takes ${event.percent}% of the requests (weights ${event.weights.canary} against ${event.weights.old} per old instance${nearestShare(event.percent, event.weights.percent)})`
        + `${event.auto ? `, judged by ingot for ${formatMs(event.auto.windowMs)}` : ""}`;
    case "canary-end":
      return `${event.action === "promote" ? "promoting" : "aborting"} the canary: ${event.reason}`;
    case "plan":
      return event.steps.length === 0 ? undefined : `${event.stage} plan: ${event.steps.length} steps, ${planTurns(event.steps)}`;
    case "finished":
      return undefined;
  }
}
