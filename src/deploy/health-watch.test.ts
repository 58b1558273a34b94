import { test } from "node:test";
import assert from "node:assert/strict";
import type { ServerStatus } from "../entry/server-status.ts";
import type { ImageManifest } from "../image/manifest.ts";
import type { Instance } from "../instance/instance.ts";
import { HealthWatch, isFailing } from "./health-watch.ts";

const manifest = {
  name: "hello", version: "2.0.0", layers: [], ports: { http: 8080 }, resources: { cpus: 1, memoryMiB: 128 }, environments: {}, stopTimeoutMs: 1000,
  healthcheck: { type: "http", path: "/health", port: "http", intervalMs: 1, timeoutMs: 100, healthyThreshold: 1, startTimeoutMs: 1000 },
} as unknown as ImageManifest;
const server = (name: string, statusText: string, status: string, currentSessions = 0): ServerStatus => ({
  name, address: "127.0.0.1", port: 1, state: statusText.split(" ")[0] as ServerStatus["state"], statusText, currentSessions, weight: 1,
  check: { status, code: status === "L7STS" ? "500" : "", description: status === "L7STS" ? "Layer7 wrong status" : "", detail: "" },
});

test("a server is failing when HAProxy has it DOWN and its last check failed, not while new, rising or busy with a request", () => {
  assert.equal(isFailing(server("i-1", "DOWN", "L7STS")), true);
  assert.equal(isFailing(server("i-1", "DOWN", "L4TOUT")), true);
  assert.equal(isFailing(server("i-1", "DOWN", "INI")), false, "added, not checked yet");
  assert.equal(isFailing(server("i-1", "DOWN 1/2", "L7OK")), false, "rising: its last check passed");
  assert.equal(isFailing(server("i-1", "UP 2/3", "L7STS")), false, "still up");
  assert.equal(isFailing(server("i-1", "DRAIN", "L7STS")), false);
  assert.equal(isFailing(server("i-1", "DOWN", "L7TOUT", 1)), false, "a slow request in its single thread: stopping it would end the request");
});

test("an instance its entry point keeps DOWN for three polls in a row is failed and stopped, once; a pass in between starts the count again", async (t) => {
  const instance = { id: "i-1", state: "healthy", environment: "prod", manifest } as unknown as Instance;
  const polls = ["DOWN", "DOWN", "UP", "DOWN", "DOWN", "DOWN", "DOWN"];
  let seen = 0;
  const failed: { id: string; reason: string; timeoutMs: number }[] = [];
  const live = {
    all: () => [instance],
    fail: async (id: string, reason: string, timeoutMs: number) => {
      failed.push({ id, reason, timeoutMs });
      (instance as { state: string }).state = "failed";
    },
  };
  const entry = { servers: async () => { seen++; const state = polls.shift() ?? "DOWN"; return [server("i-1", state, state === "UP" ? "L7OK" : "L7STS")]; } };
  const watch = new HealthWatch(live, (environment) => (environment === "prod" ? entry : undefined), () => false, () => {});
  t.after(() => watch.close());
  watch.start();
  const deadline = Date.now() + 10_000;
  while (failed.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.deepEqual(failed, [{ id: "i-1", reason: "failed its health check 3 times in a row: last check L7STS 500 Layer7 wrong status", timeoutMs: 6000 }]);
  assert.equal(seen, 6, "no poll after the verdict, and the UP reset the count");
});

test("an instance that is not healthy (booting, draining), has no health check or is in a deploy is not watched", async (t) => {
  const instances = [
    { id: "i-1", state: "draining", environment: "prod", manifest },
    { id: "i-2", state: "booting", environment: "prod", manifest },
    { id: "i-3", state: "healthy", environment: "prod", manifest: { ...manifest, healthcheck: false } },
    { id: "i-4", state: "healthy", environment: "test", manifest },
  ] as unknown as Instance[];
  let polls = 0;
  const entry = { servers: async () => { polls++; return instances.map((instance) => server(instance.id, "DOWN", "L7STS")); } };
  const watch = new HealthWatch({ all: () => instances, fail: async () => {} }, () => entry, (environment) => environment === "test", () => {});
  t.after(() => watch.close());
  watch.start();
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.equal(polls, 0);
});
