import { test } from "node:test";
import assert from "node:assert/strict";
import { type DemoSummary, migrationsLine, shortImage, summaryTable } from "./demo-summary.ts";

const SUMMARY: DemoSummary = {
  image: { ref: "notes:1.0.0", digest: "sha256:0927", kernelBytes: 2 * 1048576, layers: [{ name: "base", size: 51_200, uncompressedSize: 80_000 }, { name: "app", size: 27_000, uncompressedSize: 120_000 }], totalBytes: 2 * 1048576 + 78_200 },
  builds: [{ ref: "notes:1.0.0", durationMs: 21_700, rebuilt: ["base", "runtime", "deps", "app"] }, { ref: "notes:1.1.0", durationMs: 480, rebuilt: ["app"] }],
  deploys: [
    { act: "v1 → dev", environment: "dev", image: "notes:1.0.0", outcome: "succeeded", bootToHealthyMs: 16_600, durationMs: 21_000 },
    { act: "v3 → test (broken)", environment: "test", image: "notes:1.2.0", outcome: "failed", reason: "its app exited with status 1", durationMs: 39_000, load: { requests: 674, failed: 0, failures: [] } },
  ],
  session: { user: "demo", signedInOn: "notes:1.0.0@sha256:0927b7df7c90", readOn: "notes:1.1.0@sha256:19df12538332", valid: true },
  migrations: { environment: "test", instances: ["i-a", "i-b"], applied: { "0001-create-note": ["i-a"] }, upToDate: ["i-b"] },
  urls: { dev: "http://127.0.0.1:40209/", test: "http://127.0.0.1:36087/" },
  logs: [],
  cleanedUp: true,
};

test("the summary table names every figure the demo took, the deploys in aligned columns", () => {
  const lines = summaryTable(SUMMARY);
  assert.equal(lines[0], "image         notes:1.0.0  2.1 MiB: kernel 2.0 MiB, base 50.0 KiB, app 26.4 KiB");
  assert.equal(lines[1], "build         notes:1.0.0 in 21.7 s (rebuilt: base, runtime, deps, app)");
  assert.equal(lines[2], "build         notes:1.1.0 in 0.5 s (rebuilt: app)");
  assert.equal(lines[3], "  deploy              outcome                    boot→healthy  requests  failed");
  assert.equal(lines[4], "  v1 → dev            serves                           16.6 s         -       -");
  assert.equal(lines[5], "  v3 → test (broken)  refused, old version kept             -       674       0");
  assert.match(lines[6]!, /^session +valid: demo signed in on notes:1\.0\.0@sha256:0927b7df7c90, still signed in on notes:1\.1\.0/);
  assert.deepEqual(lines.slice(-2), ["dev           http://127.0.0.1:40209/ (removed)", "test          http://127.0.0.1:36087/ (removed)"]);
});

test("the migrations line says who applied each one, and when the database had them already", () => {
  assert.equal(migrationsLine(SUMMARY.migrations), "applied 0001-create-note once (i-a); 2 instances started together in test, i-b found the schema up to date");
  assert.equal(migrationsLine({ ...SUMMARY.migrations, applied: { "0001-create-note": ["i-a", "i-b"] }, upToDate: [] }), "applied 0001-create-note 2 times (i-a, i-b); 2 instances started together in test");
  assert.match(migrationsLine({ ...SUMMARY.migrations, applied: {}, upToDate: ["i-a", "i-b"] }), /^none to apply \(the database had them from an earlier run\)/);
});

test("an image as the page names it is cut to 12 digits of its digest", () => {
  assert.equal(shortImage(`notes:1.1.0@sha256:${"19df12538332".padEnd(64, "a")}`), "notes:1.1.0@sha256:19df12538332");
  assert.equal(shortImage("notes:1.1.0"), "notes:1.1.0");
});
