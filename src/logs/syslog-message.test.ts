import assert from "node:assert/strict";
import { test } from "node:test";
import { jsonLevel } from "./log-line.ts";
import { parseSyslog } from "./syslog-message.ts";

const NOW = Date.parse("2026-11-30T12:00:00Z");
const parse = (text: string | Buffer) => parseSyslog(typeof text === "string" ? Buffer.from(text) : text, NOW);

test("RFC 5424 with ingot's structured data gives instance, stream, environment, version and severity", () => {
  const line = parse('<11>1 2026-11-30T10:00:00.123Z vm-host web 42 - [ingot@32473 instance="i-1" stream="stderr" env="prod" version="1.2.0"] boom');
  assert.deepEqual(line, {
    timeMs: Date.parse("2026-11-30T10:00:00.123Z"), environment: "prod", app: "web", version: "1.2.0", instance: "i-1",
    source: "app", stream: "stderr", severity: 3, message: "boom",
  });
});

test("RFC 5424 without structured data keeps hostname as instance, drops the BOM, keeps other SD as fields", () => {
  assert.equal(parse("<14>1 2026-11-30T10:00:00Z host app - - - \uFEFFhello").message, "hello");
  const line = parse('<14>1 2026-11-30T10:00:00Z host app - - [origin ip="10.0.0.1" x="a\\"b\\]"] hi');
  assert.equal(line.instance, "host");
  assert.deepEqual(line.fields, { sd: { origin: { ip: "10.0.0.1", x: 'a"b]' } } });
  assert.equal(line.message, "hi");
});

test("RFC 3164 gives host, tag and a time of the receiver's year", () => {
  const line = parse("<34>Nov 30 11:59:58 mymachine su[230]: 'su root' failed for lonvick");
  assert.equal(line.severity, 2);
  assert.equal(line.instance, "mymachine");
  assert.equal(line.app, "su");
  assert.equal(line.message, "'su root' failed for lonvick");
  assert.equal(new Date(line.timeMs).getFullYear(), 2026);
});

test("a JSON message keeps its fields and maps pino and bunyan levels", () => {
  const line = parse('<14>1 - - - - - - {"level":50,"msg":"db down","pid":7}');
  assert.equal(line.severity, 3);
  assert.equal(line.message, "db down");
  assert.deepEqual(line.fields, { level: 50, msg: "db down", pid: 7 });
  assert.deepEqual([10, 20, 30, 40, 50, 60, "warning", "FATAL", "nope"].map(jsonLevel), [7, 7, 6, 4, 3, 2, 4, 2, undefined]);
  // Between two levels, the higher one, as init maps it.
  assert.deepEqual([25, 35, 45, 55, 70].map(jsonLevel), [6, 4, 3, 2, 2]);
});

test("anything else is kept whole: no PRI, a PRI out of range, a cut header, invalid UTF-8", () => {
  assert.equal(parse("just text").message, "just text");
  assert.equal(parse("just text").severity, 5);
  assert.equal(parse("<999>1 x").message, "<999>1 x");
  assert.equal(parse("<14>1 2026-11-30T10:00:00Z host").message, "2026-11-30T10:00:00Z host");
  assert.equal(parse(Buffer.from([0x3c, 0x31, 0x34, 0x3e, 0x66, 0xff, 0xfe, 0x6f])).message, "f\uFFFD\uFFFDo");
  assert.deepEqual(parseSyslog(Buffer.from("<14>cut"), NOW, { truncated: true }).fields, { truncated: true });
});

test("init's notes on a line's shape are kept as typed fields: pieces of a split line and the dropped count", () => {
  const piece = parseSyslog(Buffer.from('<14>1 2026-11-30T10:00:00Z i-1 web - stdout [ingot@32473 instance="i-1" stream="stdout" part="2" continued="true"] abc'), 0);
  assert.deepEqual(piece.fields, { part: 2, continued: true });
  const notice = parseSyslog(Buffer.from('<12>1 2026-11-30T10:00:00Z i-1 web 1 dropped [ingot@32473 instance="i-1" env="prod" dropped="12"] ingot-init: dropped 12 log lines'), 0);
  assert.deepEqual(notice.fields, { dropped: 12 });
  assert.equal(parseSyslog(Buffer.from('<14>1 2026-11-30T10:00:00Z i-1 web - - [ingot@32473 instance="i-1" constructor="x"] m'), 0).fields, undefined);
});
