import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { EntryPoints } from "../entry/entry-points.ts";
import type { LiveInstances } from "../instance/live-instances.ts";
import { ConfigStore } from "../state/config-store.ts";
import { SecretStore } from "../state/secret-store.ts";
import { tempState } from "../state/testing.ts";
import type { Vault } from "../vault/vault.ts";
import { DeployEngine } from "./deploy-engine.ts";
import { removeEnvironment } from "./environment-removal.ts";

const imageDigest = `sha256:${"a".repeat(64)}`;

describe("removeEnvironment", async () => {
  const { state, remove } = tempState();
  const entryRoot = await mkdtemp(join(tmpdir(), "ingot-entry-"));
  after(async () => {
    remove();
    await rm(entryRoot, { recursive: true, force: true });
  });
  const secrets = new SecretStore(state);
  const config = new ConfigStore(state);
  // No instance runs and no image is read: the environment's processes are the e2e test's part (test/e2e/accessory.test.ts).
  const live = { in: () => [], subscribe: () => () => {} } as unknown as LiveInstances;
  const engine = new DeployEngine({ state, vault: {} as Vault, secrets, entryPoints: new EntryPoints(entryRoot), live });

  it("refuses an unknown environment, naming those that exist", async () => {
    await assert.rejects(removeEnvironment(engine, { environment: "staging", deleteData: false }), { code: "environment-unknown", message: /known are dev, test, prod/ });
  });

  it("refuses while a canary runs there, pointing at --abort, and changes nothing", async () => {
    config.set("test", { LOG_LEVEL: "debug" });
    const canary = engine.deployments.begin({ environment: "test", imageRef: "hello:2", imageDigest, strategy: "canary", configVersion: 1 });
    await assert.rejects(removeEnvironment(engine, { environment: "test", deleteData: false }), (error: Error & { code?: string; hint?: string }) => {
      assert.equal(error.code, "deploy-running");
      assert.match(error.message, new RegExp(`^Cannot remove environment test as the canary of deploy ${canary.id} of hello:2 is running there`));
      assert.match(error.hint ?? "", /ingot deploy --env test --abort/);
      return true;
    });
    assert.deepEqual(config.list("test").map((entry) => entry.key), ["LOG_LEVEL"]);
    assert.equal(engine.environments.get("test").stoppedMs, null, "not even marked stopped");
    engine.deployments.finish(canary.id, "failed", "aborted");
  });

  it("refuses a second removal while one runs", async () => {
    engine.removing.add("dev");
    try {
      await assert.rejects(removeEnvironment(engine, { environment: "dev", deleteData: false }), { code: "environment-removing" });
    } finally {
      engine.removing.delete("dev");
    }
  });

  it("removes a never-deployed environment's variables and secrets, records it, and is harmless a second time", async () => {
    config.set("prod", { LOG_LEVEL: "info", WORKERS: "4" });
    secrets.set("prod", "API_TOKEN", "t0ken");
    const removal = await removeEnvironment(engine, { environment: "prod", deleteData: false });
    assert.deepEqual(removal, { environment: "prod", instances: [], entryPoint: null, accessories: [], variables: 2, secrets: 1, forgotten: false });
    assert.deepEqual(engine.events.list({ environment: "prod", kind: "environment-removed" }).map((event) => event.data.variables), [2]);
    assert.deepEqual(await removeEnvironment(engine, { environment: "prod", deleteData: true }), { ...removal, variables: 0, secrets: 0 });
    assert.equal(engine.environments.get("prod").stoppedMs, null, "as never deployed: not stopped");
  });
});
