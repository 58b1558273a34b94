import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { LogLine } from "./log-line.ts";
import { formatSyslog, octetCounted } from "./syslog-format.ts";
import { parseSyslog } from "./syslog-message.ts";

const LINE: LogLine = { timeMs: Date.parse("2026-11-30T10:00:00.123Z"), environment: "prod", app: "web", version: "1.2.0", instance: "i-1", source: "app", stream: "stderr", severity: 3, message: "boom" };

test("a line is written as RFC 5424 with ingot's structured data, as init writes it", () => {
  assert.equal(formatSyslog(LINE), '<11>1 2026-11-30T10:00:00.123Z i-1 web - stderr [ingot@32473 instance="i-1" env="prod" app="web" version="1.2.0" stream="stderr" source="app"] boom');
});

test("SD values escape \", \\ and ] (RFC 5424 §6.3.3); empty ones are left out; header fields stay printable ASCII", () => {
  const text = formatSyslog({ ...LINE, environment: 'a"b\\c]d', version: "", instance: "", app: "wéb app" });
  assert.match(text, / - w_b_app - stderr \[ingot@32473 env="a\\"b\\\\c\\]d" app="wéb app" stream="stderr" source="app"\] boom$/);
  assert.equal(parseSyslog(Buffer.from(text), 0).environment, 'a"b\\c]d');
});

test("a JSON line goes as the JSON object the app wrote; other structured data goes as its own elements", () => {
  const text = formatSyslog({ ...LINE, message: "paid", fields: { msg: "paid", level: 30, order: { id: 7 }, sd: { "origin": { ip: "10.0.0.1" } } } });
  assert.match(text, /\[origin ip="10\.0\.0\.1"\] \{"msg":"paid","level":30,"order":\{"id":7\}\}$/);
});

test("a line with only ingot's own fields goes with its message; init's shape parameters go in ingot's element", () => {
  const text = formatSyslog({ ...LINE, message: "a piece", fields: { part: 2, continued: true, truncated: true } });
  assert.match(text, / part="2" continued="true"\] a piece$/);
});

test("parseSyslog reads back every field formatSyslog writes", () => {
  const printable = fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 20 }).filter((text) => /^[\x21-\x7e]+$/.test(text) && text !== "-");
  fc.assert(fc.property(
    fc.record({
      timeMs: fc.integer({ min: 0, max: 4102444800000 }), environment: fc.string(), app: printable, version: fc.string(), instance: printable,
      source: fc.constantFrom("app" as const, "console" as const, "entry" as const), stream: fc.constantFrom("stdout", "stderr"),
      severity: fc.integer({ min: 0, max: 7 }), message: fc.string().filter((text) => !/^\s|[\r\n]$|^\{/.test(text) && !text.startsWith("\uFEFF")),
    }),
    (line) => assert.deepEqual(parseSyslog(Buffer.from(formatSyslog(line)), 0), { ...line }),
  ));
});

test("a frame is counted in bytes, not characters (RFC 6587)", () => {
  assert.equal(octetCounted("ü"), "2 ü");
});
