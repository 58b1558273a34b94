import assert from "node:assert/strict";
import { test } from "node:test";
import type { LogLine } from "../log-line.ts";
import { type ForwardTarget, parseForwardTarget } from "./forward-target.ts";
import type { LogForwarder } from "./log-forwarder.ts";
import { forwardingFor } from "./log-forwarding.ts";

const LINE: LogLine = { timeMs: 0, environment: "prod", app: "web", version: "1", instance: "i-1", source: "app", stream: "stdout", severity: 6, message: "hi" };
const target = (url: string): ForwardTarget => parseForwardTarget(url).target!;

/** Forwarders that record what they were sent and whether they were closed. */
function recording(): { create: (target: ForwardTarget) => LogForwarder; sent: Map<string, string[]>; closed: string[]; created: string[] } {
  const sent = new Map<string, string[]>();
  const closed: string[] = [];
  const created: string[] = [];
  const create = (forwardTarget: ForwardTarget): LogForwarder => {
    created.push(forwardTarget.url);
    return {
      target: forwardTarget,
      send: (line) => sent.set(forwardTarget.url, [...(sent.get(forwardTarget.url) ?? []), `${line.environment}:${line.message}`]),
      close: async () => { closed.push(forwardTarget.url); },
      counters: { sent: 0, queued: 0, dropped: 0, errors: 0, connected: false },
    };
  };
  return { create, sent, closed, created };
}

test("each line goes to its environment's targets; a target two environments name has one forwarder", async () => {
  const peers = recording();
  const targets: Record<string, ForwardTarget[]> = { prod: [target("syslog+tcp://a:514"), target("otlp+http://b:4318")], test: [target("syslog+tcp://a:514")] };
  const forwarding = forwardingFor((environment) => targets[environment] ?? [], { createForwarder: peers.create });
  forwarding.forward(LINE);
  forwarding.forward({ ...LINE, environment: "test" });
  forwarding.forward({ ...LINE, environment: "dev" });
  assert.deepEqual(Object.fromEntries(peers.sent), { "syslog+tcp://a:514": ["prod:hi", "test:hi"], "otlp+http://b:4318": ["prod:hi"] });
  assert.deepEqual(peers.created, ["syslog+tcp://a:514", "otlp+http://b:4318"]);
  assert.deepEqual(forwarding.status().map((status) => [status.url, status.environments]), [["syslog+tcp://a:514", ["prod", "test"]], ["otlp+http://b:4318", ["prod"]]]);
  await forwarding.close();
  assert.deepEqual(peers.closed.sort(), ["otlp+http://b:4318", "syslog+tcp://a:514"]);
});

test("the callback is asked once per environment until refresh() or the cache's age; a target no environment names is closed", () => {
  const peers = recording();
  let asked = 0;
  let targets: ForwardTarget[] = [target("syslog+tcp://a:514")];
  let nowMs = 0;
  const forwarding = forwardingFor(() => { asked++; return targets; }, { createForwarder: peers.create, now: () => nowMs });
  for (let index = 0; index < 100; index++) forwarding.forward(LINE);
  assert.equal(asked, 1);
  targets = [target("syslog+tcp://b:514")];
  forwarding.refresh();
  assert.deepEqual(peers.closed, ["syslog+tcp://a:514"]);
  forwarding.forward(LINE);
  targets = [];
  nowMs = 60_000;
  forwarding.forward(LINE);
  assert.deepEqual(peers.closed, ["syslog+tcp://a:514", "syslog+tcp://b:514"]);
  assert.deepEqual(Object.fromEntries(peers.sent), { "syslog+tcp://a:514": Array(100).fill("prod:hi"), "syslog+tcp://b:514": ["prod:hi"] });
});

test("a callback that throws keeps the environment's forwarders and is reported, never thrown", () => {
  const peers = recording();
  let failing = false;
  let nowMs = 0;
  const forwarding = forwardingFor(() => { if (failing) throw new Error("state unreadable"); return [target("syslog+tcp://a:514")]; }, { createForwarder: peers.create, now: () => nowMs });
  forwarding.forward(LINE);
  failing = true;
  nowMs = 60_000;
  forwarding.forward(LINE);
  assert.equal(forwarding.lastError, "state unreadable");
  assert.deepEqual(peers.sent.get("syslog+tcp://a:514"), ["prod:hi", "prod:hi"]);
});

test("a syslog target on ingot's own listener is refused, so lines do not come back and go round", () => {
  const peers = recording();
  const forwarding = forwardingFor(() => [target("syslog+tcp://127.0.0.1:5140"), target("syslog+tcp://logs:5140")], { createForwarder: peers.create });
  forwarding.avoidLoopTo(5140);
  forwarding.forward(LINE);
  assert.deepEqual(peers.created, ["syslog+tcp://logs:5140"]);
  assert.equal(forwarding.lastError, "Cannot forward the logs of prod to syslog+tcp://127.0.0.1:5140 as it is ingot's own log listener");
});
