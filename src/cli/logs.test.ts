import assert from "node:assert/strict";
import { test } from "node:test";
import type { StoredLine } from "../logs/log-query.ts";
import { parseTimeBound } from "../logs/log-time.ts";
import { lineFormatter, logsRequest, usageLines } from "./logs.ts";

const NOW = Date.parse("2026-11-30T12:00:00Z");
const parsed = (positionals: string[], flags: Record<string, string>) => ({ positionals, flags: new Map(Object.entries(flags).map(([key, value]) => [key, [value]])) });

test("the verb's options become one query", () => {
  assert.deepEqual(logsRequest(parsed([], { env: "prod", since: "10m", until: "2026-11-30T11:59:00Z", grep: "db", level: "warn", source: "app, console", lines: "5" }), NOW), {
    environment: "prod", sinceMs: NOW - 600_000, untilMs: NOW - 60_000, grep: "db", level: "warn", sources: ["app", "console"], limit: 5,
  });
  assert.deepEqual(logsRequest(parsed(["web:1.2"], {}), NOW), { image: "web:1.2", limit: 100 });
  assert.throws(() => logsRequest(parsed(["web"], { env: "prod" }), NOW), /more than one scope/);
  assert.throws(() => logsRequest(parsed([], { lines: "ten" }), NOW), /not a number of lines/);
  assert.equal(parseTimeBound("2d", NOW), NOW - 2 * 86_400_000);
  assert.throws(() => parseTimeBound("yesterday", NOW), /neither an age nor a date/);
});

test("lines print with a colour per instance on a terminal, plain and escaped when piped", () => {
  const line: StoredLine = { id: 1, timeMs: NOW, environment: "prod", app: "web", version: "1.0", instance: "i-1", source: "app", stream: "stderr", severity: 3, message: "boom \x1b[2J" };
  const plain: string[] = [];
  lineFormatter(false, (text) => plain.push(text))(line);
  assert.deepEqual(plain, ["2026-11-30T12:00:00.000Z prod/i-1 web:1.0 error  boom \\x1b[2J"]);
  const coloured: string[] = [];
  const print = lineFormatter(true, (text) => coloured.push(text));
  print(line);
  print({ ...line, instance: "i-2", source: "console" });
  assert.ok(coloured[0]!.includes("\x1b[32mprod/i-1 web:1.0\x1b[0m"), coloured[0]);
  assert.ok(coloured[1]!.includes("\x1b[33mprod/i-2 web:1.0\x1b[0m error  [console] boom"), coloured[1]);
});

test("--usage prints the store's size, each environment's share, the syslog port and each forward target's counters", () => {
  assert.deepEqual(usageLines({
    lines: [], listener: { host: "127.0.0.1", port: 5140 },
    usage: { fileBytes: 222 * 2 ** 20, indexedUpto: 10, environments: [{ environment: "prod", lines: 1_000_000, bytes: 180 * 2 ** 20 }, { environment: "", lines: 3, bytes: 300 }] },
    forwarding: [{ url: "syslog+tcp://logs:514", environments: ["prod"], counters: { sent: 10, queued: 2, dropped: 1, errors: 3, connected: false, lastError: "connect ECONNREFUSED" } }],
  }), [
    "store: 222.0 MiB on disk; syslog (TCP and UDP) on 127.0.0.1:5140",
    "  prod  1000000 lines  180.0 MiB",
    "  (none)  3 lines  300 B",
    "forward syslog+tcp://logs:514 (prod): 10 sent, 2 queued, 1 dropped, 3 errors, not connected; last error: connect ECONNREFUSED",
  ]);
});
