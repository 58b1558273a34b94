import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { AccessoryRecords } from "./accessories.ts";
import { ConfigStore } from "./config-store.ts";
import { Deployments } from "./deployments.ts";
import { resetEnvironment } from "./environment-reset.ts";
import { Environments } from "./environments.ts";
import { SecretStore } from "./secret-store.ts";
import { tempState } from "./testing.ts";

const imageDigest = `sha256:${"a".repeat(64)}`;

describe("resetEnvironment", () => {
  const { state, remove } = tempState();
  after(remove);
  const environments = new Environments(state);
  const deployments = new Deployments(state);
  const config = new ConfigStore(state);
  const secrets = new SecretStore(state);
  const deployed = (environment: string, imageRef: string) => {
    const deployment = deployments.begin({ environment, imageRef, imageDigest, strategy: "blue-green", configVersion: environments.get(environment).configVersion });
    return deployments.finish(deployment.id, "succeeded");
  };

  it("deletes a deployed environment's variables and secrets, clears its marks and keeps its history", () => {
    config.set("dev", { LOG_LEVEL: "info", WORKERS: "4" });
    secrets.set("dev", "API_TOKEN", "t0ken");
    secrets.set("test", "API_TOKEN", "other");
    environments.setEntryPoint("dev", { port: 18080, bindAddress: "0.0.0.0" });
    const first = deployed("dev", "hello:1");
    environments.setDesiredInstances("dev", 3);
    environments.setStopped("dev", true);
    const versionBefore = environments.get("dev").configVersion;

    assert.deepEqual(resetEnvironment(state, "dev"), { variables: 2, secrets: 1, forgotten: false });
    const dev = environments.get("dev");
    assert.deepEqual([dev.entryPort, dev.bindAddress, dev.stoppedMs, dev.degraded, dev.desiredInstances], [null, "127.0.0.1", null, null, null]);
    assert.equal(dev.removedAfterDeployment, first.id);
    assert.equal(dev.configVersion, versionBefore + 1, "one change, so no later deploy records a version that meant other values");
    assert.deepEqual(config.list("dev"), []);
    assert.deepEqual(secrets.list("dev"), []);
    assert.deepEqual(secrets.list("test").map((secret) => secret.name), ["API_TOKEN"], "other environments keep theirs");
    assert.deepEqual(deployments.history("dev").map((deployment) => deployment.id), [first.id], "history is kept");
  });

  it("makes a removed environment serve nothing, so no keeper brings its old image back, until the next deploy", () => {
    assert.equal(deployments.serving("dev"), undefined);
    assert.deepEqual(deployments.sinceRemoval("dev"), [], "nothing from before the removal to promote or roll back to");
    const next = deployed("dev", "hello:2");
    assert.equal(deployments.serving("dev")?.id, next.id);
    assert.deepEqual(deployments.sinceRemoval("dev").map((deployment) => deployment.imageRef), ["hello:2"]);
    assert.deepEqual(deployments.history("dev").map((deployment) => deployment.imageRef), ["hello:2", "hello:1"], "history shows both");
  });

  it("keeps the config version of an environment that had nothing to delete", () => {
    const before = environments.get("prod").configVersion;
    assert.deepEqual(resetEnvironment(state, "prod"), { variables: 0, secrets: 0, forgotten: false });
    assert.equal(environments.get("prod").configVersion, before);
    assert.deepEqual(environments.list().map((environment) => environment.name), ["dev", "test", "prod"], "built-in environments keep their row");
  });

  it("deletes the row of a declared environment nothing refers to, and resets one that deployments refer to", () => {
    environments.ensure("preview");
    config.set("preview", { FEATURE: "on" });
    assert.deepEqual(resetEnvironment(state, "preview"), { variables: 1, secrets: 0, forgotten: true });
    assert.throws(() => environments.get("preview"), { code: "environment-unknown" });

    environments.ensure("staging");
    deployed("staging", "hello:1");
    assert.deepEqual(resetEnvironment(state, "staging"), { variables: 0, secrets: 0, forgotten: false });
    assert.equal(deployments.serving("staging"), undefined);
    assert.equal(deployments.history("staging").length, 1);
  });

  it("leaves the URL of an accessory that is still there", () => {
    new AccessoryRecords(state).add({ environment: "test", name: "db", kind: "postgres", variable: "DATABASE_URL", guestPort: 5432, socketDir: "/tmp/none", socketGid: null });
    secrets.set("test", "DATABASE_URL", "postgres://x", { byAccessory: true });
    assert.deepEqual(resetEnvironment(state, "test"), { variables: 0, secrets: 1, forgotten: false });
    assert.deepEqual(secrets.list("test").map((secret) => secret.name), ["DATABASE_URL"]);
  });

  it("refuses an unknown environment", () => {
    assert.throws(() => resetEnvironment(state, "nowhere"), { code: "environment-unknown" });
  });
});
