// Interoperability of log forwarding with a real peer: Debian's rsyslog receives what ingot forwards
// (imtcp, octet-counted RFC 5424), over plain TCP and over TLS (the gtls driver, rsyslog-gnutls) with
// a CA and server certificate made here by openssl; and OTLP over HTTPS with the same kind of CA. Each test runs an rsyslogd of its own (own
// config, work folder and pid file), talks to 127.0.0.1 only, and ends only that process.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import type { LogLine } from "../src/logs/log-line.ts";
import { type OtlpTarget, parseForwardTarget, type SyslogTarget } from "../src/logs/forward/forward-target.ts";
import { OtlpForwarder } from "../src/logs/forward/otlp-forwarder.ts";
import { SyslogForwarder } from "../src/logs/forward/syslog-forwarder.ts";
import { tempDir } from "./helpers.ts";
import { makeCertificates, otlpReceiver, until } from "./log-peers.ts";
import { hasRsyslog, rsyslogReceiverConfig, startRsyslog, waitForFile } from "./rsyslog.ts";

const hasOpenssl = spawnSync("openssl", ["version"]).status === 0;
// rsyslog-gnutls installs the driver module rsyslogd loads for streamDriver.name="gtls".
const hasGtls = ["/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so", "/usr/lib/aarch64-linux-gnu/rsyslog/lmnsd_gtls.so", "/usr/lib/rsyslog/lmnsd_gtls.so"].some((path) => existsSync(path));
// A CI machine without these must fail the tests, not pass them by skipping (scripts/setup.sh installs them).
const skipTcp = !hasRsyslog && process.env.CI !== "true" && "rsyslog is not installed (scripts/setup.sh installs it)";
const skipOpenssl = !hasOpenssl && process.env.CI !== "true" && "openssl is not installed (scripts/setup.sh installs it)";
const skipTls = !(hasRsyslog && hasGtls && hasOpenssl) && process.env.CI !== "true" && "rsyslog, rsyslog-gnutls or openssl is not installed (scripts/setup.sh installs them)";

const LINE: LogLine = { timeMs: Date.now(), environment: "interop", app: "shop", version: "1.4.2", instance: "i-7f3a", source: "app", stream: "stderr", severity: 3, message: "" };

const target = (url: string) => parseForwardTarget(url).target as SyslogTarget;

test("rsyslog receives forwarded lines over TCP with ingot's structured data: instance, env, app, version", { skip: skipTcp }, async (t) => {
  const dir = await tempDir("ingot-forward-rsyslog-");
  const portFile = join(dir.path, "rsyslog.port");
  const outFile = join(dir.path, "received.log");
  const rsyslog = await startRsyslog(dir.path, rsyslogReceiverConfig({ workDir: dir.path, portFile, outFile }), portFile);
  const forwarder = new SyslogForwarder(target(`syslog+tcp://127.0.0.1:${rsyslog.port}`));
  t.after(async () => { await forwarder.close(); await rsyslog.stop(); await dir.remove(); });
  const marker = `forward-${process.pid}-${Date.now()}`;
  forwarder.send({ ...LINE, message: `first ${marker}` });
  forwarder.send({ ...LINE, severity: 6, stream: "stdout", environment: 'in"ter]op', message: `second ${marker} with ünïcödé` });
  const text = await waitForFile(outFile, 15_000, (received) => received.split("\n").filter((line) => line.includes(marker)).length === 2).catch((error: Error) => { throw new Error(`${error.message}; rsyslogd said: ${rsyslog.errors()}`); });
  const [first, second] = text.split("\n");
  assert.equal(first, `i-7f3a shop stderr [ingot@32473 instance="i-7f3a" env="interop" app="shop" version="1.4.2" stream="stderr" source="app"] first ${marker}`);
  assert.equal(second, `i-7f3a shop stdout [ingot@32473 instance="i-7f3a" env="in\\"ter\\]op" app="shop" version="1.4.2" stream="stdout" source="app"] second ${marker} with ünïcödé`);
  assert.equal(forwarder.counters.errors, 0);
});

