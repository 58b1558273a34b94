// A stored log line written back as RFC 5424 syslog, the form parseSyslog() reads: what ingot sends
// to a forward target, so that a syslog receiver (or another ingot) gets the line with its fields.
import { appFields, type LogLine } from "./log-line.ts";
import { formatStructuredData, type StructuredData } from "./structured-data.ts";
import { INGOT_SD_ID } from "./syslog-message.ts";

/** init's parameters on a line's shape (init/logs.c): part="2" continued="true", dropped="12". */
const SHAPE_KEYS = ["part", "continued", "dropped"] as const;

/** Facility user (1), as init's lines have it: PRI = 8 + severity. */
const FACILITY_USER = 1;

/**
 * `<PRI>1 TIME HOSTNAME APP-NAME - MSGID [ingot@32473 …] MSG`: HOSTNAME is the instance, MSGID the
 * stream (as init writes them), and a line that came as a JSON object goes as that JSON object.
 *
 * @example
 * formatSyslog({ timeMs: 0, environment: "prod", app: "web", version: "1.0", instance: "i-1", source: "app", stream: "stderr", severity: 3, message: "boom" });
 * // '<11>1 1970-01-01T00:00:00.000Z i-1 web - stderr [ingot@32473 instance="i-1" env="prod" app="web" version="1.0" stream="stderr" source="app"] boom'
 */
export function formatSyslog(line: LogLine): string {
  const ingot: Record<string, string> = { instance: line.instance, env: line.environment, app: line.app, version: line.version, stream: line.stream, source: line.source };
  // init's word on the line's shape goes on as init wrote it, in ingot's element.
  for (const key of SHAPE_KEYS) if (line.fields?.[key] !== undefined) ingot[key] = String(line.fields[key]);
  const others = line.fields?.sd;
  const data: StructuredData = { [INGOT_SD_ID]: ingot, ...(isStructuredData(others) ? others : {}) };
  const json = appFields(line);
  // The JSON object the app wrote (msg, level and all): a receiver that parses JSON gets every field.
  const message = json ? JSON.stringify(json) : line.message;
  const time = Number.isFinite(line.timeMs) ? new Date(line.timeMs).toISOString() : "-";
  return `<${FACILITY_USER * 8 + (line.severity & 7)}>1 ${time} ${headerField(line.instance, 255)} ${headerField(line.app, 48)} - ${headerField(line.stream, 32)} ${formatStructuredData(data)} ${message}`;
}

/**
 * One RFC 6587 octet-counted frame: `LEN SP MSG`, LEN in bytes.
 *
 * @example
 * octetCounted("<14>1 - - - - - - hi"); // "20 <14>1 - - - - - - hi"
 */
export function octetCounted(message: string): string {
  return `${Buffer.byteLength(message)} ${message}`;
}

/** HOSTNAME, APP-NAME and MSGID are printable US-ASCII without spaces, bounded, `-` when empty (§6.2). */
function headerField(text: string, max: number): string {
  if (PRINTABLE.test(text) && text.length <= max) return text;
  return text.replace(/[^\x21-\x7e]/g, "_").slice(0, max) || "-";
}

const PRINTABLE = /^[\x21-\x7e]+$/;

function isStructuredData(value: unknown): value is StructuredData {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    && Object.values(value).every((params) => typeof params === "object" && params !== null && Object.values(params).every((param) => typeof param === "string"));
}
