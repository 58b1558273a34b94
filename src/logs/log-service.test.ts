import assert from "node:assert/strict";
import { connect } from "node:net";
import { test } from "node:test";
import { tempDir } from "../../test/helpers.ts";
import { until } from "../../test/log-peers.ts";
import { serverPaths } from "../server/server-paths.ts";
import { parseForwardTarget } from "./forward/forward-target.ts";
import { forwardingFor } from "./forward/log-forwarding.ts";
import type { LogLine } from "./log-line.ts";
import { openLogService } from "./log-service.ts";
import { octetCounted } from "./syslog-format.ts";
import { SyslogListener } from "./syslog-listener.ts";

test("every stored line of an environment that names a forward target reaches it; close() closes the forwarders", async (t) => {
  const home = await tempDir("ingot-log-forward-");
  const received: LogLine[] = [];
  const peer = await SyslogListener.start((line) => received.push(line));
  const target = parseForwardTarget(`syslog+tcp://127.0.0.1:${peer.port}`).target!;
  const forwarding = forwardingFor((environment) => (environment === "prod" ? [target] : []));
  const logs = await openLogService(home.path, serverPaths(home.path).dir, () => {}, { forwarding });
  let closed = false;
  t.after(async () => { if (!closed) await logs.close(); await peer.close(); await home.remove(); });
  const socket = connect(logs.listener.port, "127.0.0.1");
  socket.end(octetCounted('<11>1 2026-11-30T10:00:00Z vm web - - [ingot@32473 instance="i-1" env="prod" version="1.0"] to forward')
    + octetCounted('<14>1 2026-11-30T10:00:01Z vm web - - [ingot@32473 instance="i-1" env="dev"] kept here'));
  await until(() => received.length === 1, "the prod line at the target");
  assert.deepEqual([received[0]!.message, received[0]!.environment, received[0]!.instance, received[0]!.version, received[0]!.severity], ["to forward", "prod", "i-1", "1.0", 3]);
  assert.equal(logs.forwarding?.status()[0]?.counters.sent, 1);
  closed = true;
  await logs.close();
  assert.deepEqual(forwarding.status(), [], "closed with the service");
});
