import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { entryPaths } from "./haproxy-config.ts";
import { get, haproxySkip, instance, loadLoop, startEntry, testSpec } from "./entry-fixtures.ts";
import { EntryPoint } from "./entry-point.ts";
import { pollUntil } from "./poll.ts";

test("a blue/green switch under continuous load fails no request, and answers go from v1 to v2 for good", { skip: haproxySkip }, async (t) => {
  const entry = await startEntry(t);
  // A few milliseconds per answer keeps requests in flight on v1 while it drains.
  const v1 = [await instance(t, "v1", { delayMs: 5 }), await instance(t, "v1", { delayMs: 5 })];
  const v2 = [await instance(t, "v2", { delayMs: 5 }), await instance(t, "v2", { delayMs: 5 })];
  for (const [index, started] of v1.entries()) await entry.add({ name: `v1-${index}`, address: "127.0.0.1", port: started.port });
  for (const index of v1.keys()) await entry.waitUp(`v1-${index}`, 5_000);

  const load = loadLoop(entry.spec.bind.port);
  t.after(() => load.stop());
  await sleep(500);
  const v2AddedAt = performance.now();
  // At weight 0 until the switch: up and checked, but no request reaches v2 before it.
  for (const [index, started] of v2.entries()) await entry.add({ name: `v2-${index}`, address: "127.0.0.1", port: started.port, weight: 0 });
  for (const index of v2.keys()) await entry.waitUp(`v2-${index}`, 5_000);
  await sleep(300);
  assert.deepEqual(v2.map((started) => started.requests), [0, 0], "v2 took requests before the switch");
  await entry.switchTraffic([...v2.keys()].map((index) => `v2-${index}`), [...v1.keys()].map((index) => `v1-${index}`));
  const drainedAt = performance.now();
  await Promise.all([...v1.keys()].map((index) => entry.remove(`v1-${index}`)));
  const v1Requests = v1.map((started) => started.requests);
  await sleep(500);
  const answers = await load.stop();

  assert.deepEqual(answers.filter((answer) => answer.status !== 200), []);
  assert.ok(answers.length > 200, `only ${answers.length} requests`);
  for (const connection of ["kept-alive", "fresh"]) assert.ok(answers.some((answer) => answer.connection === connection), connection);
  assert.deepEqual(new Set(answers.filter((answer) => answer.startedAt < v2AddedAt).map((answer) => answer.body)), new Set(["v1"]));
  assert.deepEqual(new Set(answers.filter((answer) => answer.startedAt > drainedAt).map((answer) => answer.body)), new Set(["v2"]));
  assert.deepEqual(v1.map((started) => started.requests), v1Requests, "v1 got requests after it was removed");
  assert.deepEqual((await entry.servers()).map((server) => server.name), ["v2-0", "v2-1"]);
});

test("the entry point keeps serving after the process that started it is killed, and a new process adopts it", { skip: haproxySkip }, async (t) => {
  const { spec, remove } = await testSpec();
  // Whatever happens, the HAProxy the child started is stopped by its recorded pid, then its folder removed.
  t.after(async () => {
    await (await EntryPoint.adopt(spec.runDir).catch(() => undefined))?.stop();
    await remove();
  });
  const v1 = await instance(t, "v1");
  const script = `
    const { EntryPoint } = await import(${JSON.stringify(new URL("./entry-point.ts", import.meta.url).href)});
    const entry = await EntryPoint.start(${JSON.stringify(spec)});
    await entry.add({ name: "v1", address: "127.0.0.1", port: ${v1.port} });
    await entry.waitUp("v1", 5000);
    console.log(entry.pid);
    process.kill(process.pid, "SIGKILL");`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => { stdout += chunk.toString(); });
  // Killed outright, as a crashed control plane would be: no exit handler runs.
  assert.equal(await new Promise((resolve) => child.on("exit", (_code, signal) => resolve(signal))), "SIGKILL");
  const pid = Number(stdout.trim());

  assert.equal((await get(spec.bind.port, false)).body, "v1");
  const adopted = await EntryPoint.adopt(spec.runDir);
  assert.equal(adopted.pid, pid);
  const v2 = await instance(t, "v2");
  await adopted.add({ name: "v2", address: "127.0.0.1", port: v2.port });
  await adopted.waitUp("v2", 5_000);
  await adopted.remove("v1");
  assert.equal((await get(spec.bind.port, false)).body, "v2");
});

test("adopting refuses a pid that is no longer the recorded HAProxy", { skip: haproxySkip }, async (t) => {
  const entry = await startEntry(t);
  const recordPath = entryPaths(entry.spec.runDir).record;
  const record = JSON.parse(await readFile(recordPath, "utf8")) as { pid: number; startTime: string };
  // The same HAProxy started at another time, and another program with the recorded pid: both a reused pid.
  for (const forged of [{ ...record, startTime: String(Number(record.startTime) + 1) }, { ...record, pid: process.pid }]) {
    await writeFile(recordPath, JSON.stringify({ ...JSON.parse(await readFile(recordPath, "utf8")), ...forged }));
    await assert.rejects(EntryPoint.adopt(entry.spec.runDir), { code: "entry-not-running" });
  }
  await writeFile(recordPath, JSON.stringify({ ...JSON.parse(await readFile(recordPath, "utf8")), ...record }));
  assert.equal((await EntryPoint.adopt(entry.spec.runDir)).pid, entry.pid);
});

test("an instance that dies under load costs no request: HAProxy retries on the other one", { skip: haproxySkip }, async (t) => {
  const entry = await startEntry(t);
  const [doomed, survivor] = [await instance(t, "doomed", { delayMs: 5 }), await instance(t, "survivor", { delayMs: 5 })];
  for (const [name, started] of [["web-1", doomed], ["web-2", survivor]] as const) await entry.add({ name, address: "127.0.0.1", port: started.port });
  for (const name of ["web-1", "web-2"]) await entry.waitUp(name, 5_000);
  const load = loadLoop(entry.spec.bind.port);
  t.after(() => load.stop());
  await sleep(300);
  // Between two health checks: HAProxy still takes it for UP and sends it requests it cannot answer.
  await doomed.close();
  await sleep(700);
  const answers = await load.stop();
  assert.deepEqual(answers.filter((answer) => answer.status !== 200), []);
  assert.ok(answers.some((answer) => answer.body === "doomed") && answers.at(-1)!.body === "survivor");
  assert.ok(await pollUntil(async () => ((await entry.server("web-1")).state === "DOWN" || undefined), { timeoutMs: 3_000 }), "never DOWN");
});
