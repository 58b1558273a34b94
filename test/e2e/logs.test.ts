// End to end, through bin/ingot with a real control plane, real QEMU instances and a real HAProxy:
// what an instance's app prints reaches the log store through init and the instance's own log
// socket; its console and its entry point's access log arrive too; `ingot logs -f` follows an
// environment across a deploy (both versions' lines, each labelled); and a restarted server takes
// the running instance's logs in again, without storing its console twice. The environment forwards
// every line to an rsyslog (imtcp, writing a file) and an OTLP/HTTP receiver, named in ingot.yaml.
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildImage } from "../../src/image/build.ts";
import { startIngot, testHome } from "../control-plane.ts";
import { join } from "node:path";
import { elfServerApp, sharedTestVault, tempDir } from "../helpers.ts";
import { otlpReceiver, until } from "../log-peers.ts";
import { rsyslogReceiverConfig, startRsyslog, waitForFile } from "../rsyslog.ts";

const appYaml = (version: number, forward: string[]): string => `name: logs-test
version: ${version}.0.0
runtime: elf
command: [./server]
ports:
  http: 8080
healthcheck:
  path: /
  interval: 500ms
  startTimeout: 10s
resources:
  memory: 128M
stopTimeout: 2s
env:
  VERSION: "${version}"
  PRINT_ENV: VERSION
environments:
  logs:
    port: 18391
    drainTimeout: 2s
    logs:
      forward: [${forward.join(", ")}]
`;

interface JsonLine { instance: string; environment: string; app: string; version: string; source: string; stream: string; severity: number; message: string }

