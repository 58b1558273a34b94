// One stored log line and its levels: syslog severities (RFC 5424 §6.2.1), with the names and
// numbers that JSON loggers (pino, bunyan) write mapped onto them.

export type LogSource = "app" | "console" | "entry";
export const LOG_SOURCES: readonly LogSource[] = ["app", "console", "entry"];

/** Severity 0..7 by name, most severe first, as syslog numbers them. */
export const SEVERITY_NAMES = ["emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"] as const;
export type SeverityName = (typeof SEVERITY_NAMES)[number];

export interface LogLine {
  timeMs: number;
  /** "" when the sender named none (a plain syslog sender). */
  environment: string;
  app: string;
  version: string;
  instance: string;
  source: LogSource;
  stream: string;
  /** 0 (emerg) .. 7 (debug). */
  severity: number;
  message: string;
  /** The fields of a JSON line, other structured data; undefined when there are none. */
  fields?: Record<string, unknown>;
}

const LEVEL_ALIASES: Record<string, number> = {
  emerg: 0, emergency: 0, panic: 0, alert: 1, crit: 2, critical: 2, fatal: 2,
  err: 3, error: 3, warn: 4, warning: 4, notice: 5, info: 6, information: 6, debug: 7, trace: 7,
};

/** A level name ("warn", "WARNING", "fatal") as a severity, or undefined. */
export function severityOfName(name: string): number | undefined {
  return LEVEL_ALIASES[name.toLowerCase()];
}

/**
 * A JSON logger's level as a severity: pino and bunyan number them 10 trace, 20 debug, 30 info,
 * 40 warn, 50 error, 60 fatal; a number between two takes the higher one's name (35 is a warn), as
 * init maps it (init/syslog.c), so a line's level is the same whether init or the store read it.
 * A name is looked up as one.
 *
 * @example
 * jsonLevel(40); // 4 (warn)
 */
export function jsonLevel(level: unknown): number | undefined {
  if (typeof level === "string") return severityOfName(level);
  if (typeof level !== "number" || !Number.isFinite(level)) return undefined;
  if (level <= 20) return 7;
  if (level <= 30) return 6;
  if (level <= 40) return 4;
  if (level <= 50) return 3;
  return 2;
}

/**
 * Keys ingot itself adds to a line's fields, not the app's: other structured data, a cut message,
 * and init's word on a line's shape (a piece of a split line, its notice of dropped lines).
 */
export const INGOT_FIELD_KEYS: readonly string[] = ["sd", "truncated", "part", "continued", "dropped"];

/**
 * The fields of the JSON object the app wrote (its msg or message is the line's message), without
 * those ingot added; undefined when the line was not such an object.
 *
 * @example
 * appFields({ message: "hi", fields: { msg: "hi", user: 7, truncated: true } }); // { msg: "hi", user: 7 }
 * appFields({ message: "a piece", fields: { part: 2, continued: true } }); // undefined
 */
export function appFields(line: Pick<LogLine, "message" | "fields">): Record<string, unknown> | undefined {
  const fields = line.fields;
  if (!fields || (fields.msg !== line.message && fields.message !== line.message)) return undefined;
  return Object.fromEntries(Object.entries(fields).filter(([key]) => !INGOT_FIELD_KEYS.includes(key)));
}
