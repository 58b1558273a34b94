import assert from "node:assert/strict";
import { test } from "node:test";
import type { LogLine } from "../log-line.ts";
import { OTLP_SEVERITY_NUMBERS, otlpEncoder, otlpRequestBody } from "./otlp-record.ts";

const LINE: LogLine = { timeMs: Date.parse("2026-11-30T10:00:00.123Z"), environment: "prod", app: "web", version: "1.2.0", instance: "i-1", source: "app", stream: "stderr", severity: 3, message: "boom" };

test("syslog severities map onto OTLP SeverityNumbers, most severe first", () => {
  assert.deepEqual([...OTLP_SEVERITY_NUMBERS], [23, 22, 21, 17, 13, 10, 9, 5]);
});

test("a line is a logRecord under its resource: service, version, instance, environment", () => {
  const encode = otlpEncoder();
  const body = JSON.parse(otlpRequestBody([encode(LINE).item])) as unknown;
  assert.deepEqual(body, {
    resourceLogs: [{
      resource: { attributes: [
        { key: "service.name", value: { stringValue: "web" } },
        { key: "service.version", value: { stringValue: "1.2.0" } },
        { key: "service.instance.id", value: { stringValue: "i-1" } },
        { key: "deployment.environment.name", value: { stringValue: "prod" } },
        { key: "deployment.environment", value: { stringValue: "prod" } },
      ] },
      scopeLogs: [{ scope: { name: "ingot" }, logRecords: [{
        timeUnixNano: "1796032800123000000", severityNumber: 17, severityText: "error", body: { stringValue: "boom" },
        attributes: [{ key: "ingot.source", value: { stringValue: "app" } }, { key: "log.iostream", value: { stringValue: "stderr" } }],
      }] }],
    }],
  });
});

test("a JSON line's fields become attributes: scalars typed, objects dotted, arrays as JSON text; msg is the body, not repeated", () => {
  const encode = otlpEncoder();
  const { item } = encode({ ...LINE, message: "paid", fields: { msg: "paid", level: 30, ok: true, ratio: 0.5, order: { id: 7, items: ["a"] }, none: null } });
  const record = JSON.parse(item.record) as { attributes: { key: string; value: unknown }[] };
  assert.deepEqual(record.attributes.slice(2), [
    { key: "level", value: { intValue: "30" } },
    { key: "ok", value: { boolValue: true } },
    { key: "ratio", value: { doubleValue: 0.5 } },
    { key: "order.id", value: { intValue: "7" } },
    { key: "order.items", value: { stringValue: '["a"]' } },
  ]);
});

test("records are grouped by resource, in order of first appearance", () => {
  const encode = otlpEncoder();
  const items = [LINE, { ...LINE, instance: "i-2", message: "two" }, { ...LINE, message: "three" }].map((line) => encode(line).item);
  const body = JSON.parse(otlpRequestBody(items)) as { resourceLogs: { scopeLogs: { logRecords: { body: { stringValue: string } }[] }[] }[] };
  assert.deepEqual(body.resourceLogs.map((group) => group.scopeLogs[0]!.logRecords.map((record) => record.body.stringValue)), [["boom", "three"], ["two"]]);
});
