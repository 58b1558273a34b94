// A log line as OTLP/JSON (opentelemetry-proto, logs/v1 ExportLogsServiceRequest): its identity as
// the resource (service, version, instance, environment), the line as a logRecord. Records are
// encoded when queued, and a request body is the records joined under their resources.
import { type LogLine, SEVERITY_NAMES } from "../log-line.ts";
import type { Encoded } from "./forward-buffer.ts";

/** Syslog severity 0 (emerg) .. 7 (debug) as an OTLP SeverityNumber (FATAL3, FATAL2, FATAL, ERROR, WARN, INFO2, INFO, DEBUG). */
export const OTLP_SEVERITY_NUMBERS = [23, 22, 21, 17, 13, 10, 9, 5] as const;

/** A line's fields become at most this many attributes, nested at most this deep (deeper: JSON text). */
const MAX_ATTRIBUTES = 128;
const MAX_DEPTH = 4;
/** Distinct resources whose JSON is kept for reuse; lines of one instance share it. */
const RESOURCE_CACHE_SIZE = 1024;

export interface OtlpItem {
  /** The resource's JSON; records with the same one are grouped under it. */
  resource: string;
  /** The logRecord's JSON. */
  record: string;
}

type AnyValue = { stringValue: string } | { boolValue: boolean } | { intValue: string } | { doubleValue: number };
interface KeyValue { key: string; value: AnyValue }

/**
 * An encoder of lines; it keeps the JSON of the resources it has seen.
 *
 * @example
 * const encode = otlpEncoder();
 * const body = otlpRequestBody([encode(line).item]);
 * // {"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"web"}},…]},"scopeLogs":[…]}]}
 */
export function otlpEncoder(): (line: LogLine) => Encoded<OtlpItem> {
  const resources = new Map<string, string>();
  return (line) => {
    const key = `${line.environment}\0${line.app}\0${line.version}\0${line.instance}`;
    let resource = resources.get(key);
    if (resource === undefined) {
      if (resources.size >= RESOURCE_CACHE_SIZE) resources.clear();
      resource = JSON.stringify({ attributes: resourceAttributes(line) });
      resources.set(key, resource);
    }
    const record = JSON.stringify(logRecord(line));
    return { item: { resource, record }, bytes: record.length + resource.length };
  };
}

/** The ExportLogsServiceRequest for a batch, one resourceLogs per resource in order of first appearance. */
export function otlpRequestBody(items: readonly OtlpItem[]): string {
  const groups = new Map<string, string[]>();
  for (const { resource, record } of items) {
    const records = groups.get(resource);
    if (records) records.push(record);
    else groups.set(resource, [record]);
  }
  const resourceLogs = [...groups].map(([resource, records]) => `{"resource":${resource},"scopeLogs":[{"scope":{"name":"ingot"},"logRecords":[${records.join(",")}]}]}`);
  return `{"resourceLogs":[${resourceLogs.join(",")}]}`;
}

/** Semantic conventions: service.*, and the environment under both its current and its older name. */
function resourceAttributes(line: LogLine): KeyValue[] {
  const attributes: KeyValue[] = [{ key: "service.name", value: { stringValue: line.app || "unknown_service" } }];
  if (line.version) attributes.push({ key: "service.version", value: { stringValue: line.version } });
  if (line.instance) attributes.push({ key: "service.instance.id", value: { stringValue: line.instance } });
  if (line.environment) {
    attributes.push({ key: "deployment.environment.name", value: { stringValue: line.environment } });
    attributes.push({ key: "deployment.environment", value: { stringValue: line.environment } });
  }
  return attributes;
}

function logRecord(line: LogLine): { timeUnixNano: string; severityNumber: number; severityText: string; body: AnyValue; attributes: KeyValue[] } {
  const severity = line.severity & 7;
  const attributes: KeyValue[] = [{ key: "ingot.source", value: { stringValue: line.source } }];
  if (line.stream) attributes.push({ key: "log.iostream", value: { stringValue: line.stream } });
  for (const [key, value] of Object.entries(line.fields ?? {})) {
    // The message is the body already; the JSON line's msg would only repeat it.
    if ((key === "msg" || key === "message") && value === line.message) continue;
    flatten(key, value, 1, attributes);
  }
  return {
    // Nanoseconds exceed 2^53: written as a decimal string, as proto3's JSON mapping does for 64-bit integers.
    timeUnixNano: `${BigInt(Math.round(line.timeMs)) * 1_000_000n}`,
    severityNumber: OTLP_SEVERITY_NUMBERS[severity]!,
    severityText: SEVERITY_NAMES[severity]!,
    body: { stringValue: line.message },
    attributes,
  };
}

/** Objects become dotted keys (`req.method`); arrays and what is nested too deep, JSON text. */
function flatten(key: string, value: unknown, depth: number, out: KeyValue[]): void {
  if (out.length >= MAX_ATTRIBUTES || value === null || value === undefined) return;
  if (typeof value === "object" && !Array.isArray(value) && depth < MAX_DEPTH) {
    for (const [name, item] of Object.entries(value)) flatten(`${key}.${name}`, item, depth + 1, out);
    return;
  }
  out.push({ key, value: anyValue(value) });
}

function anyValue(value: unknown): AnyValue {
  if (typeof value === "string") return { stringValue: value };
  if (typeof value === "boolean") return { boolValue: value };
  if (typeof value === "number") return Number.isSafeInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  return { stringValue: JSON.stringify(value) };
}
