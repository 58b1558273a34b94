import assert from "node:assert/strict";
import { test } from "node:test";
import { otlpReceiver, until } from "../../../test/log-peers.ts";
import type { LogLine } from "../log-line.ts";
import { type OtlpTarget, parseForwardTarget } from "./forward-target.ts";
import { OtlpForwarder, requestOutcome } from "./otlp-forwarder.ts";

const LINE: LogLine = { timeMs: Date.parse("2026-11-30T10:00:00.123Z"), environment: "prod", app: "web", version: "1.2.0", instance: "i-1", source: "app", stream: "stderr", severity: 3, message: "boom" };
const targetAt = (port: number, path = ""): OtlpTarget => parseForwardTarget(`otlp+http://127.0.0.1:${port}${path}`).target as OtlpTarget;

test("an OTLP/HTTP receiver gets the lines, batched, with their resource attributes and severity", async (t) => {
  const receiver = await otlpReceiver();
  const forwarder = new OtlpForwarder(targetAt(receiver.port));
  t.after(async () => { await forwarder.close(); await receiver.close(); });
  forwarder.send(LINE);
  forwarder.send({ ...LINE, instance: "i-2", severity: 6, message: "hello", environment: "staging" });
  await until(() => forwarder.counters.sent === 2, "two lines sent", 5000);
  assert.equal(receiver.requests.length, 1, "one request for lines that came within the batch's second");
  assert.equal(receiver.requests[0]!.path, "/v1/logs");
  assert.equal(receiver.requests[0]!.contentType, "application/json");
  assert.deepEqual(receiver.records().map((record) => [record.body.stringValue, record.severityNumber, record.severityText, record.resource["service.instance.id"], record.resource["deployment.environment"], record.resource["service.version"]]), [
    ["boom", 17, "error", "i-1", "prod", "1.2.0"],
    ["hello", 9, "info", "i-2", "staging", "1.2.0"],
  ]);
  assert.equal(forwarder.counters.sent, 2);
});

test("a thousand lines go at once, to the path the URL names", async (t) => {
  const receiver = await otlpReceiver();
  const forwarder = new OtlpForwarder(targetAt(receiver.port, "/otlp/v1/logs"));
  t.after(async () => { await forwarder.close(); await receiver.close(); });
  const started = Date.now();
  for (let index = 0; index < 1000; index++) forwarder.send({ ...LINE, message: `line ${index}` });
  await until(() => receiver.records().length === 1000, "a thousand records");
  assert.ok(Date.now() - started < 900, "not held for the batch's second");
  assert.equal(receiver.requests[0]!.path, "/otlp/v1/logs");
});

test("a 503 is retried with the same lines; a 400 drops the batch and the next one says how many", async (t) => {
  const receiver = await otlpReceiver();
  const forwarder = new OtlpForwarder(targetAt(receiver.port), { retryDelayMs: () => 50 });
  t.after(async () => { await forwarder.close(); await receiver.close(); });
  receiver.answer = { status: 503, body: "busy" };
  forwarder.send(LINE);
  await until(() => forwarder.counters.errors >= 2, "two failed tries", 5000);
  assert.equal(forwarder.counters.lastError, "HTTP 503: busy");
  assert.equal(forwarder.counters.queued, 1);
  receiver.answer = { status: 200, body: "{}" };
  // The receiver keeps the request before it answers: connected is set once the answer is read.
  await until(() => receiver.records().length === 1, "the line once the receiver takes it", 5000);
  await until(() => forwarder.counters.connected, "the forwarder reading the receiver's 200", 5000);

  receiver.answer = { status: 400, body: "bad" };
  forwarder.send({ ...LINE, message: "refused" });
  await until(() => forwarder.counters.dropped === 1, "the refused batch counted", 5000);
  receiver.answer = { status: 200, body: "{}" };
  forwarder.send({ ...LINE, message: "next" });
  await until(() => receiver.records().length === 3, "the notice and the next line", 5000);
  assert.deepEqual(receiver.records().slice(1).map((record) => [record.body.stringValue, record.resource["service.name"], record.severityText]), [
    [`ingot: dropped 1 log lines for otlp+http://127.0.0.1:${receiver.port} as it was unreachable or too slow`, "ingot", "warn"],
    ["next", "web", "error"],
  ]);
});

test("while the receiver is down lines wait up to the bound; once it is up they arrive with the drop notice", async (t) => {
  const probe = await otlpReceiver();
  const port = probe.port;
  await probe.close();
  const forwarder = new OtlpForwarder(targetAt(port), { limits: { lines: 50, bytes: 1 << 20 }, retryDelayMs: () => 50 });
  const peer: { receiver?: Awaited<ReturnType<typeof otlpReceiver>> } = {};
  t.after(async () => { await forwarder.close(); await peer.receiver?.close(); });
  for (let index = 0; index < 80; index++) forwarder.send({ ...LINE, message: `line ${index}` });
  await until(() => forwarder.counters.errors >= 1, "a failed request", 5000);
  assert.match(forwarder.counters.lastError ?? "", /ECONNREFUSED/);
  assert.deepEqual([forwarder.counters.queued, forwarder.counters.dropped], [50, 30]);
  const receiver = peer.receiver = await otlpReceiver(port);
  await until(() => receiver.records().length === 51, "50 lines and the notice", 5000);
  assert.equal(receiver.records()[50]!.body.stringValue, `ingot: dropped 30 log lines for otlp+http://127.0.0.1:${port} as it was unreachable or too slow`);
});

test("answers are read by the OTLP/HTTP rules: 429 and 5xx are retried, other 4xx refused, partial success counted", () => {
  assert.equal(requestOutcome(429, "").kind, "retry");
  assert.equal(requestOutcome(502, "").kind, "retry");
  assert.equal(requestOutcome(413, "too big").kind, "refused");
  assert.deepEqual(requestOutcome(200, "{}"), { kind: "delivered", rejected: 0 });
  assert.equal(requestOutcome(200, '{"partialSuccess":{"rejectedLogRecords":"3","errorMessage":"x"}}').kind, "delivered");
  assert.equal((requestOutcome(200, '{"partialSuccess":{"rejectedLogRecords":"3"}}') as { rejected: number }).rejected, 3);
});

test("close() posts what waits to a receiver that is up, and makes no more tries once it fails", async (t) => {
  const receiver = await otlpReceiver();
  t.after(() => receiver.close());
  const forwarder = new OtlpForwarder(targetAt(receiver.port));
  for (let index = 0; index < 10; index++) forwarder.send({ ...LINE, message: `line ${index}` });
  await forwarder.close();
  assert.equal(receiver.records().length, 10, "sent at close, not a batch's second later");

  receiver.answer = { status: 503, body: "" };
  const failing = new OtlpForwarder(targetAt(receiver.port));
  failing.send(LINE);
  const started = Date.now();
  await failing.close();
  assert.ok(Date.now() - started < 1000);
  const errors = failing.counters.errors;
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(failing.counters.errors, errors, "no tries after close");
});
