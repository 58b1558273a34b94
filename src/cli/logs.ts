// `ingot logs [--env E | --instance ID | IMAGE] [-f] [--since 10m] [--until TIME] [--grep TEXT]
// [--level warn] [--source app,console,entry] [-n 100] [--json]`: the stored lines, oldest first,
// then (with -f) every new line as it arrives. One colour per instance on a terminal, none when piped.
import { IngotError } from "../errors.ts";
import { SEVERITY_NAMES } from "../logs/log-line.ts";
import type { StoredLine } from "../logs/log-query.ts";
import type { StoreUsage } from "../logs/log-store.ts";
import type { ForwarderStatus } from "../logs/forward/log-forwarding.ts";
import { parseTimeBound } from "../logs/log-time.ts";
import { callServer, streamServer } from "../server/control-client.ts";
import { flag, lineCount, type Parsed } from "./args.ts";
import { formatBytes, printable } from "./format.ts";

// Foreground colours that read on dark and light terminals (no black, white or blue-on-black).
const COLOURS = [32, 33, 35, 36, 91, 92, 93, 95, 96];

/**
 * @example
 * // $ ingot logs --env prod --grep timeout -n 2
 * // 2026-11-30T10:00:01.204Z prod/i-3 web:1.4 error  upstream timeout after 5000 ms
 */
export const logsVerb = {
  async run(args: Parsed): Promise<number> {
    const body = logsRequest(args, Date.now());
    const json = flag(args, "json") === "true";
    if (flag(args, "usage") === "true") {
      const answer = await callServer<LogsAnswer>("POST", "/v1/logs", { ...body, limit: 1 });
      const { listener, usage, forwarding } = answer;
      if (json) console.log(JSON.stringify({ listener, usage, forwarding }));
      else for (const line of usageLines(answer)) console.log(line);
      return 0;
    }
    const print = json ? (line: StoredLine) => console.log(JSON.stringify(line)) : lineFormatter(process.stdout.isTTY === true);
    if (flag(args, "follow") === "true") {
      await streamServer("/v1/logs/follow", body, (line) => print(line as StoredLine));
      return 0;
    }
    const answer = await callServer<{ lines: StoredLine[] }>("POST", "/v1/logs", body);
    for (const line of answer.lines) print(line);
    return 0;
  },
};

/** What POST /v1/logs answers besides the lines (src/server/log-routes.ts). */
export interface LogsAnswer {
  lines: StoredLine[];
  listener: { host: string; port: number };
  usage: StoreUsage;
  forwarding: ForwarderStatus[];
}

/**
 * The store as `ingot logs --usage` prints it.
 *
 * @example
 * usageLines(answer); // ["store: 212.0 MiB on disk; syslog on 127.0.0.1:5140", "  prod  1000000 lines  180.3 MiB", …]
 */
export function usageLines({ listener, usage, forwarding }: LogsAnswer): string[] {
  return [
    `store: ${formatBytes(usage.fileBytes)} on disk; syslog (TCP and UDP) on ${listener.host}:${listener.port}`,
    ...usage.environments.map((entry) => `  ${printable(entry.environment || "(none)")}  ${entry.lines} lines  ${formatBytes(entry.bytes)}`),
    ...forwarding.map(({ url, environments, counters }) => `forward ${printable(url)} (${environments.map(printable).join(", ") || "no environment now"}): `
      + `${counters.sent} sent, ${counters.queued} queued, ${counters.dropped} dropped, ${counters.errors} errors${counters.connected ? "" : ", not connected"}`
      + (counters.lastError ? `; last error: ${printable(counters.lastError)}` : "")),
  ];
}

/** The verb's options as the body of POST /v1/logs (a plan: tested without a server). */
export function logsRequest(args: Parsed, nowMs: number): Record<string, unknown> {
  const [image, ...extra] = args.positionals;
  const scopes = [flag(args, "env"), flag(args, "instance"), image].filter((scope) => scope !== undefined);
  if (extra.length > 0 || scopes.length > 1) {
    throw new IngotError("Cannot show logs of more than one scope at once", { code: "cli-bad-args", exitCode: 2, hint: "Name one of --env E, --instance ID or an IMAGE" });
  }
  const limit = lineCount(args, 100);
  const since = flag(args, "since");
  const until = flag(args, "until");
  const source = flag(args, "source");
  return {
    ...(flag(args, "env") === undefined ? {} : { environment: flag(args, "env") }),
    ...(flag(args, "instance") === undefined ? {} : { instance: flag(args, "instance") }),
    ...(image === undefined ? {} : { image }),
    ...(since === undefined ? {} : { sinceMs: parseTimeBound(since, nowMs, "--since") }),
    ...(until === undefined ? {} : { untilMs: parseTimeBound(until, nowMs, "--until") }),
    ...(flag(args, "grep") === undefined ? {} : { grep: flag(args, "grep") }),
    ...(flag(args, "level") === undefined ? {} : { level: flag(args, "level") }),
    ...(source === undefined ? {} : { sources: source.split(",").map((name) => name.trim()).filter(Boolean) }),
    limit,
  };
}

/** `TIME ENV/INSTANCE APP:VERSION LEVEL MESSAGE`, the label coloured per instance when `colour`. */
export function lineFormatter(colour: boolean, write: (text: string) => void = (text) => console.log(text)): (line: StoredLine) => void {
  const assigned = new Map<string, number>();
  return (line) => {
    const where = `${line.environment || "-"}/${line.instance || "-"}`;
    const image = line.app ? `${line.app}${line.version ? `:${line.version}` : ""}` : "-";
    const level = (SEVERITY_NAMES[line.severity] ?? "info").padEnd(6);
    let label = printable(`${where} ${image}`);
    if (colour) {
      if (!assigned.has(where)) assigned.set(where, COLOURS[assigned.size % COLOURS.length]!);
      label = `\x1b[${assigned.get(where)}m${label}\x1b[0m`;
    }
    const source = line.source === "app" ? "" : `[${line.source}] `;
    write(`${new Date(line.timeMs).toISOString()} ${label} ${level} ${source}${printable(line.message)}`);
  };
}
