import assert from "node:assert/strict";
import { test } from "node:test";
import { until } from "../../../test/log-peers.ts";
import type { LogLine } from "../log-line.ts";
import { SyslogListener } from "../syslog-listener.ts";
import type { SyslogTarget } from "./forward-target.ts";
import type { LogForwarder } from "./log-forwarder.ts";
import { SyslogForwarder } from "./syslog-forwarder.ts";

const LINE: LogLine = { timeMs: Date.parse("2026-11-30T10:00:00.123Z"), environment: "prod", app: "web", version: "1.2.0", instance: "i-1", source: "app", stream: "stderr", severity: 3, message: "boom" };
const targetAt = (port: number): SyslogTarget => ({ kind: "syslog", url: `syslog+tcp://127.0.0.1:${port}`, host: "127.0.0.1", port, tls: false });

/** A port that refuses connections: one a listener held a moment ago. */
async function closedPort(): Promise<number> {
  const listener = await SyslogListener.start(() => {});
  await listener.close();
  return listener.port;
}

/** Sends lines in turns of the event loop, as the listener delivers them; returns the time spent in send() alone. */
async function sendInTurns(forwarder: LogForwarder, count: number, perTurn = 1000): Promise<number> {
  let spentMs = 0;
  for (let sent = 0; sent < count; sent += perTurn) {
    const started = performance.now();
    for (let index = sent; index < sent + perTurn; index++) forwarder.send({ ...LINE, message: `line ${index}` });
    spentMs += performance.now() - started;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return spentMs;
}

test("lines reach ingot's own listener with every field, as RFC 5424 over TCP, octet-counted", async (t) => {
  const received: LogLine[] = [];
  const listener = await SyslogListener.start((line) => received.push(line));
  const forwarder = new SyslogForwarder(targetAt(listener.port));
  t.after(async () => { await forwarder.close(); await listener.close(); });
  const json: LogLine = { ...LINE, source: "console", stream: "stdout", severity: 6, message: "paid", fields: { msg: "paid", level: 30, order: 7 } };
  forwarder.send(LINE);
  forwarder.send(json);
  await until(() => received.length === 2, "two lines");
  assert.deepEqual(received[0], LINE);
  assert.deepEqual(received[1], json);
  assert.deepEqual({ ...forwarder.counters }, { sent: 2, queued: 0, dropped: 0, errors: 0, connected: true });
});

test("while the peer is down lines wait up to the bound, the rest are counted, and one notice says so once it is back", async (t) => {
  const port = await closedPort();
  const forwarder = new SyslogForwarder(targetAt(port), { limits: { lines: 100, bytes: 1 << 20 }, retryDelayMs: () => 50 });
  const received: LogLine[] = [];
  const peer: { listener?: SyslogListener } = {};
  t.after(async () => { await forwarder.close(); await peer.listener?.close(); });
  for (let index = 0; index < 150; index++) forwarder.send({ ...LINE, message: `line ${index}` });
  await until(() => forwarder.counters.errors >= 2, "two failed connections");
  assert.equal(forwarder.counters.queued, 100);
  assert.equal(forwarder.counters.dropped, 50);
  assert.equal(forwarder.counters.connected, false);
  assert.match(forwarder.counters.lastError ?? "", /ECONNREFUSED/);

  peer.listener = await SyslogListener.start((line) => received.push(line), { port });
  await until(() => received.length === 101, "the buffered lines and the notice");
  forwarder.send({ ...LINE, message: "after" });
  await until(() => received.length === 102, "the next line");
  assert.deepEqual(received.slice(0, 100).map((line) => line.message), Array.from({ length: 100 }, (_, index) => `line ${index}`));
  const notice = received[100]!;
  assert.equal(notice.message, `ingot: dropped 50 log lines for syslog+tcp://127.0.0.1:${port} as it was unreachable or too slow`);
  assert.deepEqual([notice.app, notice.severity, notice.source], ["ingot", 4, "console"]);
  assert.equal(received[101]!.message, "after");
  assert.equal(forwarder.counters.dropped, 50, "the count stays for status");
  assert.equal(forwarder.counters.connected, true);
});

test("send() returns at once while the peer is down: 100k sends take no longer than while it is up", async (t) => {
  const received: LogLine[] = [];
  const listener = await SyslogListener.start(() => received.push(LINE));
  const up = new SyslogForwarder(targetAt(listener.port));
  const down = new SyslogForwarder(targetAt(await closedPort()), { retryDelayMs: () => 50 });
  t.after(async () => { await up.close(); await down.close(); await listener.close(); });
  const upMs = await sendInTurns(up, 100_000);
  const downMs = await sendInTurns(down, 100_000);
  t.diagnostic(`100k sends: ${upMs.toFixed(0)} ms while up, ${downMs.toFixed(0)} ms while down`);
  // Down, only the first 10,000 lines are encoded; the rest are counted and dropped.
  assert.ok(downMs < upMs * 2 + 20, `while down ${downMs} ms, while up ${upMs} ms`);
  assert.equal(down.counters.queued + down.counters.dropped, 100_000);
  assert.equal(down.counters.queued, 10_000);
  await until(() => up.counters.queued === 0, "the up forwarder to drain", 20_000);
});

test("close() sends what waits to a peer that is up, and returns promptly from one that is down", async () => {
  const received: LogLine[] = [];
  const listener = await SyslogListener.start((line) => received.push(line));
  const forwarder = new SyslogForwarder(targetAt(listener.port));
  for (let index = 0; index < 500; index++) forwarder.send({ ...LINE, message: `line ${index}` });
  await forwarder.close();
  await until(() => received.length === 500, "every line");
  await listener.close();

  const down = new SyslogForwarder(targetAt(await closedPort()), { retryDelayMs: () => 60_000 });
  down.send(LINE);
  const started = Date.now();
  await down.close();
  assert.ok(Date.now() - started < 1000);
  down.send(LINE);
  assert.equal(down.counters.queued, 1, "a closed forwarder takes no more lines");
});
