import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeBatch, labelsOf, pushLineValues, pushRowValues, sameLabels } from "./log-batch.ts";
import type { LogLine } from "./log-line.ts";

test("a batch gives back each line's columns, names shared or not, fields as JSON", () => {
  const lines: LogLine[] = Array.from({ length: 100 }, (_, n) => ({
    timeMs: n, environment: n % 3 ? "prod" : "test", app: "web", version: `1.${n % 2}`, instance: `i-${n % 4}`, source: n % 7 ? "app" : "console",
    stream: "stdout", severity: n % 8, message: `line ${n}`, ...(n % 5 ? {} : { fields: { n } }),
  }));
  const batch = encodeBatch(lines);
  lines.forEach((line, index) => {
    const values: (string | number | null)[] = [];
    pushRowValues(batch, index, values);
    assert.deepEqual(values, [line.timeMs, line.environment, line.app, line.version, line.instance, line.source, line.stream, line.severity, line.message, line.fields ? JSON.stringify(line.fields) : null]);
    const own: (string | number | null)[] = [];
    pushLineValues(batch, index, own);
    assert.deepEqual(own, [values[0], ...values.slice(7)]);
    const { environment, app, version, instance, source, stream } = line;
    assert.deepEqual(labelsOf(batch, index), { environment, app, version, instance, source, stream });
  });
  assert.equal(sameLabels(batch, 0, 84), true);
  assert.equal(sameLabels(batch, 0, 1), false);
  assert.equal(batch.names.length, new Set(lines.flatMap((line) => [line.environment, line.app, line.version, line.instance, line.source, line.stream])).size);
});
