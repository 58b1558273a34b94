import assert from "node:assert/strict";
import { request } from "node:http";
import { test } from "node:test";
import { tempDir } from "../../test/helpers.ts";
import { openLogService } from "../logs/log-service.ts";
import { ControlServer } from "./control-server.ts";
import { logQuery, logRoutes } from "./log-routes.ts";
import { serverPaths } from "./server-paths.ts";

test("a follow streams new matching lines and ends, unsubscribed, when its client disconnects", async (t) => {
  const home = await tempDir("ingot-log-routes-");
  const logs = await openLogService(home.path, serverPaths(home.path).dir);
  const server = await ControlServer.start({ home: home.path, routes: logRoutes(logs) });
  t.after(async () => { await server.close(); await logs.close(); await home.remove(); });
  const base = { timeMs: 1, environment: "prod", app: "web", version: "1", instance: "i-1", source: "app" as const, stream: "stdout", severity: 6 };
  logs.store.append({ ...base, message: "before" });
  const received: string[] = [];
  const call = request({ socketPath: serverPaths(home.path).socket, method: "POST", path: "/v1/logs/follow" }, (response) => {
    response.setEncoding("utf8").on("data", (chunk: string) => received.push(...chunk.split("\n").filter(Boolean)));
    response.on("error", () => {});
  });
  call.on("error", () => {});
  call.end(JSON.stringify({ environment: "prod" }));
  while (logs.store.followers === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  logs.store.append({ ...base, message: "after" });
  logs.store.append({ ...base, environment: "test", message: "elsewhere" });
  while (received.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(received.map((line) => (JSON.parse(line) as { event: { message: string } }).event.message), ["before", "after"]);
  call.destroy();
  const deadline = Date.now() + 5000;
  while (logs.store.followers > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(logs.store.followers, 0);
});

test("a query's fields are checked", () => {
  assert.deepEqual(logQuery({ environment: "prod", level: "warning", sources: ["app"], limit: 5 }), { environment: "prod", maxSeverity: 4, sources: ["app"], limit: 5 });
  assert.throws(() => logQuery({ level: "loud" }), /not a level/);
  assert.throws(() => logQuery({ sources: ["disk"] }), /sources are app, console, entry/);
  assert.throws(() => logQuery({ limit: "5" }), /limit is not a number/);
});
