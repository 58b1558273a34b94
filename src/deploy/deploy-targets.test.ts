import { test } from "node:test";
import assert from "node:assert/strict";
import type { Deployment } from "../state/deployments.ts";
import { promoteTarget, rollbackTarget } from "./deploy-targets.ts";

const digest = (n: number): string => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const deploy = (id: number, version: string, state: Deployment["state"]): Deployment => ({
  id, environment: "prod", imageRef: `hello:${version}`, imageDigest: digest(Number(version[0])), strategy: "blue-green", state, reason: null, configVersion: 0, startedMs: id, finishedMs: id, canary: null,
});

const history = [deploy(1, "1.0.0", "succeeded"), deploy(2, "2.0.0", "succeeded"), deploy(3, "3.0.0", "failed"), deploy(4, "2.0.0", "succeeded")];

test("rollback goes to the newest earlier image that succeeded, never to the one serving or to a failed one", () => {
  assert.equal(rollbackTarget("prod", history).imageRef, "hello:1.0.0");
  assert.equal(rollbackTarget("prod", history, "1.0.0").id, 1);
  assert.equal(rollbackTarget("prod", history, digest(1).slice(0, 19)).id, 1);
  assert.throws(() => rollbackTarget("prod", history, "3.0.0"), (error: Error & { code?: string }) => error.code === "rollback-no-target" && /that version/.test(error.message));
  assert.throws(() => rollbackTarget("prod", history, "2.0.0"), (error: Error & { code?: string }) => error.code === "rollback-same");
  assert.throws(() => rollbackTarget("prod", [deploy(1, "1.0.0", "succeeded")]), (error: Error & { code?: string; hint?: string }) => error.code === "rollback-no-target" && /history/.test(error.hint ?? ""));
});

test("promotion takes the digest serving the source; an image that never became healthy there needs --force", () => {
  assert.equal(promoteTarget("test", history).id, 4);
  const neverHealthy = [deploy(1, "1.0.0", "failed")];
  assert.throws(() => promoteTarget("test", neverHealthy), (error: Error & { code?: string }) => error.code === "promote-never-healthy" && /1.0.0, failed/.test(error.message));
  assert.equal(promoteTarget("test", neverHealthy, true).id, 1);
  assert.throws(() => promoteTarget("test", [], true), (error: Error & { code?: string }) => error.code === "promote-never-healthy");
});
