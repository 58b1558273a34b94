import { test } from "node:test";
import assert from "node:assert/strict";
import { describeConfig, instanceConfig } from "./instance-config.ts";

const image = { name: "hello", version: "1.0.0", digest: "sha256:abc" };

test("ingot's variables first, then -e in order, then secrets: a later source wins", () => {
  const config = instanceConfig({
    instanceId: "i-1", image, platform: "qemu",
    runtimeEnv: [["LOG", "info"], ["DB", "runtime"], ["LOG", "debug"]],
    secrets: [["DB", "postgres://u:pw@db/x"], ["TOKEN", "s3cr3t-token"]],
  });
  assert.deepEqual(config.env, {
    INGOT_IMAGE: "hello:1.0.0@sha256:abc", INGOT_INSTANCE_ID: "i-1", INGOT_PLATFORM: "qemu",
    LOG: "debug", DB: "postgres://u:pw@db/x", TOKEN: "s3cr3t-token",
  });
  assert.deepEqual(config.secretNames, ["DB", "TOKEN"]);
  assert.equal(describeConfig(config), "INGOT_IMAGE=hello:1.0.0@sha256:abc INGOT_INSTANCE_ID=i-1 INGOT_PLATFORM=qemu LOG=debug DB=[secret] TOKEN=[secret]");
});

test("bad names, INGOT_ names and NUL bytes are refused, naming the variable", () => {
  const base = { instanceId: "i-1", image, platform: "qemu", secrets: [] };
  assert.throws(() => instanceConfig({ ...base, runtimeEnv: [["1BAD", "x"]] }), /-e variable "1BAD" as it is not a variable name/);
  assert.throws(() => instanceConfig({ ...base, runtimeEnv: [["INGOT_ENV", "prod"]] }), /INGOT_ENV as INGOT_ variables are set by ingot/);
  assert.throws(() => instanceConfig({ ...base, runtimeEnv: [], secrets: [["A", "x\0y"]] } as never), /A as its value contains a NUL byte/);
});
