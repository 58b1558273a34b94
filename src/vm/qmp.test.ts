import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { forwardCommands, hostForwards, qmpExecute } from "./qmp.ts";

// As QEMU 7.2 prints it, after hostfwd_add net0 tcp:127.0.0.1:47112-:3000.
const INFO_USERNET = "Hub -1 (net0):\r\n  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ\r\n" +
  "  TCP[HOST_FORWARD]   8       127.0.0.1 47111       10.0.2.15  8080     0     0\r\n" +
  "  TCP[HOST_FORWARD]   9       127.0.0.1 47112       10.0.2.15  3000     0     0\r\n" +
  "  TCP[ESTABLISHED]   31        10.0.2.15 43104        10.0.2.2   601     0     0\r\n";

test("the host forwards are read from info usernet, connections left out", () => {
  assert.deepEqual(hostForwards(INFO_USERNET), [{ hostPort: 47111, guestPort: 8080 }, { hostPort: 47112, guestPort: 3000 }]);
  assert.deepEqual(hostForwards("Hub -1 (net0):\r\n"), []);
});

test("a forward is led elsewhere by removing and adding it, and left alone when it leads there already", () => {
  const current = hostForwards(INFO_USERNET);
  assert.deepEqual(forwardCommands(current, { hostPort: 47111, guestPort: 3000 }), ["hostfwd_remove net0 tcp:127.0.0.1:47111", "hostfwd_add net0 tcp:127.0.0.1:47111-:3000"]);
  assert.deepEqual(forwardCommands(current, { hostPort: 47112, guestPort: 3000 }), []);
  assert.deepEqual(forwardCommands(current, { hostPort: 47113, guestPort: 9090 }), ["hostfwd_add net0 tcp:127.0.0.1:47113-:9090"]);
});

test("QMP commands run in order after the greeting and capabilities; events in between are skipped, an error rejects", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "ingot-qmp-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const socket = join(dir, "qmp.sock");
  const received: string[] = [];
  const server = createServer((connection) => {
    connection.write('{"QMP": {"version": {}, "capabilities": []}}\n');
    let buffer = "";
    connection.on("data", (chunk) => {
      buffer += chunk.toString();
      for (let newline; (newline = buffer.indexOf("\n")) >= 0; buffer = buffer.slice(newline + 1)) {
        const command = JSON.parse(buffer.slice(0, newline)) as { execute: string; arguments?: { "command-line"?: string } };
        received.push(command.arguments?.["command-line"] ?? command.execute);
        if (command.execute === "bad") connection.write('{"error": {"class": "CommandNotFound", "desc": "The command bad has not been found"}}\n');
        else connection.write(`{"event": "NIC_RX_FILTER_CHANGED"}\n{"return": ${JSON.stringify(command.arguments?.["command-line"] ?? {})}}\n`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  t.after(() => server.close());
  const hmp = (line: string): { execute: string; arguments: Record<string, unknown> } => ({ execute: "human-monitor-command", arguments: { "command-line": line } });
  assert.deepEqual(await qmpExecute(socket, [hmp("info usernet"), hmp("hostfwd_add net0 tcp:127.0.0.1:1-:2")]), ["info usernet", "hostfwd_add net0 tcp:127.0.0.1:1-:2"]);
  assert.deepEqual(received, ["qmp_capabilities", "info usernet", "hostfwd_add net0 tcp:127.0.0.1:1-:2"]);
  await assert.rejects(qmpExecute(socket, [{ execute: "bad" }]), /QMP bad: The command bad has not been found/);
});
