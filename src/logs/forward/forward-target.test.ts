import assert from "node:assert/strict";
import { test } from "node:test";
import { parseForwardTarget } from "./forward-target.ts";

test("forward URLs parse into targets: syslog over TCP or TLS with a CA, OTLP over HTTP(S) with its default path and port", () => {
  assert.deepEqual(parseForwardTarget("syslog+tcp://logs.internal:514").target, { kind: "syslog", url: "syslog+tcp://logs.internal:514", host: "logs.internal", port: 514, tls: false });
  assert.deepEqual(parseForwardTarget("syslog+tls://[::1]:6514?ca=/etc/ingot/ca.pem").target, { kind: "syslog", url: "syslog+tls://[::1]:6514?ca=/etc/ingot/ca.pem", host: "::1", port: 6514, tls: true, caFile: "/etc/ingot/ca.pem" });
  assert.deepEqual(parseForwardTarget("otlp+https://collector.example.com").target, { kind: "otlp", url: "otlp+https://collector.example.com", host: "collector.example.com", port: 443, tls: true, path: "/v1/logs" });
  assert.deepEqual(parseForwardTarget("OTLP+HTTP://127.0.0.1:4318/custom/logs").target, { kind: "otlp", url: "OTLP+HTTP://127.0.0.1:4318/custom/logs", host: "127.0.0.1", port: 4318, tls: false, path: "/custom/logs" });
});

test("what is not a target says why", () => {
  const problem = (url: string) => parseForwardTarget(url).problem ?? "";
  assert.match(problem("constructor://x:1"), /must be a URL starting with syslog\+tcp:\/\//);
  assert.match(problem("syslog+udp://x:514"), /must be a URL starting with/);
  assert.match(problem("logs.internal:514"), /must be a URL starting with/);
  assert.match(problem("syslog+tls://x"), /must name a port/);
  assert.match(problem("syslog+tcp://x:70000"), /a port from 1 to 65535/);
  assert.match(problem("otlp+https://user:secret@x/v1/logs"), /must not carry a user or password/);
  assert.match(problem("otlp+http://x:4318?ca=/ca.pem"), /use otlp\+https/);
  assert.match(problem("otlp+https://x?insecure=1"), /unknown option "insecure"/);
  assert.match(problem("syslog+tcp://x:514#a"), /#fragment/);
});
