import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { Deployments } from "../state/deployments.ts";
import { Environments } from "../state/environments.ts";
import { tempState } from "../state/testing.ts";
import type { CapacityKeeper } from "./capacity-keeper.ts";
import type { DeployEngine } from "./deploy-engine.ts";
import { scaleEnvironment } from "./scale.ts";

describe("scaleEnvironment refuses before anything changes", () => {
  const { state, remove } = tempState();
  after(remove);
  const environments = new Environments(state);
  const deployments = new Deployments(state);
  let reconciled = 0;
  // Enough of an engine for the refusals: they come before the vault, the instances or the keeper are asked.
  const engine = { environments, deployments, parts: { entryPoints: { get: (name: string) => (name === "dev" ? {} : undefined) } } } as unknown as DeployEngine;
  const keeper = { reconcile: async () => { reconciled++; return { started: [], stopped: [] }; } } as unknown as CapacityKeeper;
  const refused = async (request: { environment: string; instances: number | null }, code: string, message: RegExp, hint: RegExp): Promise<void> => {
    await assert.rejects(scaleEnvironment(engine, keeper, request), (error: Error & { code?: string; hint?: string }) => {
      assert.equal(error.code, code, error.message);
      assert.match(error.message, message);
      assert.match(error.hint ?? "", hint);
      return true;
    });
  };

  it("a number outside 1 to 32, naming what to do instead", async () => {
    for (const instances of [0, 33, 99, 1.5, -1]) {
      await refused({ environment: "dev", instances }, "scale-count-invalid", new RegExp(`^Cannot scale dev to ${instances} instances as it must be a whole number from 1 to 32$`), /ingot stop --env dev.*--reset/);
    }
  });

  it("an environment never deployed to: deploy first", async () => {
    await refused({ environment: "test", instances: 2 }, "scale-not-deployed", /^Cannot scale test as nothing was ever deployed to it$/, /ingot deploy IMAGE --env test/);
  });

  it("an environment with a deploy running, naming it", async () => {
    const deployment = deployments.begin({ environment: "dev", imageRef: "hello:1", imageDigest: `sha256:${"a".repeat(64)}`, strategy: "blue-green", configVersion: 0 });
    await refused({ environment: "dev", instances: 2 }, "deploy-running", new RegExp(`^Cannot scale dev as deploy ${deployment.id} of hello:1 is running`), /Wait for it/);
    deployments.finish(deployment.id, "succeeded");
  });

  it("a stopped environment: deploy to it again first", async () => {
    environments.setStopped("dev", true);
    await refused({ environment: "dev", instances: 2 }, "scale-stopped", /^Cannot scale dev as ingot stop stopped it at /, /ingot deploy IMAGE --env dev/);
    environments.setStopped("dev", false);
  });

  it("an unknown environment, naming the known ones", async () => {
    await refused({ environment: "nope", instances: 2 }, "environment-unknown", /known are dev, test, prod/, /ingot env ls/);
    assert.equal(reconciled, 0);
    assert.equal(environments.get("dev").desiredInstances, null, "nothing was recorded");
  });
});
