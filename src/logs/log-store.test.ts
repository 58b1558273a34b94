import assert from "node:assert/strict";
import { test } from "node:test";
import { tempDir } from "../../test/helpers.ts";
import type { LogLine } from "./log-line.ts";
import { queryPlan } from "./log-query.ts";
import { applyRetention, retentionPlan } from "./log-retention.ts";
import { LogStore } from "./log-store.ts";

const line = (message: string, extra: Partial<LogLine> = {}): LogLine => ({
  timeMs: 1_000, environment: "prod", app: "web", version: "1.0", instance: "i-1", source: "app", stream: "stdout", severity: 6, message, ...extra,
});

async function withStore(work: (store: LogStore) => void | Promise<void>, options: { grepScanFirstLines?: number } = {}): Promise<void> {
  const folder = await tempDir("logstore");
  const store = LogStore.open(folder.path, options);
  try {
    await work(store);
  } finally {
    store.close();
    await folder.remove();
  }
}

test("lines are written in one batch per turn, found by every filter, newest N in ascending order", () => withStore((store) => {
  store.append(line("GET /a took 5ms", { timeMs: 1 }));
  store.append(line("db timeout", { timeMs: 2, severity: 3, instance: "i-2", version: "2.0" }));
  store.append(line("kernel: booted", { timeMs: 3, source: "console", environment: "test" }));
  store.append(line('{"msg":"x"}', { timeMs: 4, fields: { user: "ann" } }));
  store.flush();
  const messages = (query: Parameters<LogStore["query"]>[0]) => store.query(query).map((stored) => stored.message);
  assert.deepEqual(messages({}), ["GET /a took 5ms", "db timeout", "kernel: booted", '{"msg":"x"}']);
  assert.deepEqual(messages({ limit: 2 }), ["kernel: booted", '{"msg":"x"}']);
  assert.deepEqual(messages({ environment: "prod", maxSeverity: 4 }), ["db timeout"]);
  assert.deepEqual(messages({ instance: "i-2" }), ["db timeout"]);
  assert.deepEqual(messages({ image: "web:2.0" }), ["db timeout"]);
  assert.deepEqual(messages({ sources: ["console"] }), ["kernel: booted"]);
  assert.deepEqual(messages({ sinceMs: 2, untilMs: 3 }), ["db timeout", "kernel: booted"]);
  assert.deepEqual(store.query({ instance: "i-1", environment: "prod", limit: 1 })[0]!.fields, { user: "ann" });
}));

test("grep finds substrings through the index, in the unindexed tail, and for short or wildcard text", () => withStore((store) => {
  for (const message of ["GET /users 200", "request TIMEOUT after 5s", "50% done", "ok"]) store.append(line(message));
  store.flush();
  const grep = (text: string) => store.query({ grep: text }).map((stored) => stored.message);
  // Before the indexer ran: all by scan.
  assert.deepEqual(grep("timeout"), ["request TIMEOUT after 5s"]);
  assert.equal(store.indexStep(), 4);
  store.append(line("another timeout"));
  store.flush();
  assert.deepEqual(grep("timeout"), ["request TIMEOUT after 5s", "another timeout"]);
  assert.deepEqual(grep("sers 2"), ["GET /users 200"]);
  assert.deepEqual(grep("ok"), ["ok"]);
  assert.deepEqual(grep("50%"), ["50% done"]);
  assert.match(queryPlan({ grep: "timeout" }, 4).sql, /lines_text WHERE message LIKE @pattern/);
  assert.doesNotMatch(queryPlan({ grep: "timeout" }, 4, 3).sql, /lines_text/);
  // Common text fills the answer from the newest lines alone.
  assert.deepEqual(store.query({ grep: "o", limit: 1 }).map((stored) => stored.message), ["another timeout"]);
}, { grepScanFirstLines: 1 }));

test("followers get each batch as it is written", () => withStore((store) => {
  const seen: string[] = [];
  const unsubscribe = store.subscribe((lines) => seen.push(...lines.map((stored) => stored.message)));
  store.append(line("one"));
  store.append(line("two"));
  store.flush();
  unsubscribe();
  store.append(line("three"));
  store.flush();
  assert.deepEqual(seen, ["one", "two"]);
}));

