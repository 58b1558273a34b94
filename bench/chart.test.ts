import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { bootChart, CHART_COMMAND, charts, deployChart, type DeployResult } from "./chart.ts";

test("docs/boot-time.svg and docs/deploy-time.svg are drawn from the saved bench results", async () => {
  for (const { path, svg } of await charts()) {
    assert.equal(await readFile(path, "utf8"), svg, `${path} is stale: the bench results changed; redraw it: ${CHART_COMMAND}`);
  }
});

test("the boot chart is the default machine's phases, in boot order", () => {
  const chart = bootChart({
    machine: "2 cores, tcg",
    machineTypes: {
      command: "npm run bench:instances -- --boots 7 (sections)",
      q35: { runs: 7, healthyMs: 9, qemuToKernelMs: 9, kernelToInitMs: 9, initToAppMs: 9, appToHealthyMs: 9 },
      "q35, no SATA/SMBus": { runs: 7, healthyMs: 4469, qemuToKernelMs: 390, kernelToInitMs: 1509, initToAppMs: 53, appToHealthyMs: 2255 },
    },
  });
  assert.deepEqual(chart.phases.map((phase) => phase.ms), [390, 1509, 53, 2255]);
  assert.match(chart.caption, /median of 7 boots \(median boot 4\.47 s\), 2 cores, tcg$/);
  assert.equal(chart.command, "npm run bench:instances -- --boots 7");
});

test("the deploy chart follows a blue/green deploy's steps, and names a missing one", () => {
  const medianMs = { total: 6234, beforeBoot: 12, boot: 319, "wait-healthy": 4780, "add-to-entry": 6, "wait-up": 516, switch: 2, drain: 28, stop: 206 };
  const result: DeployResult = { command: "npm run bench:deploy", machine: "2 cores, tcg", apps: { node: { label: "examples/hello", summary: { succeeded: 5, medianMs } } } };
  assert.deepEqual(deployChart(result).phases.map((phase) => phase.ms), [12, 319, 4780, 6, 516, 2, 28, 206]);
  const { drain: _, ...withoutDrain } = medianMs;
  assert.throws(() => deployChart({ ...result, apps: { node: { label: "x", summary: { succeeded: 5, medianMs: withoutDrain } } } }), /no median for the step drain/);
});
