import assert from "node:assert/strict";
import { test } from "node:test";
import type { EventRecord } from "../state/events.ts";
import { eventLines } from "./events.ts";

const at = Date.parse("2026-12-01T10:00:01.204Z");
const event = (kind: string, data: Record<string, unknown>, fields: Partial<EventRecord> = {}): EventRecord => ({ id: 1, timeMs: at, environment: "prod", instance: null, deployment: 4, kind, data, ...fields });

test("a failed instance reads as one line with its reason, its last console lines indented under it, escaped", () => {
  assert.deepEqual(eventLines(event("instance-state", { state: "failed", was: "healthy", reason: "its app exited with status 1", lastLines: ["elf-server: exiting with status 1", "\x1b[2Jreboot"] }, { instance: "i-3f2a8c01" })), [
    "2026-12-01 10:00:01.204  i-3f2a8c01  healthy → failed: its app exited with status 1",
    "    | elf-server: exiting with status 1",
    "    | \\x1b[2Jreboot",
  ]);
  assert.deepEqual(eventLines(event("instance-state", { state: "healthy", was: "booting" }, { instance: "i-1" })), ["2026-12-01 10:00:01.204  i-1         booting → healthy"]);
});

test("replacements, a crash loop and its end, and a deploy's steps read as sentences", () => {
  assert.deepEqual(eventLines(event("capacity-replace", { instances: ["i-9c1d0b7e"], have: 0, want: 1, configVersion: 2 })), [
    "2026-12-01 10:00:01.204  i-9c1d0b7e  replacing: 0 of 1 instances of deploy 4 run; starting these (config v2)",
  ]);
  assert.deepEqual(eventLines(event("scale", { from: 1, to: 3, imageInstances: 1, scaled: true })), ["2026-12-01 10:00:01.204  -           scale: 1 → 3 instances (the image says 1)"]);
  assert.deepEqual(eventLines(event("capacity-reduce", { instances: ["i-1", "i-2"], have: 3, want: 1 })), ["2026-12-01 10:00:01.204  i-1, i-2    reducing: 3 instances run of 1 wanted; draining and stopping these"]);
  assert.match(eventLines(event("environment-degraded", { summary: "3 instances of hello:2.0.0 failed within 5 min; last: its app exited with status 1" }))[0]!,
    /^2026-12-01 10:00:01\.204 {2}- {11}degraded: 3 instances of hello:2\.0\.0 failed within 5 min; last: its app exited with status 1; its instances are no longer replaced until a deploy or ingot stop$/);
  assert.match(eventLines(event("environment-removed", { instances: ["i-1"], entryPoint: { url: "http://127.0.0.1:8080/", pid: 9 }, accessories: [{ name: "db", dataKept: false }], variables: 2, secrets: 0 }))[0]!,
    /i-1 +removed by ingot env rm: 1 instance\(s\) stopped, entry point http:\/\/127\.0\.0\.1:8080\/ ended, accessory db removed \(data deleted\), 2 variable\(s\) and 0 secret\(s\) deleted$/);
  assert.match(eventLines(event("degraded-cleared", { reason: "deploy 5 of hello:2.0.1 succeeded" }))[0]!, /no longer degraded: deploy 5 of hello:2\.0\.1 succeeded$/);
  assert.match(eventLines(event("deploy-step", { type: "step", phase: "deploy", index: 0, kind: "boot", instances: ["i-1", "i-2"], status: "done", durationMs: 3200 }))[0]!, / {2}- {11}boot i-1, i-2: done in 3\.2 s$/);
  assert.match(eventLines(event("deploy-finished", { type: "finished", outcome: "failed", durationMs: 1, reason: "GET / did not pass" }))[0]!, /deploy 4 failed: GET \/ did not pass$/);
  assert.deepEqual(eventLines(event("deploy-console", { type: "console", instance: "i-1", lines: ["a"] })).slice(1), ["    | a"]);
  assert.match(eventLines(event("something-new", { x: 1 }))[0]!, /something-new \{"x":1\}$/);
});

test("an entry point started again, or not, reads with its pids, its downtime and what it put back", () => {
  assert.match(eventLines(event("entry-restarted", { pid: 812, previousPid: 640, downMs: 211, attempt: 1, restoredSlots: [{ instance: "i-1" }, { instance: "i-2" }] }))[0]!,
    /- {11}entry point gone \(HAProxy pid 640\), started again as pid 812 after 211 ms; 2 instance\(s\) put back$/);
  assert.match(eventLines(event("entry-restart-failed", { previousPid: 640, attempt: 2, retryInMs: 1000, error: "port 8080 is in use" }))[0]!,
    /entry point gone \(HAProxy pid 640\) and not started again \(attempt 2, next in 1000 ms\): port 8080 is in use$/);
});

test("a canary's split, its share when HAProxy's weights cannot give it exactly, its plan and the judge's verdict read as sentences", () => {
  const split = { type: "canary", instances: ["i-c1"], percent: 25, sinceMs: at, auto: { windowMs: 300_000 } };
  assert.match(eventLines(event("deploy-canary", { ...split, weights: { canary: 1, old: 3, percent: 25 } }))[0]!,
    /canary i-c1 takes 25% of the requests \(weights 1 against 3 per old instance\), judged by ingot for 5 min$/);
  assert.match(eventLines(event("deploy-canary", { ...split, percent: 5, auto: null, weights: { canary: 1, old: 256, percent: 11.1 } }))[0]!,
    /takes 5% of the requests \(weights 1 against 256 per old instance, the nearest share they allow: 11\.1%\)$/);
  assert.match(eventLines(event("deploy-plan", { type: "plan", stage: "deploy", steps: [{ kind: "switch", instances: ["g1"], replacing: ["b1"] }, { kind: "drain", instances: ["b1"], timeoutMs: 1 }] }))[0]!, /deploy plan: 2 steps, 1 switch$/);
  assert.match(eventLines(event("canary-judged", { verdict: "abort", reason: "canary 5xx 9.8% (49 of 500) against 0.0% (0 of 1500) for 1.0.0" }))[0]!,
    /ingot's judge: abort the canary of deploy 4: canary 5xx 9\.8% \(49 of 500\)/);
});
