import assert from "node:assert/strict";
import { test } from "node:test";
import { accessRecord } from "./access-record.ts";

const message = '127.0.0.1:45188 [01/Dec/2026:08:16:54.547] prod prod/slot1 0/0/1/6/7 200 102 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1"';

test("a request's slot, status and times are read from its structured data", () => {
  const fields = { sd: { "request@32473": { server: "slot3", status: "504", tr: "-1", ta: "60002" } } };
  assert.deepEqual(accessRecord({ source: "entry", message, fields }), { server: "slot3", status: 504, responseMs: -1, totalMs: 60_002 });
  // The structured data wins over the message, whatever the message's format.
  assert.deepEqual(accessRecord({ source: "entry", message: "GET / 200", fields }), { server: "slot3", status: 504, responseMs: -1, totalMs: 60_002 });
  assert.equal(accessRecord({ source: "entry", message, fields: { sd: { "request@32473": { server: "slot3", status: "", tr: "1", ta: "1" } } } }), undefined);
});

test("without structured data (an entry point an older ingot started) the httplog message is read", () => {
  assert.deepEqual(accessRecord({ source: "entry", message }), { server: "slot1", status: 200, responseMs: 6, totalMs: 7 });
  assert.deepEqual(accessRecord({ source: "entry", message: '127.0.0.1:45190 [01/Dec/2026:08:16:54.547] staging staging/<NOSRV> 0/-1/-1/-1/0 503 217 - - SC-- 1/1/0/0/0 0/0 "GET / HTTP/1.1"' }),
    { server: "<NOSRV>", status: 503, responseMs: -1, totalMs: 0 });
  // option logasap: the total time is a lower bound, written with a +.
  assert.deepEqual(accessRecord({ source: "entry", message: '[::1]:3 [01/Dec/2026:08:16:54.547] web~ web/slot2 0/0/0/12/+40 200 1 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1"' }),
    { server: "slot2", status: 200, responseMs: 12, totalMs: 40 });
});

test("lines that are not the entry point's requests are no records", () => {
  assert.equal(accessRecord({ source: "app", message }), undefined);
  assert.equal(accessRecord({ source: "entry", message: "Server prod/slot1 is UP, reason: Layer7 check passed" }), undefined);
});
