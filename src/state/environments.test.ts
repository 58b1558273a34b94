import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { Environments } from "./environments.ts";
import { tempState } from "./testing.ts";

describe("Environments", () => {
  const { state, remove } = tempState();
  after(remove);
  const environments = new Environments(state);

  it("has dev, test and prod from the start, without an entry port yet", () => {
    assert.deepEqual(environments.list().map((environment) => environment.name), ["dev", "test", "prod"]);
    assert.deepEqual({ ...environments.get("prod"), createdMs: 0 }, { name: "prod", entryPort: null, bindAddress: "127.0.0.1", configVersion: 0, createdMs: 0, stoppedMs: null, degraded: null, desiredInstances: null, removedAfterDeployment: null });
  });

  it("names the known environments when asked for an unknown one", () => {
    assert.throws(() => environments.get("staging"), (error: Error & { code?: string }) => error.code === "environment-unknown" && /dev, test, prod/.test(error.message));
    assert.throws(() => environments.get("Bad Name"), { code: "environment-name-invalid" });
  });

  it("creates a declared environment once", () => {
    const first = environments.ensure("staging");
    assert.deepEqual(environments.ensure("staging"), first);
    assert.deepEqual(environments.list().map((environment) => environment.name), ["dev", "test", "prod", "staging"]);
  });

  it("records an entry point and refuses a port another environment holds", () => {
    assert.equal(environments.setEntryPoint("prod", { port: 8080, bindAddress: "0.0.0.0" }).entryPort, 8080);
    assert.equal(environments.setEntryPoint("prod", { port: 8080, bindAddress: "127.0.0.1" }).bindAddress, "127.0.0.1");
    assert.throws(() => environments.setEntryPoint("test", { port: 8080, bindAddress: "127.0.0.1" }), /environment prod has it/);
    assert.equal(environments.get("test").entryPort, null);
  });

  it("counts configuration versions per environment", () => {
    assert.equal(state.transaction(() => environments.bumpConfigVersion("dev")), 1);
    assert.equal(state.transaction(() => environments.bumpConfigVersion("dev")), 2);
    assert.equal(environments.get("test").configVersion, 0);
  });

  it("keeps a degraded environment's figures until a deploy or a stop clears them", () => {
    const degraded = { sinceMs: 1_000, imageRef: "hello:2.0.0", imageDigest: "sha256:ab", failures: 3, windowMs: 300_000, lastReason: "its app exited with status 1" };
    environments.setDegraded("test", degraded);
    assert.deepEqual(environments.get("test").degraded, degraded);
    environments.setStopped("test", false);
    assert.equal(environments.get("test").degraded, null);
    environments.setDegraded("test", degraded);
    environments.setStopped("test", true);
    assert.equal(environments.get("test").degraded, null);
  });

  it("keeps a desired number of instances until it is reset, through a stop", () => {
    assert.equal(environments.setDesiredInstances("test", 3).desiredInstances, 3);
    environments.setStopped("test", true);
    assert.equal(environments.get("test").desiredInstances, 3);
    assert.equal(environments.get("prod").desiredInstances, null);
    assert.equal(environments.setDesiredInstances("test", null).desiredInstances, null);
    assert.throws(() => environments.setDesiredInstances("test", 0), /CHECK constraint/);
    assert.throws(() => environments.setDesiredInstances("staging-x", 2), { code: "environment-unknown" });
  });
});
