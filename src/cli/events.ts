// `ingot events --env E [-n 50] [-f] [--json]`: the environment's recorded events, the newest N
// oldest first, one line each (time, instance, what happened and why); a failed instance's last
// console lines indented under it. -f then prints each new event as it is recorded, until Ctrl-C.
import type { ProgressEvent } from "../deploy/deploy-engine.ts";
import type { EventRecord } from "../state/events.ts";
import { callServer, streamServer } from "../server/control-client.ts";
import { flag, lineCount, type Parsed } from "./args.ts";
import { describeProgress } from "./deploy-progress.ts";
import { printable } from "./format.ts";

/**
 * @example
 * // $ ingot events --env prod -n 2
 * // 2026-12-01 10:00:01.204  i-3f2a8c01  healthy → failed: its app exited with status 1
 * //     | elf-server: exiting with status 1
 * // 2026-12-01 10:00:01.230  i-9c1d0b7e  replacing: 0 of 1 instances of deploy 4 run; starting these (config v2)
 */
export const eventsVerb = {
  async run(args: Parsed): Promise<number> {
    const body = { environment: flag(args, "env")!, limit: lineCount(args, 50) };
    const print = flag(args, "json") === "true" ? (event: EventRecord) => console.log(JSON.stringify(event)) : (event: EventRecord) => { for (const line of eventLines(event)) console.log(line); };
    if (flag(args, "follow") === "true") {
      await streamServer("/v1/events/follow", body, (event) => print(event as EventRecord));
      return 0;
    }
    for (const event of await callServer<EventRecord[]>("POST", "/v1/events", body)) print(event);
    return 0;
  },
};

/** The event as it reads in the terminal: its line, then any console lines it carries, indented. */
export function eventLines(event: EventRecord): string[] {
  const time = new Date(event.timeMs).toISOString().replace("T", " ").slice(0, 23);
  const { instance, what, consoleLines } = described(event);
  return [
    printable(`${time}  ${(instance ?? "-").padEnd(10)}  ${what}`),
    ...consoleLines.map((line) => `    | ${printable(line)}`),
  ];
}

function described(event: EventRecord): { instance: string | null; what: string; consoleLines: string[] } {
  const data = event.data;
  const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);
  switch (event.kind) {
    case "instance-state":
      return { instance: event.instance, what: `${String(data.was)} → ${String(data.state)}${data.reason ? `: ${String(data.reason)}` : ""}`, consoleLines: strings(data.lastLines) };
    case "capacity-replace":
      return {
        instance: strings(data.instances).join(", ") || null,
        what: `replacing: ${String(data.have)} of ${String(data.want)} instances of deploy ${String(event.deployment)} run; starting these (config v${String(data.configVersion)})`,
        consoleLines: [],
      };
    case "capacity-reduce":
      return { instance: strings(data.instances).join(", ") || null, what: `reducing: ${String(data.have)} instances run of ${String(data.want)} wanted; draining and stopping these`, consoleLines: [] };
    case "scale":
      return { instance: null, what: `scale: ${String(data.from)} → ${String(data.to)} instances (${data.scaled === true ? `the image says ${String(data.imageInstances)}` : "the image's number"})`, consoleLines: [] };
    case "environment-degraded":
      return { instance: null, what: `degraded: ${String(data.summary)}; its instances are no longer replaced until a deploy or ingot stop`, consoleLines: [] };
    case "degraded-cleared":
      return { instance: null, what: `no longer degraded: ${String(data.reason)}`, consoleLines: [] };
    case "environment-removed": {
      const accessories = Array.isArray(data.accessories) ? (data.accessories as { name: string; dataKept: boolean }[]) : [];
      return {
        instance: strings(data.instances).join(", ") || null,
        what: `removed by ingot env rm: ${strings(data.instances).length} instance(s) stopped, ${data.entryPoint ? `entry point ${String((data.entryPoint as { url: string }).url)} ended` : "no entry point"}`
          + accessories.map((accessory) => `, accessory ${accessory.name} removed (data ${accessory.dataKept ? "kept" : "deleted"})`).join("")
          + `, ${String(data.variables)} variable(s) and ${String(data.secrets)} secret(s) deleted`,
        consoleLines: [],
      };
    }
    case "canary-judged":
      return { instance: null, what: `ingot's judge: ${String(data.verdict)} the canary of deploy ${String(event.deployment)}: ${String(data.reason)}`, consoleLines: [] };
    case "deploy-finished":
      return { instance: null, what: `deploy ${String(event.deployment)} ${String(data.outcome)}${data.reason ? `: ${String(data.reason)}` : ""}`, consoleLines: [] };
    case "deploy-console":
      return { instance: String(data.instance), what: "last console lines:", consoleLines: strings(data.lines) };
    case "entry-restarted":
      return { instance: null, what: `entry point gone (HAProxy pid ${String(data.previousPid)}), started again as pid ${String(data.pid)} after ${String(data.downMs)} ms; ${Array.isArray(data.restoredSlots) ? data.restoredSlots.length : 0} instance(s) put back`, consoleLines: [] };
    case "entry-restart-failed":
      return { instance: null, what: `entry point gone (HAProxy pid ${String(data.previousPid)}) and not started again (attempt ${String(data.attempt)}, next in ${String(data.retryInMs)} ms): ${String(data.error)}`, consoleLines: [] };
  }
  // The other deploy events read as the deploy printed them.
  const progress = event.kind.startsWith("deploy-") ? describeProgress(data as unknown as ProgressEvent) : undefined;
  return { instance: event.instance, what: progress ?? `${event.kind} ${JSON.stringify(data)}`, consoleLines: [] };
}
