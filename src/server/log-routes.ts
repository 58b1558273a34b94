// The API of the log store: a query answers the newest lines; a follow streams the newest lines,
// then every new line that matches as it is written, until the client goes away.
import { IngotError } from "../errors.ts";
import { LOG_SOURCES, type LogSource, severityOfName } from "../logs/log-line.ts";
import { type LogQuery, matchesQuery } from "../logs/log-query.ts";
import type { LogService } from "../logs/log-service.ts";
import type { Route } from "./control-server.ts";

/** A follower that reads this far behind is cut off rather than held in the server's memory. */
const MAX_FOLLOW_BACKLOG_BYTES = 64 * 1024 * 1024;

/**
 * @example
 * await ControlServer.start({ routes: [...logRoutes(logs)] });
 * // POST /v1/logs { "environment": "prod", "grep": "timeout", "limit": 50 } → { lines, listener, usage, forwarding }
 */
export function logRoutes(service: LogService | Error): Route[] {
  const available = (): LogService => {
    if (!(service instanceof Error)) return service;
    throw new IngotError(`Cannot read the logs as the log store did not open: ${service.message}`, {
      code: "logs-unavailable", hint: (service as { hint?: string }).hint ?? "The server's log says why; restart it with ingot server stop", cause: service,
    });
  };
  return [
    {
      method: "POST", path: "/v1/logs", handle: async (body) => {
        const logs = available();
        await logs.store.written();
        return {
          lines: logs.store.query(logQuery(body)),
          listener: { host: "127.0.0.1", port: logs.listener.port, counters: logs.listener.counters },
          usage: logs.store.usage(),
          // Each forward target: where lines go, for which environments, sent, queued, dropped, the last error.
          forwarding: logs.forwarding?.status() ?? [],
        };
      },
    },
    {
      method: "POST", path: "/v1/logs/follow", stream: true, handle: async (body, emit, signal) => {
        const logs = available();
        const query = logQuery(body);
        await logs.store.written();
        // The answer and the subscription in one turn: a line the answer holds may still reach the
        // listener (committed, its batch not yet answered by the writer), so only newer ones are sent.
        let newestSent = 0;
        for (const line of logs.store.query(query)) {
          emit(line);
          newestSent = line.id;
        }
        let lagging = false;
        await new Promise<void>((resolve) => {
          const unsubscribe = logs.store.subscribe((lines) => {
            let unread = 0;
            for (const line of lines) if (line.id > newestSent && matchesQuery(line, query)) unread = emit(line);
            if (unread > MAX_FOLLOW_BACKLOG_BYTES) { lagging = true; unsubscribe(); resolve(); }
          });
          signal.addEventListener("abort", () => { unsubscribe(); resolve(); }, { once: true });
        });
        if (lagging) throw new IngotError("Cannot follow the logs any longer as this reader fell more than 64 MiB behind", { code: "logs-follow-lagging", hint: "Narrow the query (--env, --instance, --grep, --level), or read with ingot logs --since" });
        return { followed: true };
      },
    },
  ];
}

/** The request body as a query; every field optional, each checked. */
export function logQuery(body: unknown): LogQuery {
  const fields = (body ?? {}) as Record<string, unknown>;
  const query: LogQuery = {};
  const bad = (field: string, expected: string): IngotError => new IngotError(`Cannot use the request as ${field} is not ${expected}`, { code: "api-bad-request", hint: "Use the ingot CLI, or send the fields ingot logs sends" });
  for (const field of ["environment", "instance", "image", "grep"] as const) {
    if (fields[field] === undefined) continue;
    if (typeof fields[field] !== "string") throw bad(field, "a string");
    query[field] = fields[field];
  }
  for (const field of ["sinceMs", "untilMs", "limit"] as const) {
    if (fields[field] === undefined) continue;
    if (typeof fields[field] !== "number" || !Number.isFinite(fields[field])) throw bad(field, "a number");
    query[field] = fields[field];
  }
  if (fields.level !== undefined) {
    const severity = typeof fields.level === "string" ? severityOfName(fields.level) : undefined;
    if (severity === undefined) throw new IngotError(`Cannot show logs at level ${String(fields.level)} as it is not a level`, { code: "logs-bad-level", hint: "Use one of debug, info, notice, warn, error, crit, alert, emerg" });
    query.maxSeverity = severity;
  }
  if (fields.sources !== undefined) {
    const sources = fields.sources;
    if (!Array.isArray(sources) || sources.some((source) => !LOG_SOURCES.includes(source as LogSource))) {
      throw new IngotError(`Cannot show logs of source ${String(sources)} as sources are ${LOG_SOURCES.join(", ")}`, { code: "logs-bad-source", hint: "Write --source app,console,entry or a part of it" });
    }
    query.sources = sources as LogSource[];
  }
  return query;
}
