// Test fixtures for the entry point: loopback HTTP instances, a spec in a temp run folder, and a load
// loop over kept-alive and fresh connections that records every answer.
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { freePort } from "../vm/free-port.ts";
import { EntryPoint } from "./entry-point.ts";
import type { EntrySpec } from "./haproxy-config.ts";
import { haproxyBinary } from "./haproxy-process.ts";

/** Skip without HAProxy on a developer's machine; under CI=true the tests run and fail instead. */
export const haproxySkip = spawnSync(haproxyBinary(), ["-v"]).error && process.env.CI !== "true"
  ? "haproxy is not installed (scripts/setup.sh installs it)" : false;

export interface TestInstance {
  port: number;
  requests: number;
  /** The connections that carried those requests (health checks not counted). */
  connections: Set<unknown>;
  headers: Record<string, string | string[] | undefined>[];
  close: () => Promise<void>;
}

/** An instance answering `label` on every path but /health, which answers healthStatus; upgrades echo. failEvery: every Nth request answers 500. */
export async function startInstance(label: string, { healthStatus = 200, delayMs = 0, failEvery = 0 } = {}): Promise<TestInstance> {
  const instance: TestInstance = { port: 0, requests: 0, connections: new Set(), headers: [], close: async () => {} };
  const server = createServer((req, res) => {
    if (req.url === "/health") return void res.writeHead(healthStatus).end();
    instance.requests++;
    instance.connections.add(req.socket);
    instance.headers.push(req.headers);
    const failed = failEvery > 0 && instance.requests % failEvery === 0;
    setTimeout(() => res.writeHead(failed ? 500 : 200).end(label), delayMs);
  });
  // An upgraded connection (as a WebSocket's) echoes what it receives.
  server.on("upgrade", (_req, socket) => {
    socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n");
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  instance.port = (server.address() as AddressInfo).port;
  instance.close = () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  return instance;
}

/** Starts an entry point whose HAProxy (by its pid) and run folder are removed when the test ends, also on failure. */
export async function startEntry(t: TestContext, environment = "prod", more: Partial<EntrySpec> = {}): Promise<EntryPoint> {
  const { spec, remove } = await testSpec(environment);
  const entry = await EntryPoint.start({ ...spec, ...more }).catch(async (error: unknown) => { await remove(); throw error; });
  t.after(async () => {
    await entry.stop();
    await remove();
  });
  return entry;
}

/** An instance closed when the test ends. */
export async function instance(t: TestContext, label: string, options: { healthStatus?: number; delayMs?: number; failEvery?: number } = {}): Promise<TestInstance> {
  const started = await startInstance(label, options);
  t.after(started.close);
  return started;
}

export async function testSpec(environment = "prod"): Promise<{ spec: EntrySpec; remove: () => Promise<void> }> {
  const runDir = await mkdtemp(join(tmpdir(), "ingot-entry-"));
  return {
    spec: {
      environment, runDir, bind: { address: "127.0.0.1", port: await freePort() }, drainTimeoutMs: 5_000,
      healthcheck: { type: "http", path: "/health", intervalMs: 200, timeoutMs: 1_000, healthyThreshold: 2 },
    },
    remove: () => rm(runDir, { recursive: true, force: true }),
  };
}

/** One GET; resolves with status and body, never rejects (a failure is a status of 0). */
export function get(port: number, agent: Agent | false, path = "/"): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path, agent, headers: agent ? {} : { connection: "close" } }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => { body += chunk.toString(); });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on("error", (error) => resolve({ status: 0, body: error.message, headers: {} }));
    });
    req.on("error", (error) => resolve({ status: 0, body: error.message, headers: {} }));
    req.end();
  });
}

/** `count` GETs, eight at a time, every other one over the kept-alive agent; the answers in the order sent. */
export async function requests(port: number, agent: Agent, count: number): Promise<{ status: number; body: string }[]> {
  const answers: { status: number; body: string }[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < count; index = next++) answers[index] = await get(port, index % 2 ? agent : false);
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return answers;
}

export interface Answer { connection: "kept-alive" | "fresh"; startedAt: number; status: number; body: string }

/** Workers over one kept-alive agent and workers opening a fresh connection per request, until stopped. */
export function loadLoop(port: number, { keepAliveWorkers = 4, freshWorkers = 4 } = {}): { answers: Answer[]; stop: () => Promise<Answer[]> } {
  const answers: Answer[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: keepAliveWorkers });
  let running = true;
  const worker = async (workerAgent: Agent | false): Promise<void> => {
    while (running) {
      const startedAt = performance.now();
      const { status, body } = await get(port, workerAgent);
      answers.push({ connection: workerAgent ? "kept-alive" : "fresh", startedAt, status, body });
    }
  };
  const workers = [...Array(keepAliveWorkers).fill(agent), ...Array(freshWorkers).fill(false)].map(worker);
  return {
    answers,
    stop: async () => {
      running = false;
      await Promise.all(workers);
      agent.destroy();
      return answers;
    },
  };
}
