// `npm run bench:logs [-- --lines N]`: the log store's figures, in one run on this host. 4 TCP
// senders push N lines (RFC 5424, octet-counted, as init sends them) as fast as they can into
// `ingot server`, then the same load into an rsyslogd writing a file; then grep latency over the
// stored lines, the store's bytes per million lines, the server's memory (RSS) while ingesting and
// the CPU time it spent on ingest (all threads), which the host's load moves far less than the rate.
import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { StoreUsage } from "../src/logs/log-store.ts";
import { requestServer } from "../src/server/control-client.ts";
import { serverPaths } from "../src/server/server-paths.ts";
import { rsyslogForwardConfig } from "../test/rsyslog.ts";
import { median } from "./measure.ts";

const { values } = parseArgs({ options: { lines: { type: "string", default: "1000000" } } });
const totalLines = Number(values.lines);
const SENDERS = 4;
const WORDS = ["GET", "POST", "PUT", "DELETE"];
const PATHS = ["/api/users", "/api/orders", "/health", "/api/items", "/login", "/static/app.js"];

/** One sender's octet-counted frames: an access-log-like line of ~100 bytes, numbers varying. */
function frames(sender: number, count: number): Buffer {
  const parts: string[] = [];
  for (let index = 0; index < count; index++) {
    const n = sender * count + index;
    const message = `${WORDS[n % 4]} ${PATHS[n % 6]}/${(n * 7919) % 100_003} ${n % 17 === 0 ? 500 : 200} took ${n % 997}ms user=u${n % 5003} req=${(n * 2654435761 % 4294967296).toString(16)}`;
    const line = `<${n % 17 === 0 ? 11 : 14}>1 2026-11-30T12:00:00.000Z vm web - - [ingot@32473 instance="i-${sender}" stream="stdout" env="bench" version="1.0"] ${message}`;
    parts.push(`${Buffer.byteLength(line)} ${line}`);
  }
  return Buffer.from(parts.join(""));
}

/** Writes each sender's frames over its own connection; resolves when all are flushed and closed. */
function send(port: number, loads: Buffer[]): Promise<void> {
  return Promise.all(loads.map((load) => new Promise<void>((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.end(load));
    socket.on("error", reject).on("close", () => resolve());
  }))).then(() => {});
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** CPU time (user + system, all threads) a process has used, in milliseconds: what ingest costs whatever the host's load. */
function cpuMs(pid: number): number {
  // /proc/PID/stat: fields 14 and 15 (utime, stime) in clock ticks, after the command name in parentheses.
  const fields = execFileSync("cat", [`/proc/${pid}/stat`]).toString().split(") ")[1]!.split(" ");
  const ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());
  return ((Number(fields[11]) + Number(fields[12])) / ticksPerSecond) * 1000;
}

function rssBytes(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(execFileSync("cat", [`/proc/${pid}/status`]).toString())![1]) * 1024;
  } catch {
    return 0;
  }
}