test("over TLS, rsyslog (gtls) receives lines from a forwarder that trusts its CA (?ca=); one that does not refuses it and delivers nothing", { skip: skipTls }, async (t) => {
  const dir = await tempDir("ingot-forward-rsyslog-tls-");
  const tls = await makeCertificates(dir.path);
  const portFile = join(dir.path, "rsyslog.port");
  const outFile = join(dir.path, "received.log");
  const rsyslog = await startRsyslog(dir.path, rsyslogReceiverConfig({ workDir: dir.path, portFile, outFile, tls }), portFile);
  const trusting = new SyslogForwarder(target(`syslog+tls://127.0.0.1:${rsyslog.port}?ca=${tls.caFile}`));
  const untrusting = new SyslogForwarder(target(`syslog+tls://127.0.0.1:${rsyslog.port}`), { retryDelayMs: () => 100 });
  t.after(async () => { await trusting.close(); await untrusting.close(); await rsyslog.stop(); await dir.remove(); });
  const marker = `forward-tls-${process.pid}-${Date.now()}`;
  untrusting.send({ ...LINE, message: `untrusted ${marker}` });
  trusting.send({ ...LINE, message: `trusted ${marker}` });
  const text = await waitForFile(outFile, 15_000, (received) => received.includes(`trusted ${marker}`)).catch((error: Error) => { throw new Error(`${error.message}; rsyslogd said: ${rsyslog.errors()}; forwarder: ${JSON.stringify(trusting.counters)}`); });
  assert.match(text, new RegExp(`^i-7f3a shop stderr \\[ingot@32473 instance="i-7f3a" env="interop" app="shop" version="1\\.4\\.2" stream="stderr" source="app"\\] trusted ${marker}$`, "m"));
  await until(() => untrusting.counters.errors >= 2, "the untrusting forwarder to fail twice", 10_000);
  assert.match(untrusting.counters.lastError ?? "", /certificate/i);
  assert.deepEqual([untrusting.counters.sent, untrusting.counters.queued, untrusting.counters.connected], [0, 1, false]);
  assert.doesNotMatch(await waitForFile(outFile, 1000), /untrusted/);
});

test("a forwarder that trusts the CA still verifies the name: a certificate for another host is refused", { skip: skipTls }, async (t) => {
  const dir = await tempDir("ingot-forward-rsyslog-name-");
  const tls = await makeCertificates(dir.path, "DNS:logs.example.com");
  const portFile = join(dir.path, "rsyslog.port");
  const outFile = join(dir.path, "received.log");
  const rsyslog = await startRsyslog(dir.path, rsyslogReceiverConfig({ workDir: dir.path, portFile, outFile, tls }), portFile);
  const forwarder = new SyslogForwarder(target(`syslog+tls://127.0.0.1:${rsyslog.port}?ca=${tls.caFile}`), { retryDelayMs: () => 100 });
  t.after(async () => { await forwarder.close(); await rsyslog.stop(); await dir.remove(); });
  forwarder.send({ ...LINE, message: "wrong name" });
  await until(() => forwarder.counters.errors >= 1, "the forwarder to fail", 10_000);
  assert.match(forwarder.counters.lastError ?? "", /IP: 127\.0\.0\.1 is not in the cert's list/);
  assert.equal(forwarder.counters.sent, 0);
  assert.equal(existsSync(outFile), false);
});

test("OTLP over HTTPS: a receiver whose certificate a private CA signs gets the lines when ?ca= names that CA, none otherwise", { skip: skipOpenssl }, async (t) => {
  const dir = await tempDir("ingot-forward-otlps-");
  const tls = await makeCertificates(dir.path);
  const receiver = await otlpReceiver(0, { key: await readFile(tls.keyFile), cert: await readFile(tls.certFile) });
  const otlpTarget = (url: string) => parseForwardTarget(url).target as OtlpTarget;
  const trusting = new OtlpForwarder(otlpTarget(`otlp+https://127.0.0.1:${receiver.port}?ca=${tls.caFile}`));
  const untrusting = new OtlpForwarder(otlpTarget(`otlp+https://127.0.0.1:${receiver.port}`), { retryDelayMs: () => 100 });
  t.after(async () => { await trusting.close(); await untrusting.close(); await receiver.close(); await dir.remove(); });
  untrusting.send({ ...LINE, message: "untrusted" });
  trusting.send({ ...LINE, message: "trusted" });
  await until(() => trusting.counters.sent === 1 && untrusting.counters.errors >= 1, "one delivery and one refusal", 10_000);
  assert.deepEqual(receiver.records().map((record) => [record.body.stringValue, record.resource["service.instance.id"]]), [["trusted", "i-7f3a"]]);
  assert.match(untrusting.counters.lastError ?? "", /certificate/i);
  assert.equal(untrusting.counters.sent, 0);
});
