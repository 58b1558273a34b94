import { test } from "node:test";
import assert from "node:assert/strict";
import { describeSocket, initEvent } from "./init-lines.ts";

test("init's lines about the app's end and a failed boot are read with their status", () => {
  assert.deepEqual(initEvent("ingot-init: app exited with status 3"), { kind: "app-exited", status: 3 });
  assert.deepEqual(initEvent("ingot-init: app killed by signal 9 (SIGKILL)"), { kind: "app-exited", status: 137 });
  assert.deepEqual(initEvent("ingot-init: [2.053] boot failed (status 69): cannot fetch configuration from 10.0.2.100:80 as HTTP 404 Not Found"),
    { kind: "boot-failed", status: 69, reason: "cannot fetch configuration from 10.0.2.100:80 as HTTP 404 Not Found" });
  assert.equal(initEvent("test-app: listening on 8080"), undefined);
});

test("the ports the app listens on are read in init's order; loopback ones cannot be reached from the host", () => {
  const event = initEvent("ingot-init: [7.664] app listens on tcp 3000, 127.0.0.1:9229, [::1]:5000, 10.0.2.15:8080, [fe80::1]:81");
  assert.deepEqual(event, {
    kind: "app-listens", sockets: [
      { port: 3000, reachable: true },
      { port: 9229, address: "127.0.0.1", reachable: false },
      { port: 5000, address: "[::1]", reachable: false },
      { port: 8080, address: "10.0.2.15", reachable: true },
      { port: 81, address: "[fe80::1]", reachable: true },
    ],
  });
  assert.deepEqual(event.kind === "app-listens" && event.sockets.map(describeSocket), ["3000", "127.0.0.1:9229", "[::1]:5000", "10.0.2.15:8080", "[fe80::1]:81"]);
  assert.deepEqual(initEvent("ingot-init: [11.843] app listens on no tcp port"), { kind: "app-listens", sockets: [] });
  // The app's own output that merely looks like it is not init's.
  assert.equal(initEvent("app listens on tcp 3000"), undefined);
});
