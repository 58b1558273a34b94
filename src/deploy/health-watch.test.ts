import { test } from "node:test";
import assert from "node:assert/strict";
import type { ImageManifest } from "../image/manifest.ts";
import type { Instance } from "../instance/instance.ts";
import type { HealthAnswer } from "../vm/health.ts";
import { HealthWatch } from "./health-watch.ts";

const manifest = {
  name: "hello", version: "2.0.0", layers: [], ports: { http: 8080 }, resources: { cpus: 1, memoryMiB: 128 }, environments: {}, stopTimeoutMs: 1000,
  healthcheck: { type: "http", path: "/health", port: "http", intervalMs: 1, timeoutMs: 100, healthyThreshold: 1, startTimeoutMs: 1000 },
} as unknown as ImageManifest;

test("a healthy instance that fails its health check three times in a row is failed and stopped, once; a pass in between starts the count again", async (t) => {
  const instance = { id: "i-1", state: "healthy", environment: "prod", manifest, servicePort: 41234 } as unknown as Instance;
  const answers = [true, false, false, true, false, false, false, false];
  const seen: string[] = [];
  const failed: { id: string; reason: string; timeoutMs: number }[] = [];
  const live = {
    all: () => [instance],
    fail: async (id: string, reason: string, timeoutMs: number) => {
      failed.push({ id, reason, timeoutMs });
      (instance as { state: string }).state = "failed";
    },
  };
  const check = async (_check: unknown, host: string, port: number): Promise<HealthAnswer> => {
    seen.push(`${host}:${port}`);
    const ok = answers.shift() ?? false;
    return { ok, answer: ok ? "HTTP 200" : "HTTP 500" };
  };
  const watch = new HealthWatch(live, () => {}, check);
  t.after(() => watch.close());
  watch.start();
  const deadline = Date.now() + 10_000;
  while (failed.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.deepEqual(failed, [{ id: "i-1", reason: "failed its health check 3 times in a row: last answer HTTP 500", timeoutMs: 6000 }]);
  assert.equal(seen.length, 7, "no check after the verdict, and the one pass reset the count");
  assert.equal(seen[0], "127.0.0.1:41234");
});

test("an instance that is not healthy (booting, draining) or has no health check is not checked", async (t) => {
  const instances = [
    { id: "i-1", state: "draining", environment: "prod", manifest, servicePort: 1 },
    { id: "i-2", state: "booting", environment: "prod", manifest, servicePort: 2 },
    { id: "i-3", state: "healthy", environment: "prod", manifest: { ...manifest, healthcheck: false }, servicePort: 3 },
  ] as unknown as Instance[];
  let checks = 0;
  const watch = new HealthWatch({ all: () => instances, fail: async () => {} }, () => {}, async () => { checks++; return { ok: false, answer: "HTTP 500" }; });
  t.after(() => watch.close());
  watch.start();
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.equal(checks, 0);
});
