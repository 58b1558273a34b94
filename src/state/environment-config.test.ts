import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { ConfigStore } from "./config-store.ts";
import { environmentConfig } from "./environment-config.ts";
import { SecretStore } from "./secret-store.ts";
import { tempState } from "./testing.ts";

describe("environmentConfig", () => {
  const { state, remove } = tempState();
  after(remove);

  it("returns config and secrets of one version, in instanceConfig's shape", () => {
    const secrets = new SecretStore(state);
    new ConfigStore(state).set("prod", { WORKERS: "4", LOG_LEVEL: "info" });
    secrets.set("prod", "API_TOKEN", "t0ken-value");
    assert.deepEqual(environmentConfig(state, secrets, "prod"), {
      version: 2,
      runtimeEnv: [["LOG_LEVEL", "info"], ["WORKERS", "4"]],
      secrets: [["API_TOKEN", "t0ken-value"]],
    });
    assert.deepEqual(environmentConfig(state, secrets, "dev"), { version: 0, runtimeEnv: [], secrets: [] });
  });
});
