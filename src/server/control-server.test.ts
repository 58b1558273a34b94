import { test } from "node:test";
import assert from "node:assert/strict";
import { chmod, stat, writeFile } from "node:fs/promises";
import { tempDir } from "../../test/helpers.ts";
import { IngotError } from "../errors.ts";
import { callServer, requestServer, streamServer } from "./control-client.ts";
import { ControlServer, type ServerStatus } from "./control-server.ts";
import { serverPaths } from "./server-paths.ts";

test("the server answers on a private socket, refuses a second server, and a route's IngotError reaches the client whole", async (t) => {
  const home = await tempDir("ingot-server-");
  const server = await ControlServer.start({
    home: home.path,
    routes: [{ method: "POST", path: "/v1/fail", handle: async () => { throw new IngotError("Cannot deploy as prod is busy", { code: "deploy-busy", hint: "Wait" }); } }],
  });
  t.after(async () => { await server.close(); await home.remove(); });
  const paths = serverPaths(home.path);
  assert.equal((await stat(paths.socket)).mode & 0o777, 0o600);
  assert.equal((await stat(paths.dir)).mode & 0o777, 0o700);
  const status = await requestServer<ServerStatus>(paths, "GET", "/v1/status");
  assert.equal(status.pid, process.pid);
  await assert.rejects(ControlServer.start({ home: home.path }), (error: IngotError) => error.code === "server-running" && error.message.includes(`pid ${process.pid}`));
  await assert.rejects(requestServer(paths, "POST", "/v1/fail"), (error: IngotError) => error.code === "deploy-busy" && error.hint === "Wait");
  await assert.rejects(requestServer(paths, "GET", "/v1/nope"), (error: IngotError) => error.code === "api-unknown-route");
});

test("a socket left by a crashed server is taken over; a socket folder open to others is refused", async (t) => {
  const home = await tempDir("ingot-server-stale-");
  t.after(home.remove);
  const paths = serverPaths(home.path);
  const first = await ControlServer.start({ home: home.path });
  await first.close();
  await writeFile(paths.socket, "not a socket"); // what a SIGKILLed server leaves is a dead socket file
  const second = await ControlServer.start({ home: home.path });
  t.after(() => second.close());
  assert.equal((await requestServer<ServerStatus>(paths, "GET", "/v1/status")).pid, process.pid);
  await chmod(paths.dir, 0o755);
  await assert.rejects(requestServer(paths, "GET", "/v1/status"), (error: IngotError) => error.code === "server-socket-foreign" && /0700/.test(error.hint ?? ""));
  await chmod(paths.dir, 0o700);
});

test("a client starts the server in the background, where it outlives the client, until it is stopped", async (t) => {
  const home = await tempDir("ingot-server-auto-");
  t.after(home.remove);
  await assert.rejects(callServer("GET", "/v1/status", undefined, { home: home.path, autostart: false }), (error: NodeJS.ErrnoException) => error.code === "ENOENT");
  const status = await callServer<ServerStatus>("GET", "/v1/status", undefined, { home: home.path });
  const pid = status.pid;
  t.after(() => { if (alive(pid)) process.kill(pid, "SIGKILL"); });
  assert.notEqual(pid, process.pid, "its own process");
  assert.equal(status.home, home.path);
  await callServer("POST", "/v1/stop", undefined, { home: home.path, autostart: false });
  for (let tries = 0; tries < 50 && alive(pid); tries++) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(alive(pid), false, "stopped");
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("a streaming route sends its events as they happen, then its result or its error", async (t) => {
  const home = await tempDir("ingot-server-stream-");
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => { release = resolve; });
  const server = await ControlServer.start({
    home: home.path,
    routes: [
      { method: "POST", path: "/v1/steps", stream: true, handle: async (body, emit) => { emit({ step: 1 }); await released; emit({ step: 2 }); return { done: (body as { n: number }).n }; } },
      { method: "POST", path: "/v1/steps-fail", stream: true, handle: async (_body, emit) => { emit({ step: 1 }); throw new IngotError("Cannot deploy as it broke", { code: "deploy-broke", hint: "Look" }); } },
    ],
  });
  t.after(async () => { await server.close(); await home.remove(); });
  const events: unknown[] = [];
  const result = streamServer<{ done: number }>("/v1/steps", { n: 7 }, (event) => {
    events.push(event);
    // The first event arrives while the route still works: it is streamed, not buffered to the end.
    if (events.length === 1) release();
  }, { home: home.path, autostart: false });
  assert.deepEqual(await result, { done: 7 });
  assert.deepEqual(events, [{ step: 1 }, { step: 2 }]);
  const failed: unknown[] = [];
  await assert.rejects(streamServer("/v1/steps-fail", {}, (event) => failed.push(event), { home: home.path, autostart: false }), (error: IngotError) => error.code === "deploy-broke" && error.hint === "Look");
  assert.deepEqual(failed, [{ step: 1 }]);
});
