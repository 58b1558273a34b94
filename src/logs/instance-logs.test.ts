import assert from "node:assert/strict";
import { connect } from "node:net";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { get, haproxySkip, startEntry } from "../entry/entry-fixtures.ts";
import { tempDir } from "../../test/helpers.ts";
import { VmConsole } from "../vm/vm-console.ts";
import { InstanceLogs } from "./instance-logs.ts";
import type { LogQuery } from "./log-query.ts";
import { LogStore } from "./log-store.ts";
import { SyslogListener } from "./syslog-listener.ts";

const labels = { instance: "i-1a2b", environment: "prod", app: "shop", version: "1.2.0" };

async function openStore(t: TestContext): Promise<{ store: LogStore; listener: SyslogListener; logs: InstanceLogs; folder: string; lines: (query: LogQuery) => Promise<string[]> }> {
  const home = await tempDir("ingot-instance-logs-");
  const store = LogStore.open(home.path);
  const listener = await SyslogListener.start((line) => store.append(line));
  t.after(async () => { await listener.close(); store.close(); await home.remove(); });
  // Lines are written by the store's writer thread after the event loop's turn.
  const lines = async (query: LogQuery) => { await sleep(20); await store.written(); return store.query(query).map((line) => `${line.source} ${line.instance} ${line.environment} ${line.app}:${line.version} ${line.severity} ${line.message}`); };
  return { store, listener, logs: new InstanceLogs(store, listener), folder: home.path, lines };
}

/** A console fed by the test, as QEMU's serial line feeds a VmConsole. */
class TestConsole extends VmConsole {
  readonly exited = new Promise<number | null>(() => {});
  constructor() { super((line) => line); }
  say(...lines: string[]): void { for (const line of lines) this.acceptLine(line); }
}

function send(socketPath: string, frames: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath, () => socket.end(frames.map((frame) => `${Buffer.byteLength(frame)} ${frame}`).join("")));
    socket.on("error", reject).on("close", () => resolve());
  });
}

test("an instance's shipped lines are labelled with what the host knows of it, whatever the guest claims", async (t) => {
  const { logs, folder, lines } = await openStore(t);
  const socket = await logs.for(labels).serveApp(join(folder, "logs.sock"));
  t.after(() => socket.close());
  await send(join(folder, "logs.sock"), [
    '<14>1 2026-12-01T10:00:00Z i-1a2b shop 42 stdout [ingot@32473 instance="i-1a2b" stream="stdout" env="prod"] listening on 8080',
    // A compromised guest names another instance, environment and source: the host's labels win.
    '<11>1 2026-12-01T10:00:01Z i-other evil 42 stderr [ingot@32473 instance="i-other" stream="stderr" env="billing" source="entry"] forged',
  ]);
  assert.deepEqual(await lines({}), ["app i-1a2b prod shop:1.2.0 6 listening on 8080", "app i-1a2b prod shop:1.2.0 3 forged"]);
});

test("the console is stored whole until the app runs; then only kernel and init lines, as the app's are shipped", async (t) => {
  const { logs, lines } = await openStore(t);
  const vm = new TestConsole();
  logs.for(labels).captureConsole(vm, { resumed: false });
  vm.say("SeaBIOS (version 1.16.2-debian-1.16.2-1)", "[    0.000000] Linux version 6.1.0", "ingot-init: [1.913] shipping logs to 10.0.2.101:601 as i-1a2b/shop (buffer 1048576 bytes)",
    "ingot-init: [2.001] starting app: /app/node server.js as 1000:1000", "listening on 8080", "[   12.5] Out of memory: Killed process 7 (node)", "ingot-init: app killed by signal 9", "");
  assert.deepEqual(await lines({ sources: ["console"] }), [
    "console i-1a2b prod shop:1.2.0 6 SeaBIOS (version 1.16.2-debian-1.16.2-1)",
    "console i-1a2b prod shop:1.2.0 6 [    0.000000] Linux version 6.1.0",
    "console i-1a2b prod shop:1.2.0 6 ingot-init: [1.913] shipping logs to 10.0.2.101:601 as i-1a2b/shop (buffer 1048576 bytes)",
    "console i-1a2b prod shop:1.2.0 6 ingot-init: [2.001] starting app: /app/node server.js as 1000:1000",
    "console i-1a2b prod shop:1.2.0 6 [   12.5] Out of memory: Killed process 7 (node)",
    "console i-1a2b prod shop:1.2.0 3 ingot-init: app killed by signal 9",
  ]);
});

test("an image whose init ships nothing has its whole console stored, app lines included", async (t) => {
  const { logs, lines } = await openStore(t);
  const vm = new TestConsole();
  logs.for(labels).captureConsole(vm, { resumed: false });
  vm.say("ingot-init: [2.001] starting app: /app/node server.js as 1000:1000", "listening on 8080");
  assert.deepEqual((await lines({})).map((line) => line.split(" 6 ")[1]), ["ingot-init: [2.001] starting app: /app/node server.js as 1000:1000", "listening on 8080"]);
});

test("a console read again from its start after a restart stores only the lines it had not stored", async (t) => {
  const { logs, lines } = await openStore(t);
  const before = new TestConsole();
  logs.for(labels).captureConsole(before, { resumed: false });
  before.say("[    0.1] one", "[    0.2] two");
  await lines({});
  const adopted = new TestConsole();
  logs.for(labels).captureConsole(adopted, { resumed: true });
  adopted.say("[    0.1] one", "[    0.2] two", "[    0.3] three");
  assert.deepEqual((await lines({})).map((line) => line.split("] ")[1]), ["one", "two", "three"]);
});

test("the entry point's access log arrives in the store as the environment's entry lines; a 503 as an error", { skip: haproxySkip }, async (t) => {
  const { listener, lines } = await openStore(t);
  const entry = await startEntry(t, "staging", { accessLog: { host: "127.0.0.1", port: listener.port } });
  assert.equal((await get(entry.spec.bind.port, false)).status, 503);
  let stored: string[] = [];
  for (let waited = 0; stored.length === 0 && waited < 5_000; waited += 100) stored = await lines({ sources: ["entry"] });
  assert.equal(stored.length, 1, "one request, one access line");
  assert.match(stored[0]!, /^entry {2}staging entry: 3 .*staging\/<NOSRV> .* 503 .*"GET \/ HTTP\/1\.1"$/);
});
