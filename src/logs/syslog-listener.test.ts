import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { connect, type Socket } from "node:net";
import { test } from "node:test";
import type { LogLine } from "./log-line.ts";
import { SyslogListener } from "./syslog-listener.ts";

async function withListener(work: (listener: SyslogListener, lines: LogLine[]) => Promise<void>, idleTimeoutMs = 60_000): Promise<void> {
  const lines: LogLine[] = [];
  const listener = await SyslogListener.start((line) => lines.push(line), { idleTimeoutMs });
  try {
    await work(listener, lines);
  } finally {
    await listener.close();
  }
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => { const socket = connect(port, "127.0.0.1", () => resolve(socket)).once("error", reject); });
}

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const frame = (message: string) => `${Buffer.byteLength(message)} ${message}`;

test("octet-counted RFC 5424 over TCP and a UDP datagram become lines", () => withListener(async (listener, lines) => {
  const socket = await open(listener.port);
  socket.end(frame('<11>1 2026-11-30T10:00:00Z vm web - - [ingot@32473 instance="i-1" env="prod"] boom') + frame("<14>1 - - - - - - two"));
  const udp = createSocket("udp4");
  udp.send("<13>Nov 30 10:00:00 host tag: by udp", listener.port, "127.0.0.1", () => udp.close());
  await until(() => lines.length === 3, "three lines");
  assert.deepEqual(lines.map((line) => line.message).sort(), ["boom", "by udp", "two"]);
  assert.equal(lines.find((line) => line.message === "boom")!.environment, "prod");
}));

test("random bytes, a 2 GB length prefix and invalid UTF-8 neither crash nor stop the listener", () => withListener(async (listener, lines) => {
  // Random bytes can look like a length prefix and swallow what follows on their connection: that
  // is octet-counting's nature, so each case has its own connection.
  const garbage = await open(listener.port);
  garbage.on("error", () => {});
  garbage.end(randomBytes(256 * 1024));
  const huge = await open(listener.port);
  huge.end(`2147483648 ${"x".repeat(1000)}\n${frame("<14>1 - - - - - - after the bad frame")}`);
  const invalid = await open(listener.port);
  invalid.end(Buffer.concat([Buffer.from("12 <14>bad:"), Buffer.from([0xff, 0xfe, 0xc3, 0x28])]));
  await until(() => lines.some((line) => line.message === "after the bad frame") && lines.some((line) => line.app === "bad"), "the lines after the garbage");
  assert.equal(lines.find((line) => line.app === "bad")!.message, "\uFFFD\uFFFD\uFFFD(");
  assert.ok(listener.counters.brokenFrames >= 1);
  const later = await open(listener.port);
  later.end(frame("<14>1 - - - - - - still accepting"));
  await until(() => lines.some((line) => line.message === "still accepting"), "a later sender");
}));

test("a sender that connects and never writes is closed after the idle timeout", () => withListener(async (listener) => {
  const silent = await open(listener.port);
  const closed = new Promise((resolve) => silent.once("close", resolve));
  const started = Date.now();
  silent.on("error", () => {});
  await closed;
  assert.ok(Date.now() - started >= 250 && Date.now() - started < 5000, `closed after ${Date.now() - started} ms`);
}, 300));

test("a flooding sender does not starve a second one", () => withListener(async (listener, lines) => {
  const flood = await open(listener.port);
  flood.on("error", () => {});
  const chunk = Buffer.from(frame("<14>1 - - - - - - flood line of some length to fill the pipe").repeat(2000));
  let flooding = true;
  const pump = (): void => { while (flooding && flood.write(chunk)); if (flooding) flood.once("drain", pump); };
  pump();
  await until(() => lines.length > 10_000, "the flood to arrive");
  const second = await open(listener.port);
  const sentAt = Date.now();
  second.write(frame("<14>1 - - - - - - from the second sender"));
  await until(() => lines.some((line) => line.message === "from the second sender"), "the second sender's line", 2000);
  const latencyMs = Date.now() - sentAt;
  flooding = false;
  flood.destroy();
  second.destroy();
  assert.ok(latencyMs < 1000, `the second sender's line took ${latencyMs} ms`);
}));

test("while the destination has no room a TCP sender is not read (TCP flow control slows it), then every line arrives", async () => {
  const lines: LogLine[] = [];
  let release!: () => void;
  let room: Promise<void> | undefined = new Promise<void>((resolve) => { release = resolve; });
  const listener = await SyslogListener.start((line) => lines.push(line), { whenRoom: () => room });
  try {
    const sender = await open(listener.port);
    const line = frame("<14>1 - - - - - - a line while the store is behind");
    sender.end(Buffer.from(line.repeat(100_000)));
    await until(() => lines.length > 0, "the first chunk");
    await new Promise((resolve) => setTimeout(resolve, 300));
    // One chunk read (64 KiB at most), then nothing until there is room.
    assert.ok(lines.length <= Math.ceil(65_536 / line.length), `read ${lines.length} lines while full`);
    room = undefined;
    release();
    await until(() => lines.length === 100_000, "every line after the pause");
  } finally {
    await listener.close();
  }
});