test("retention deletes by age, then the oldest lines of an environment over its size, and reports usage", () => withStore((store) => {
  for (let index = 0; index < 10; index++) store.append(line(`line ${index}`, { timeMs: index * 1000 }));
  store.append(line("other env", { environment: "test", timeMs: 0 }));
  store.flush();
  store.indexStep();
  const before = store.usage();
  assert.deepEqual(before.environments.map((entry) => [entry.environment, entry.lines]), [["prod", 10], ["test", 1]]);
  assert.ok(before.fileBytes > 0);
  const perLine = before.environments[0]!.bytes / 10;
  const plan = retentionPlan(before.environments, (environment) => (environment === "prod" ? { maxAgeMs: 8000, maxBytes: perLine * 5 } : { maxAgeMs: 1e12, maxBytes: 1e12 }), 10_000);
  assert.deepEqual(plan[1], { kind: "shrink", environment: "prod", maxBytes: perLine * 5 });
  assert.equal(applyRetention(store, plan), 5);
  assert.deepEqual(store.query({ environment: "prod" }).map((stored) => stored.message), ["line 5", "line 6", "line 7", "line 8", "line 9"]);
  assert.deepEqual(store.query({ grep: "line 2" }), []);
  assert.equal(store.usage().environments[0]!.lines, 5);
  assert.equal(store.query({ environment: "test" }).length, 1);
}));

test("append asks its caller to wait while the writer is behind, and no line is lost", () => withStore(async (store) => {
  let full = 0;
  for (let index = 0; index < 120_000; index++) {
    if (!store.append(line(`line ${index}`))) {
      full++;
      await store.whenRoom();
    }
  }
  assert.ok(full > 0, "append never reported a full backlog");
  assert.equal(store.whenRoom(), undefined);
  store.flush();
  assert.equal(store.usage().environments[0]!.lines, 120_000);
  assert.deepEqual(store.query({ limit: 2 }).map((stored) => [stored.id, stored.message]), [[119_999, "line 119998"], [120_000, "line 119999"]]);
}));

test("lines appended before close are stored, and a follower sees them with their ids in order", async () => {
  const folder = await tempDir("logstore");
  try {
    const store = LogStore.open(folder.path);
    const ids: number[] = [];
    store.subscribe((lines) => ids.push(...lines.map((stored) => stored.id)));
    // Runs of one instance (its names bound once a statement) between lines of alternating ones.
    for (let index = 0; index < 25_000; index++) store.append(line(`line ${index}`, { instance: index % 1000 < 500 ? "i-1" : `i-${index % 3}` }));
    store.close();
    assert.deepEqual(ids, Array.from({ length: 25_000 }, (_, index) => index + 1));
    const reopened = LogStore.open(folder.path);
    assert.equal(reopened.usage().environments[0]!.lines, 25_000);
    assert.deepEqual(reopened.query({ limit: 3 }).map((stored) => [stored.id, stored.instance, stored.message]), [[24_998, "i-1", "line 24997"], [24_999, "i-2", "line 24998"], [25_000, "i-0", "line 24999"]]);
    assert.deepEqual(reopened.query({ instance: "i-1", limit: 1_000_000 }).map((stored) => stored.message).slice(0, 3), ["line 0", "line 1", "line 2"]);
    reopened.close();
  } finally {
    await folder.remove();
  }
});

test("written() waits without blocking; a follower that subscribes while lines are in flight gets them with their ids", () => withStore(async (store) => {
  for (let index = 0; index < 3; index++) store.append(line(`early ${index}`));
  // Posted to the writer with nobody listening (the lines are not kept), then a follower comes.
  const written = store.written();
  const seen: [number, string][] = [];
  store.subscribe((lines) => seen.push(...lines.map((stored): [number, string] => [stored.id, stored.message])));
  await written;
  assert.deepEqual(seen, [[1, "early 0"], [2, "early 1"], [3, "early 2"]]);
  assert.equal(store.query({}).length, 3);
}));
