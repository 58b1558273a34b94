// `ingot logs` against a real control plane: lines sent to its syslog port (RFC 5424, TCP,
// octet-counted, as init sends them) are found by every filter, and -f streams new ones.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { serverPaths } from "../src/server/server-paths.ts";
import { runIngot, startIngot } from "./control-plane.ts";
import { tempDir } from "./helpers.ts";

/** Sends RFC 5424 messages octet-counted over one TCP connection, and waits until it is closed. */
export function sendSyslog(port: number, messages: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.end(messages.map((message) => `${Buffer.byteLength(message)} ${message}`).join("")));
    socket.on("error", reject).on("close", () => resolve());
  });
}

const instanceLine = (instance: string, severity: number, message: string, env = "prod") =>
  `<${8 + severity}>1 ${new Date().toISOString()} vm web - - [ingot@32473 instance="${instance}" stream="stdout" env="${env}" version="1.0"] ${message}`;

test("ingot logs finds the lines sent to the control plane's syslog port, by every filter, and follows new ones", async (t) => {
  const home = await tempDir("ingot-logs-");
  t.after(async () => { await runIngot(home.path, ["server", "stop"]); await home.remove(); });
  const empty = await runIngot(home.path, ["logs", "--json"]);
  assert.equal(empty.code, 0, empty.stderr);
  assert.equal(empty.stdout, "");
  const port = Number((await readFile(join(serverPaths(home.path).dir, "logs.port"), "utf8")).trim());
  await sendSyslog(port, [
    instanceLine("i-1", 6, "GET /health 200"),
    instanceLine("i-2", 3, "upstream TIMEOUT after 5000 ms"),
    instanceLine("i-1", 6, '{"level":40,"msg":"slow query","ms":812}'),
    instanceLine("t-1", 6, "in test", "test"),
  ]);
  const lines = async (...args: string[]) => {
    const result = await runIngot(home.path, ["logs", ...args]);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout.trim().split("\n").filter(Boolean);
  };
  assert.equal((await lines("--env", "prod")).length, 3);
  assert.match((await lines("--env", "prod", "--grep", "timeout"))[0]!, /prod\/i-2 web:1\.0 error +upstream TIMEOUT after 5000 ms$/);
  assert.deepEqual((await lines("--level", "warn", "--json")).map((line) => (JSON.parse(line) as { message: string }).message), ["upstream TIMEOUT after 5000 ms", "slow query"]);
  assert.deepEqual((await lines("--instance", "i-1", "-n", "1", "--json")).map((line) => (JSON.parse(line) as { fields: unknown }).fields), [{ level: 40, msg: "slow query", ms: 812 }]);
  assert.deepEqual(await lines("--env", "prod", "--since", "1h", "--source", "console"), []);
  const refused = await runIngot(home.path, ["logs", "--level", "loud"]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /not a level/);

  const follow = startIngot(home.path, ["logs", "-f", "--env", "prod", "--grep", "fresh", "--json"]);
  t.after(() => follow.kill());
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await sendSyslog(port, [instanceLine("i-3", 6, "a fresh line from a new instance"), instanceLine("i-3", 6, "not this one")]);
  const followed = JSON.parse(await follow.waitForLine(/fresh line/, 10_000)) as { instance: string };
  assert.equal(followed.instance, "i-3");
  follow.kill();
  assert.equal((await runIngot(home.path, ["server", "status"])).code, 0);
});
