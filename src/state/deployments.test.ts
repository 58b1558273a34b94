import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { Deployments } from "./deployments.ts";
import { tempState } from "./testing.ts";

const imageDigest = `sha256:${"a".repeat(64)}`;

describe("Deployments", () => {
  const { state, remove } = tempState();
  after(remove);
  const deployments = new Deployments(state);
  const deploy = (environment: string, imageRef: string) => deployments.begin({ environment, imageRef, imageDigest, strategy: "blue-green", configVersion: 3 });

  it("allows one running deploy per environment and names it when refusing a second", () => {
    const first = deploy("prod", "hello:1");
    assert.equal(first.state, "running");
    assert.equal(first.configVersion, 3);
    assert.throws(() => deploy("prod", "hello:2"), (error: Error & { code?: string }) => error.code === "deploy-running" && error.message.includes(`deploy ${first.id} of hello:1`));
    assert.equal(deploy("test", "hello:2").environment, "test", "another environment is free");
    assert.equal(deployments.running("prod")?.id, first.id);
  });

  it("also refuses a second running deploy at the database (two processes racing)", () => {
    assert.throws(() => state.sqlite.prepare("INSERT INTO deployments (environment, image_ref, image_digest, strategy, state, config_version, started_ms) VALUES ('prod', 'x', ?, 'blue-green', 'running', 0, 0)").run(imageDigest), /UNIQUE/);
  });

  it("finishes a deploy once, with its reason, and tells what an environment serves", () => {
    const running = deployments.running("prod")!;
    assert.equal(deployments.serving("prod"), undefined);
    assert.equal(deployments.finish(running.id, "succeeded").state, "succeeded");
    assert.throws(() => deployments.finish(running.id, "failed"), /not running/);
    const failed = deploy("prod", "hello:3");
    assert.equal(deployments.finish(failed.id, "failed", "never healthy: 500 from /health").reason, "never healthy: 500 from /health");
    assert.equal(deployments.serving("prod")?.imageRef, "hello:1");
    assert.deepEqual(deployments.history("prod").map((deployment) => [deployment.imageRef, deployment.state]), [["hello:3", "failed"], ["hello:1", "succeeded"]]);
  });

  it("refuses an unknown environment and an unknown deploy", () => {
    assert.throws(() => deploy("nowhere", "hello:1"), { code: "environment-unknown" });
    assert.throws(() => deployments.get(999), { code: "deploy-unknown" });
  });
});
