// A query of the log store as SQL (a plan, data), and the same filter for lines as they arrive
// (follow). grep is a case-insensitive substring: through the trigram index for the lines it
// covers, a scan for the rest, and a plain instr() scan for text the index cannot match.
import type { LogLine, LogSource } from "./log-line.ts";

export interface LogQuery {
  environment?: string;
  instance?: string;
  /** NAME or NAME:VERSION of the app. */
  image?: string;
  sinceMs?: number;
  untilMs?: number;
  /** The least severe level shown: 4 (warn) shows warn, error, crit, alert, emerg. */
  maxSeverity?: number;
  sources?: LogSource[];
  grep?: string;
  /** The newest `limit` lines are returned, oldest first. */
  limit?: number;
  /** Only lines stored before the line of this id: the next page of an answer that reached its limit. */
  beforeId?: number;
}

export interface StoredLine extends LogLine { id: number }

export interface SqlPlan { sql: string; params: Record<string, string | number> }

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 100_000;

/**
 * The SQL of a query. With `scanFromId`, only lines above that id, grepped by a plain scan.
 *
 * @example
 * queryPlan({ environment: "prod", grep: "timeout" }, 5000).sql; // SELECT … UNION ALL … ORDER BY id DESC LIMIT @limit
 */
export function queryPlan(query: LogQuery, indexedUpto: number, scanFromId?: number): SqlPlan {
  const where: string[] = [];
  const params: Record<string, string | number> = { limit: Math.min(Math.max(1, query.limit ?? DEFAULT_LIMIT), MAX_LIMIT) };
  const add = (clause: string, name: string, value: string | number): void => { where.push(clause); params[name] = value; };
  if (query.environment !== undefined) add("environment = @environment", "environment", query.environment);
  if (query.instance !== undefined) add("instance = @instance", "instance", query.instance);
  if (query.image !== undefined) {
    const [app, version] = splitImage(query.image);
    add("app = @app", "app", app);
    if (version !== undefined) add("version = @version", "version", version);
  }
  if (query.sinceMs !== undefined) add("time_ms >= @since", "since", query.sinceMs);
  if (query.untilMs !== undefined) add("time_ms <= @until", "until", query.untilMs);
  if (query.maxSeverity !== undefined) add("severity <= @severity", "severity", query.maxSeverity);
  if (scanFromId !== undefined) add("id > @scanFrom", "scanFrom", scanFromId);
  if (query.beforeId !== undefined) add("id < @beforeId", "beforeId", query.beforeId);
  if (query.sources !== undefined) {
    where.push(`source IN (${query.sources.map((_, index) => `@source${index}`).join(", ")})`);
    query.sources.forEach((source, index) => { params[`source${index}`] = source; });
  }
  const select = (extra: string[]): string => `SELECT * FROM lines${[...where, ...extra].length ? ` WHERE ${[...where, ...extra].join(" AND ")}` : ""}`;
  const order = "ORDER BY id DESC LIMIT @limit";
  const grep = query.grep;
  if (grep === undefined || grep === "") return { sql: `${select([])} ${order}`, params };
  params.grep = grep;
  // The index answers LIKE for 3+ characters without % or _ (an ESCAPE clause turns it off); a
  // scan of the newest lines (scanFromId) needs no index.
  if ([...grep].length < 3 || /[%_]/.test(grep) || scanFromId !== undefined) return { sql: `${select(["instr(lower(message), lower(@grep)) > 0"])} ${order}`, params };
  params.pattern = `%${grep}%`;
  params.indexed = indexedUpto;
  const indexed = select(["id <= @indexed", "id IN (SELECT rowid FROM lines_text WHERE message LIKE @pattern)"]);
  const tail = select(["id > @indexed", "message LIKE @pattern"]);
  return { sql: `SELECT * FROM (${indexed} UNION ALL ${tail}) ${order}`, params };
}

/** Whether a line that just arrived belongs to the query's answer (limit aside). */
export function matchesQuery(line: LogLine, query: LogQuery): boolean {
  if (query.environment !== undefined && line.environment !== query.environment) return false;
  if (query.instance !== undefined && line.instance !== query.instance) return false;
  if (query.image !== undefined) {
    const [app, version] = splitImage(query.image);
    if (line.app !== app || (version !== undefined && line.version !== version)) return false;
  }
  if (query.sinceMs !== undefined && line.timeMs < query.sinceMs) return false;
  if (query.untilMs !== undefined && line.timeMs > query.untilMs) return false;
  if (query.maxSeverity !== undefined && line.severity > query.maxSeverity) return false;
  if (query.sources !== undefined && !query.sources.includes(line.source)) return false;
  if (query.grep && !line.message.toLowerCase().includes(query.grep.toLowerCase())) return false;
  return true;
}

function splitImage(image: string): [string, string | undefined] {
  const colon = image.lastIndexOf(":");
  return colon > 0 ? [image.slice(0, colon), image.slice(colon + 1)] : [image, undefined];
}
