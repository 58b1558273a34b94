import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { ConfigStore } from "./config-store.ts";
import { SecretStore } from "./secret-store.ts";
import { tempState } from "./testing.ts";

describe("ConfigStore", () => {
  const { state, remove } = tempState();
  after(remove);
  const config = new ConfigStore(state);

  it("gives every change a higher config version and records it per entry", () => {
    assert.equal(config.set("prod", { LOG_LEVEL: "info", WORKERS: "4" }), 1);
    assert.equal(config.set("prod", { WORKERS: "8" }), 2);
    assert.equal(config.unset("prod", ["LOG_LEVEL"]), 3);
    assert.deepEqual(config.list("prod"), [{ key: "WORKERS", value: "8", version: 2 }]);
    assert.deepEqual(config.snapshot("prod"), { version: 3, values: { WORKERS: "8" } });
  });

  it("keeps the version when nothing changes", () => {
    assert.equal(config.set("prod", { WORKERS: "8" }), 3);
    assert.equal(config.unset("prod", ["ABSENT", "constructor"]), 3);
  });

  it("keeps versions apart per environment", () => {
    assert.equal(config.set("dev", { WORKERS: "1" }), 1);
    assert.equal(config.snapshot("prod").version, 3);
  });

  it("refuses bad names, reserved names and unknown environments, changing nothing", () => {
    assert.throws(() => config.set("prod", { OK: "1", "BAD-NAME": "2" }), { code: "variable-name-invalid" });
    assert.throws(() => config.set("prod", { INGOT_PORT: "1" }), { code: "variable-name-reserved" });
    assert.throws(() => config.set("nowhere", { OK: "1" }), { code: "environment-unknown" });
    assert.deepEqual(config.snapshot("prod"), { version: 3, values: { WORKERS: "8" } });
  });

  it("refuses a key that is already a secret of the environment", () => {
    new SecretStore(state).set("test", "API_TOKEN", "s3cret");
    assert.throws(() => config.set("test", { API_TOKEN: "plain" }), { code: "variable-name-taken" });
    assert.equal(config.set("dev", { API_TOKEN: "plain" }), 2, "another environment is unaffected");
  });
});
