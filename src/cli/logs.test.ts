import assert from "node:assert/strict";
import { test } from "node:test";
import type { StoredLine } from "../logs/log-query.ts";
import { parseTimeBound } from "../logs/log-time.ts";
import { lineFormatter, logsRequest } from "./logs.ts";

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