test("an instance's app, console and entry lines reach the store labelled; -f follows across a deploy; a restarted server takes logs in again", async (t) => {
  const peers = await tempDir("ingot-logs-peers-");
  t.after(() => peers.remove());
  const [portFile, outFile] = [join(peers.path, "rsyslog.port"), join(peers.path, "forwarded.log")];
  const rsyslog = await startRsyslog(peers.path, rsyslogReceiverConfig({ workDir: peers.path, portFile, outFile }), portFile);
  t.after(() => rsyslog.stop());
  const otlp = await otlpReceiver();
  t.after(() => otlp.close());
  const forward = [`syslog+tcp://127.0.0.1:${rsyslog.port}`, `otlp+http://127.0.0.1:${otlp.port}`];
  const vault = await sharedTestVault();
  for (const version of [1, 2]) {
    const app = await elfServerApp("ingot-logs-app-", appYaml(version, forward));
    await buildImage(app.path, { vault });
    await app.remove();
  }
  const home = await testHome(t, vault, "ingot-logs-e2e-");
  const ingot = async (...args: string[]): Promise<string> => {
    const result = await home.ingot(...args);
    assert.equal(result.code, 0, `ingot ${args.join(" ")}: ${result.stderr}`);
    return result.stdout;
  };
  /** The environment's lines, or an instance's (--instance ID in `args`). */
  const logs = async (...args: string[]): Promise<JsonLine[]> =>
    (await ingot("logs", ...(args.includes("--instance") ? [] : ["--env", "logs"]), "--json", "-n", "1000", ...args)).split("\n").filter(Boolean).map((line) => JSON.parse(line) as JsonLine);
  /** The lines matching, once there are `count` of them: lines arrive a moment after they are printed. */
  const eventually = async (count: number, ...args: string[]): Promise<JsonLine[]> => {
    for (let waited = 0; ; waited += 250) {
      const lines = await logs(...args);
      if (lines.length >= count || waited > 15_000) return lines;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };
  const request = async (path: string): Promise<number> => (await fetch(`http://127.0.0.1:18391${path}`)).status;
  const instanceOf = async (): Promise<string> => (JSON.parse(await ingot("status", "--env", "logs", "--json")) as { instances: { id: string; state: string }[] }[])[0]!.instances.find((instance) => instance.state === "healthy")!.id;

  await ingot("deploy", "logs-test:1.0.0", "--env", "logs");
  const first = await instanceOf();

  // The app's stdout and stderr, shipped by init over the instance's log socket.
  assert.equal(await request("/log/hello-from-the-app"), 200);
  assert.equal(await request("/warn/careful-now"), 200);
  const [hello] = await eventually(1, "--grep", "hello-from-the-app", "--source", "app");
  assert.deepEqual(hello, { ...hello!, instance: first, environment: "logs", app: "logs-test", version: "1.0.0", source: "app", stream: "stdout", severity: 6, message: "hello-from-the-app" });
  const [careful] = await eventually(1, "--grep", "careful-now", "--level", "error");
  assert.equal(careful?.stream, "stderr");
  assert.equal((await logs("--grep", "elf-server: VERSION=1", "--source", "app")).length, 1, "the line the app printed at start");

  // Forwarded as stored: to rsyslog (RFC 5424 over TCP) and as OTLP records with their resource.
  const forwarded = await waitForFile(outFile, 15_000, (text) => text.includes("hello-from-the-app"));
  assert.ok(forwarded.split("\n").includes(`${first} logs-test stdout [ingot@32473 instance="${first}" env="logs" app="logs-test" version="1.0.0" stream="stdout" source="app"] hello-from-the-app`), forwarded);
  await until(() => otlp.records().some((record) => record.body.stringValue === "hello-from-the-app"), "the OTLP record", 15_000);
  const record = otlp.records().find((candidate) => candidate.body.stringValue === "hello-from-the-app")!;
  assert.deepEqual([record.resource["service.name"], record.resource["service.version"], record.resource["service.instance.id"], record.resource["deployment.environment.name"], record.severityNumber], ["logs-test", "1.0.0", first, "logs", 9]);
  // The store's size, the environment's share and each target's counters.
  const usage = await ingot("logs", "--usage");
  assert.match(usage, /^store: [\d.]+ [KM]iB on disk; syslog \(TCP and UDP\) on 127\.0\.0\.1:\d+\n {2}logs {2}\d+ lines/);
  assert.match(usage, new RegExp(`forward syslog\\+tcp://127\\.0\\.0\\.1:${rsyslog.port} \\(logs\\): [1-9]\\d* sent, \\d+ queued, 0 dropped`));

  // The console: init's lines (the kernel says little with `quiet`), and the app's own lines only once (from the app).
  const consoleLines = await eventually(1, "--source", "console", "--grep", "starting app");
  assert.equal(consoleLines.length, 1);
  assert.equal(consoleLines[0]!.instance, first);
  assert.equal((await logs("--source", "console", "--grep", "hello-from-the-app")).length, 0, "an app line is stored once, as the app's");

  // The entry point's access log: one line per request, an error for a 5xx.
  const access = await eventually(2, "--source", "entry", "--grep", "GET /log/hello-from-the-app");
  assert.equal(access.length, 1, JSON.stringify(access));
  assert.equal(await request("/status/503"), 503);
  const [failed] = await eventually(1, "--source", "entry", "--grep", "GET /status/503");
  assert.equal(failed?.severity, 3);

  // Follow across a deploy: the old version's last lines and the new one's first, each labelled.
  const follow = startIngot(home.path, ["logs", "-f", "--env", "logs", "--json", "-n", "1"]);
  t.after(() => follow.kill());
  await ingot("deploy", "logs-test:2.0.0", "--env", "logs");
  const started = JSON.parse(await follow.waitForLine(/elf-server: VERSION=2/, 30_000)) as JsonLine;
  assert.equal(started.version, "2.0.0");
  const second = await instanceOf();
  assert.equal(started.instance, second);
  assert.notEqual(second, first);
  const stopped = JSON.parse(await follow.waitForLine(new RegExp(`"instance":"${first}".*ingot-init: app (exited|killed)`), 30_000)) as JsonLine;
  assert.equal(stopped.version, "1.0.0");
  follow.kill();

  // A restarted server serves the instance's log socket again and does not store its console twice.
  await ingot("server", "stop");
  assert.equal(await request("/log/while-the-server-was-away"), 200);
  assert.equal(await request("/log/after-the-restart"), 200);
  await ingot("status", "--env", "logs"); // starts the server, which adopts the instance
  const after = await eventually(2, "--grep", "-the-", "--source", "app", "--instance", second);
  assert.deepEqual(after.map((line) => line.message).filter((message) => message.includes("the-server") || message.includes("the-restart")), ["while-the-server-was-away", "after-the-restart"]);
  assert.equal((await logs("--source", "console", "--grep", "starting app", "--instance", second)).length, 1);
});