const work = await mkdtemp(join(tmpdir(), "ingot-bench-logs-"));
const home = join(work, "home");
const loads = Array.from({ length: SENDERS }, (_, sender) => frames(sender, totalLines / SENDERS));
const bytesSent = loads.reduce((sum, load) => sum + load.length, 0);
const rsyslogFile = join(work, "rsyslog.log");
let rsyslog: ReturnType<typeof spawn> | undefined;
try {
  // ingot: the control plane started as the CLI starts it, its pid from its pid file.
  execFileSync("bin/ingot", ["logs"], { env: { ...process.env, INGOT_HOME: home } });
  const paths = serverPaths(home);
  const serverPid = (JSON.parse(await readFile(paths.pidFile, "utf8")) as { pid: number }).pid;
  const ingotPort = Number((await readFile(join(paths.dir, "logs.port"), "utf8")).trim());
  const stored = async (): Promise<StoreUsage> => (await requestServer<{ usage: StoreUsage }>(paths, "POST", "/v1/logs", { limit: 1 })).usage;
  const rssBefore = rssBytes(serverPid);
  let rssPeak = rssBefore;
  const sampler = setInterval(() => { rssPeak = Math.max(rssPeak, rssBytes(serverPid)); }, 100);
  const cpuBefore = cpuMs(serverPid);
  const ingestStart = performance.now();
  await send(ingotPort, loads);
  const sentMs = performance.now() - ingestStart;
  const usage = await until(async () => { const now = await stored(); return now.environments[0]?.lines === totalLines ? now : undefined; }, 600_000, "ingot to store every line");
  const ingotMs = performance.now() - ingestStart;
  const ingestCpuMs = cpuMs(serverPid) - cpuBefore;
  clearInterval(sampler);
  const indexStart = performance.now();
  // The text index is written behind ingest: wait for it, then grep what a user would.
  await until(async () => ((await stored()).indexedUpto >= totalLines ? true : undefined), 600_000, "the text index to catch up");
  const indexCatchUpMs = performance.now() - indexStart;
  const greps: Record<string, { matches: number; medianMs: number }> = {};
  // One line has this request id (rare text: the index answers), the others are common or absent.
  const rare = `req=${((totalLines / 2 + 7) * 2654435761 % 4294967296).toString(16)}`;
  for (const text of [rare, "took 996ms", "POST /api/orders", "500", "user=u4999 ", "zzz-not-there-zzz"]) {
    const times: number[] = [];
    let matches = 0;
    for (let round = 0; round < 5; round++) {
      const started = performance.now();
      matches = (await requestServer<{ lines: unknown[] }>(paths, "POST", "/v1/logs", { environment: "bench", grep: text, limit: 100 })).lines.length;
      times.push(performance.now() - started);
    }
    greps[text] = { matches, medianMs: Math.round(median(times) * 10) / 10 };
  }
  const cliStart = performance.now();
  execFileSync("bin/ingot", ["logs", "--env", "bench", "--grep", rare], { env: { ...process.env, INGOT_HOME: home } });
  const cliGrepMs = performance.now() - cliStart;
  const fileBytes = (await stored()).fileBytes;
  execFileSync("bin/ingot", ["server", "stop"], { env: { ...process.env, INGOT_HOME: home } });

  // rsyslog: the same frames into imtcp, written to a file by omfile.
  const portFile = join(work, "rsyslog.port");
  const config = rsyslogForwardConfig({ workDir: work, portFile, ingotPort: 1 }).replace(/action\(type="omfwd".*\)/, `action(type="omfile" file="${rsyslogFile}")`);
  await writeFile(join(work, "rsyslog.conf"), config);
  rsyslog = spawn("rsyslogd", ["-n", "-f", join(work, "rsyslog.conf"), "-i", join(work, "rsyslog.pid")], { stdio: "ignore" });
  const rsyslogPort = Number(await until(async () => (await readFile(portFile, "utf8").catch(() => "")).trim() || undefined, 10_000, "rsyslogd to listen"));
  let counted = 0;
  let offset = 0;
  const file = { handle: undefined as Awaited<ReturnType<typeof open>> | undefined };
  const countLines = async (): Promise<number> => {
    file.handle ??= await open(rsyslogFile, "r").catch(() => undefined);
    if (!file.handle) return 0;
    const buffer = Buffer.alloc(8 * 1024 * 1024);
    for (;;) {
      const { bytesRead } = await file.handle.read(buffer, 0, buffer.length, offset);
      if (bytesRead === 0) return counted;
      offset += bytesRead;
      for (let index = buffer.indexOf(10); index >= 0 && index < bytesRead; index = buffer.indexOf(10, index + 1)) counted++;
    }
  };
  const rsyslogStart = performance.now();
  await send(rsyslogPort, loads);
  await until(async () => ((await countLines()) >= totalLines ? true : undefined), 600_000, "rsyslog to write every line");
  const rsyslogMs = performance.now() - rsyslogStart;
  await file.handle?.close();

  const ingotRate = Math.round(totalLines / (ingotMs / 1000));
  const rsyslogRate = Math.round(totalLines / (rsyslogMs / 1000));
  const result = {
    command: `npm run bench:logs -- --lines ${totalLines}`,
    lines: totalLines, senders: SENDERS, bytesSent,
    ingot: { linesStored: usage.environments[0]!.lines, sendMs: Math.round(sentMs), storedMs: Math.round(ingotMs), linesPerSecond: ingotRate, cpuMsPerMillionLines: Math.round(ingestCpuMs / (totalLines / 1e6)), indexCatchUpMs: Math.round(indexCatchUpMs), rssBeforeBytes: rssBefore, rssPeakBytes: rssPeak, fileBytes, bytesPerMillionLines: Math.round(fileBytes / (totalLines / 1e6)) },
    rsyslog: { linesWritten: counted, writtenMs: Math.round(rsyslogMs), linesPerSecond: rsyslogRate },
    ratio: Math.round((ingotRate / rsyslogRate) * 100) / 100,
    grepMs: greps, cliGrepMs: Math.round(cliGrepMs),
  };
  console.log(JSON.stringify(result, null, 2));
  if (totalLines >= 1_000_000) await writeFile("bench/results/logs.json", `${JSON.stringify({ date: new Date().toISOString(), ...result }, null, 2)}\n`);
} finally {
  if (rsyslog && rsyslog.exitCode === null) rsyslog.kill("SIGTERM");
  execFileSync("bin/ingot", ["server", "stop"], { env: { ...process.env, INGOT_HOME: home }, stdio: "ignore" });
  await rm(work, { recursive: true, force: true });
}
