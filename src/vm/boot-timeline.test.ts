import { test } from "node:test";
import assert from "node:assert/strict";
import { bootTimeline, describeTimeline } from "./boot-timeline.ts";

test("the breakdown comes from init's uptime stamps and the host times the lines arrived", () => {
  const timeline = bootTimeline([
    { atMs: 300, line: "SeaBIOS (version 1.16.2)" },
    { atMs: 2600, line: "ingot-init: [2.100] init started (env dev, hostname ingot)" },
    { atMs: 2700, line: "ingot-init: [2.200] modules loaded 9, failed 0" },
    { atMs: 2800, line: "ingot-init: [2.300] starting app: node server.js as 1000:1000" },
  ], 5000);
  assert.deepEqual(timeline, { qemuToKernelMs: 500, kernelToInitMs: 2100, initToAppMs: 200, appToHealthyMs: 2200, totalMs: 5000 });
  assert.equal(describeTimeline(timeline!), "QEMU start 0.5 s → kernel 2.1 s → init 0.2 s → app 2.2 s = 5.0 s to healthy");
});

test("no breakdown without init's lines", () => {
  assert.equal(bootTimeline([{ atMs: 100, line: "Booting from ROM..." }], 900), undefined);
});
