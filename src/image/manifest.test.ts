import { test } from "node:test";
import assert from "node:assert/strict";
import { environmentOutbound, logForwardTargets } from "./manifest.ts";

test("an environment's outbound overrides the image's, which overrides none", () => {
  const manifest = { outbound: "internet" as const, environments: { test: { env: {}, outbound: "none" as const }, prod: { env: {} } } };
  assert.equal(environmentOutbound(manifest, "test"), "none");
  assert.equal(environmentOutbound(manifest, "prod"), "internet");
  assert.equal(environmentOutbound(manifest, "dev"), "internet", "dev, which ingot.yaml need not declare, takes the image's");
  assert.equal(environmentOutbound({ environments: { prod: { env: {}, outbound: "internet" } } }, "dev"), "none");
  assert.equal(environmentOutbound({ environments: { prod: { env: {}, outbound: "internet" } } }, "prod"), "internet");
});

test("an environment's logs.forward replaces the image's; none means nowhere; a URL that does not parse is left out", () => {
  const manifest = { logs: { forward: ["syslog+tcp://logs:514"] }, environments: { test: { env: {}, logs: { forward: [] } }, prod: { env: {}, logs: { forward: ["otlp+http://collector:4318", "gopher://x"] } }, dev: { env: {}, logs: {} } } };
  assert.deepEqual(logForwardTargets(manifest, "test"), []);
  assert.deepEqual(logForwardTargets(manifest, "prod"), [{ kind: "otlp", url: "otlp+http://collector:4318", host: "collector", port: 4318, tls: false, path: "/v1/logs" }]);
  assert.deepEqual(logForwardTargets(manifest, "dev").map((target) => target.url), ["syslog+tcp://logs:514"], "logs without forward keeps the image's list");
  assert.deepEqual(logForwardTargets(manifest, "staging").map((target) => target.url), ["syslog+tcp://logs:514"]);
  assert.deepEqual(logForwardTargets({ environments: {} }, "prod"), []);
});
