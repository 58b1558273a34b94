// One syslog message as a log line: RFC 5424 (`<PRI>1 TIME HOST APP PROCID MSGID SD MSG`) or the
// older BSD form of RFC 3164 (`<PRI>Mmm dd hh:mm:ss HOST TAG: MSG`). Never throws: whatever does not
// parse is kept as the message, so a line is never lost for its format.
import { jsonLevel, type LogLine, type LogSource, LOG_SOURCES } from "./log-line.ts";
import { parseStructuredData, type StructuredData } from "./structured-data.ts";

/** ingot's private enterprise number, the SD-ID init writes: `[ingot@32473 instance="i-1" ...]`. */
export const INGOT_SD_ID = "ingot@32473";

/** init's parameters about a line's shape (init/logs.c), kept as typed fields: part="2" continued="true", dropped="12". */
const SHAPE_PARAMS: Record<string, (value: string) => unknown> = {
  part: Number, dropped: Number, continued: (value) => value === "true",
};

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const BSD_TIME = /^([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) /;

/**
 * @example
 * parseSyslog(Buffer.from('<11>1 2026-11-30T10:00:00Z vm web 1 - [ingot@32473 instance="i-1" env="prod"] boom'), Date.now());
 * // { severity: 3, instance: "i-1", environment: "prod", app: "web", message: "boom", ... }
 */
export function parseSyslog(bytes: Uint8Array, receivedMs: number, options: { truncated?: boolean } = {}): LogLine {
  // Invalid UTF-8 becomes U+FFFD rather than an error (RFC 5424 §6.4 allows any octets in MSG).
  const decoded = (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).toString("utf8");
  let end = decoded.length;
  while (end > 0 && (decoded.charCodeAt(end - 1) === 10 || decoded.charCodeAt(end - 1) === 13)) end--;
  const text = end === decoded.length ? decoded : decoded.slice(0, end);
  const line: LogLine = { timeMs: receivedMs, environment: "", app: "", version: "", instance: "", source: "app", stream: "", severity: 5, message: text };
  const pri = /^<(\d{1,3})>/.exec(text);
  // RFC 3164 §4.3.3: a message without a PRI is taken as user.notice, whole.
  if (pri && Number(pri[1]) <= 191) {
    line.severity = Number(pri[1]) % 8;
    const rest = text.slice(pri[0].length);
    if (rest.startsWith("1 ")) parse5424(rest.slice(2), line);
    else parse3164(rest, line, receivedMs);
  }
  applyJson(line);
  if (options.truncated) line.fields = { ...line.fields, truncated: true };
  return line;
}

function parse5424(text: string, line: LogLine): void {
  const parts: string[] = [];
  let index = 0;
  for (let field = 0; field < 5; field++) {
    const space = text.indexOf(" ", index);
    if (space < 0) { line.message = text; return; }
    parts.push(text.slice(index, space));
    index = space + 1;
  }
  const [timestamp, hostname, appName] = parts.map((part) => (part === "-" ? "" : part)) as [string, string, string];
  const time = Date.parse(timestamp);
  if (Number.isFinite(time)) line.timeMs = time;
  line.app = appName;
  line.instance = hostname;
  const { data, end } = parseStructuredData(text, index);
  let message = text.slice(text[end] === " " ? end + 1 : end);
  if (message.startsWith("\uFEFF")) message = message.slice(1);
  line.message = message;
  applyStructuredData(line, data);
}

function parse3164(text: string, line: LogLine, receivedMs: number): void {
  let rest = text;
  const time = BSD_TIME.exec(rest);
  if (time) {
    // The BSD format has no year and no zone: the receiver's year and local time (RFC 3164 §4.3.2).
    const date = new Date(receivedMs);
    date.setMonth(MONTHS.indexOf(time[1]!), Number(time[2]));
    date.setHours(Number(time[3]), Number(time[4]), Number(time[5]), 0);
    if (MONTHS.includes(time[1]!)) line.timeMs = date.getTime();
    rest = rest.slice(time[0].length);
    const space = rest.indexOf(" ");
    if (space > 0) { line.instance = rest.slice(0, space); rest = rest.slice(space + 1); }
  }
  const tag = /^([^\s:[]{1,48})(?:\[[^\]]*\])?: ?/.exec(rest);
  if (tag) { line.app = tag[1]!; rest = rest.slice(tag[0].length); }
  line.message = rest;
}

function applyStructuredData(line: LogLine, data: StructuredData): void {
  const ingot = data[INGOT_SD_ID];
  if (ingot) {
    line.instance = ingot.instance ?? line.instance;
    line.environment = ingot.env ?? line.environment;
    line.app = ingot.app ?? line.app;
    line.version = ingot.version ?? "";
    line.stream = ingot.stream ?? "";
    if (LOG_SOURCES.includes(ingot.source as LogSource)) line.source = ingot.source as LogSource;
    // What init says about a line's shape: a piece of a split line, or its notice of dropped lines.
    const shape = Object.entries(ingot).flatMap(([name, value]) => (Object.hasOwn(SHAPE_PARAMS, name) ? [[name, SHAPE_PARAMS[name]!(value)]] : []));
    if (shape.length > 0) line.fields = { ...line.fields, ...Object.fromEntries(shape) };
  }
  const others = Object.entries(data).filter(([id]) => id !== INGOT_SD_ID);
  if (others.length > 0) line.fields = { ...line.fields, sd: Object.fromEntries(others) };
}

/** A message that is a JSON object keeps its fields; its msg is the message and its level the severity. */
function applyJson(line: LogLine): void {
  const text = line.message;
  if (!text.startsWith("{") || !text.endsWith("}")) return;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return;
  const fields = value as Record<string, unknown>;
  line.fields = { ...line.fields, ...fields };
  const message = fields.msg ?? fields.message;
  if (typeof message === "string") line.message = message;
  const severity = jsonLevel(fields.level ?? fields.severity);
  if (severity !== undefined) line.severity = severity;
}
