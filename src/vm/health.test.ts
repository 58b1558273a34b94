import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { Healthcheck } from "../config/app-config.ts";
import type { IngotError } from "../errors.ts";
import { checkHealth, waitHealthy } from "./health.ts";

const timing = { intervalMs: 50, timeoutMs: 500, healthyThreshold: 1, startTimeoutMs: 400 };

test("a health wait gives up at startTimeout and says what the last check saw", async (t) => {
  let status = 500;
  const server = createServer((_request, response) => response.writeHead(status).end());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as { port: number }).port;
  const http: Exclude<Healthcheck, false> = { type: "http", path: "/health", port: "http", ...timing };
  assert.deepEqual(await checkHealth(http, "127.0.0.1", port), { ok: false, answer: "HTTP 500" });
  await assert.rejects(waitHealthy(http, "127.0.0.1", port, new AbortController().signal), (error: IngotError) =>
    error.code === "health-timeout" && /GET \/health did not pass within 0.4 s: last answer HTTP 500$/.test(error.message));
  status = 204;
  await waitHealthy(http, "127.0.0.1", port, new AbortController().signal);
  server.close();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(await checkHealth({ type: "tcp", port: "http", ...timing }, "127.0.0.1", port), { ok: false, answer: "connection refused" });
});
