import { test } from "node:test";
import assert from "node:assert/strict";
import { environmentOutbound } from "./manifest.ts";

test("an environment's outbound overrides the image's, which overrides none", () => {
  const manifest = { outbound: "internet" as const, environments: { test: { env: {}, outbound: "none" as const }, prod: { env: {} } } };
  assert.equal(environmentOutbound(manifest, "test"), "none");
  assert.equal(environmentOutbound(manifest, "prod"), "internet");
  assert.equal(environmentOutbound(manifest, "dev"), "internet", "dev, which ingot.yaml need not declare, takes the image's");
  assert.equal(environmentOutbound({ environments: { prod: { env: {}, outbound: "internet" } } }, "dev"), "none");
  assert.equal(environmentOutbound({ environments: { prod: { env: {}, outbound: "internet" } } }, "prod"), "internet");
});
