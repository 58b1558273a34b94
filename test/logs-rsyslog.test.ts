// Interoperability with a real peer: Debian's rsyslog receives lines from logger (imtcp) and forwards
// them to ingot's log store (omfwd, TCP, octet-counted, RFC 5424), where `ingot logs --grep` finds
// them with the structured data the sender wrote. This test runs an rsyslogd of its own (own config,
// work folder and pid file) and ends only that process.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { serverPaths } from "../src/server/server-paths.ts";
import { runIngot } from "./control-plane.ts";
import { hasRsyslog, rsyslogForwardConfig, startRsyslog } from "./rsyslog.ts";
import { tempDir } from "./helpers.ts";

// A CI machine without rsyslog must fail this test, not pass it by skipping (scripts/setup.sh installs it).
const skip = process.env.CI !== "true" && !hasRsyslog ? "rsyslog is not installed (scripts/setup.sh installs it)" : false;

test("rsyslog forwards to ingot's store (omfwd, TCP, octet-counted) and ingot logs --grep finds the lines", { skip }, async (t) => {
  const home = await tempDir("ingot-logs-rsyslog-");
  t.after(async () => { await runIngot(home.path, ["server", "stop"]); await home.remove(); });
  const started = await runIngot(home.path, ["logs"]);
  assert.equal(started.code, 0, started.stderr);
  const ingotPort = Number((await readFile(join(serverPaths(home.path).dir, "logs.port"), "utf8")).trim());

  const portFile = join(home.path, "rsyslog.port");
  const rsyslog = await startRsyslog(home.path, rsyslogForwardConfig({ workDir: home.path, portFile, ingotPort }), portFile);
  t.after(() => rsyslog.stop());
  const rsyslogPort = String(rsyslog.port);

  const marker = `interop-${process.pid}-${Date.now()}`;
  for (const [index, text] of [`first ${marker}`, `second ${marker} with "quotes" and ünïcödé`].entries()) {
    await promisify(execFile)("logger", ["--server", "127.0.0.1", "--port", rsyslogPort, "--tcp", "--octet-count", "--rfc5424", "--tag", "shop",
      "--priority", index === 0 ? "user.info" : "user.err", "--sd-id", "ingot@32473", "--sd-param", 'env="interop"', "--sd-param", `instance="i-${index}"`, text]);
  }
  let found: { message: string; instance: string; severity: number; app: string }[] = [];
  const deadline = Date.now() + 15_000;
  while (found.length < 2 && Date.now() < deadline) {
    const result = await runIngot(home.path, ["logs", "--env", "interop", "--grep", marker, "--json"]);
    assert.equal(result.code, 0, result.stderr);
    found = result.stdout.trim().split("\n").filter(Boolean).map((line) => JSON.parse(line) as (typeof found)[number]);
    if (found.length < 2) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.deepEqual(found.map((line) => [line.message, line.instance, line.severity, line.app]), [
    [`first ${marker}`, "i-0", 6, "shop"],
    [`second ${marker} with "quotes" and ünïcödé`, "i-1", 3, "shop"],
  ], `rsyslogd said: ${rsyslog.errors()}`);
});
