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
  const pri = priority(text);
  // RFC 3164 §4.3.3: a message without a PRI is taken as user.notice, whole.
  if (pri && pri.value <= 191) {
    line.severity = pri.value % 8;
    if (text.startsWith("1 ", pri.end)) parse5424(text, pri.end + 2, line);
    else parse3164(text.slice(pri.end), line, receivedMs);
  }
  applyJson(line);
  if (options.truncated) line.fields = { ...line.fields, truncated: true };
  return line;
}

/** `<PRI>` at the start, 1 to 3 digits: its value and the index after `>`, read without a regex (once a line). */
function priority(text: string): { value: number; end: number } | undefined {
  if (text.charCodeAt(0) !== 0x3c) return undefined;
  let value = 0;
  let index = 1;
  for (let code = text.charCodeAt(index); code >= 0x30 && code <= 0x39 && index <= 3; code = text.charCodeAt(++index)) value = value * 10 + code - 0x30;
  return index > 1 && text.charCodeAt(index) === 0x3e ? { value, end: index + 1 } : undefined;
}

/** The last timestamp parsed: a sender stamps many lines with the same one, and Date.parse costs more than the rest of a line. */
let lastTimestamp = { text: "", timeMs: NaN };

function parse5424(text: string, start: number, line: LogLine): void {
  // TIMESTAMP HOSTNAME APP-NAME PROCID MSGID, each up to a space; "-" is none.
  const ends: number[] = [];
  for (let index = start; ends.length < 5; index++) {
    const space = text.indexOf(" ", index);
    if (space < 0) { line.message = text.slice(start); return; }
    ends.push(space);
    index = space;
  }
  const timestamp = headerField(text, start, ends[0]!);
  if (timestamp !== lastTimestamp.text) lastTimestamp = { text: timestamp, timeMs: Date.parse(timestamp) };
  if (Number.isFinite(lastTimestamp.timeMs)) line.timeMs = lastTimestamp.timeMs;
  line.instance = headerField(text, ends[0]! + 1, ends[1]!);
  line.app = headerField(text, ends[1]! + 1, ends[2]!);
  const { data, end } = parseStructuredData(text, ends[4]! + 1);
  let message = text.slice(text.charCodeAt(end) === 0x20 ? end + 1 : end);
  if (message.startsWith("\uFEFF")) message = message.slice(1);
  line.message = message;
  applyStructuredData(line, data);
}

/** A header field of RFC 5424: "-" is the NILVALUE, none. */
function headerField(text: string, from: number, to: number): string {
  return to - from === 1 && text.charCodeAt(from) === 0x2d ? "" : text.slice(from, to);
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
  let others: StructuredData | undefined;
  for (const id in data) if (id !== INGOT_SD_ID) (others ??= {})[id] = data[id]!;
  if (others) line.fields = { ...line.fields, sd: others };
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
