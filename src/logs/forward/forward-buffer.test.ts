import assert from "node:assert/strict";
import { test } from "node:test";
import type { LogLine } from "../log-line.ts";
import { ForwardBuffer } from "./forward-buffer.ts";
import { retryDelayMs } from "./retry-delay.ts";

const LINE: LogLine = { timeMs: 0, environment: "prod", app: "web", version: "1", instance: "i-1", source: "app", stream: "stdout", severity: 6, message: "hi" };
const messages = (buffer: ForwardBuffer<string>) => buffer.take(1000, Infinity).map((entry) => entry.item);

test("the buffer holds up to its bound in lines and bytes; past it lines are counted, and the notice goes where they are missing", () => {
  const buffer = new ForwardBuffer<string>("syslog+tcp://a:514", (line) => ({ item: line.message, bytes: line.message.length }), { lines: 3, bytes: 1000 });
  for (const message of ["a", "b", "c", "d", "e"]) buffer.offer({ ...LINE, message });
  assert.deepEqual([buffer.lines, buffer.dropped], [3, 2]);
  assert.deepEqual(buffer.take(2, Infinity).map((entry) => entry.item), ["a", "b"]);
  buffer.offer({ ...LINE, message: "f" });
  assert.deepEqual(messages(buffer), ["c", "ingot: dropped 2 log lines for syslog+tcp://a:514 as it was unreachable or too slow", "f"]);
  assert.equal(buffer.dropped, 2);
});

test("bytes bound the buffer too; a batch put back goes first; reportDrops() adds the notice when nothing else waits", () => {
  const buffer = new ForwardBuffer<string>("u", (line) => ({ item: line.message, bytes: line.message.length }), { lines: 100, bytes: 10 });
  buffer.offer({ ...LINE, message: "12345" });
  buffer.offer({ ...LINE, message: "67890" });
  buffer.offer({ ...LINE, message: "x" });
  assert.deepEqual([buffer.lines, buffer.bytes, buffer.dropped], [2, 10, 1]);
  const batch = buffer.take(100, 6);
  assert.deepEqual(batch.map((entry) => entry.item), ["12345"], "a batch stops before the byte limit");
  buffer.putBack(batch);
  assert.deepEqual(messages(buffer), ["12345", "67890"]);
  buffer.reportDrops();
  assert.deepEqual(messages(buffer), ["ingot: dropped 1 log lines for u as it was unreachable or too slow"]);
  buffer.reportDrops();
  assert.equal(buffer.lines, 0, "one notice per run of drops");
});

test("retries wait longer each time, up to half a minute, with jitter", () => {
  assert.deepEqual([1, 2, 3, 8, 20].map((failures) => retryDelayMs(failures, () => 0.5)), [250, 500, 1000, 30_000, 30_000]);
  assert.equal(retryDelayMs(1, () => 0), 200);
  assert.equal(retryDelayMs(1, () => 1), 300);
});
