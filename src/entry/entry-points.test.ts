import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { hasExited } from "../process/process-identity.ts";
import { freePort } from "../vm/free-port.ts";
import { get, haproxySkip } from "./entry-fixtures.ts";
import { EntryPoints } from "./entry-points.ts";

test("remove ends an environment's HAProxy for good: its port refuses, its folder is gone, a restarted server finds nothing", { skip: haproxySkip }, async (t) => {
  const root = await mkdtemp(join(tmpdir(), "ingot-entry-points-"));
  const entryPoints = new EntryPoints(root);
  const port = await freePort();
  const entry = await entryPoints.ensure({ environment: "dev", bind: { address: "127.0.0.1", port }, healthcheck: false, drainTimeoutMs: 1_000 });
  // By the object, not by the name: a removal that failed may have forgotten it and left it running.
  t.after(async () => {
    await entry.stop();
    await rm(root, { recursive: true, force: true });
  });
  assert.equal((await get(port, false)).status, 503, "it answers before the removal");
  const process = { pid: entry.pid, startTime: entry.startTime };

  assert.equal(await entryPoints.remove("dev"), entry);
  // Ended, not merely forgotten (a zombie until this test process reaps it: it started it).
  assert.equal(await hasExited(process), true, `HAProxy pid ${process.pid} is gone`);
  assert.equal((await get(port, false)).status, 0, "the port refuses connections");
  assert.equal(entryPoints.get("dev"), undefined);
  assert.equal(existsSync(entryPoints.runDir("dev")), false);
  assert.deepEqual(await new EntryPoints(root).adoptAll(), [], "a restarted server adopts nothing");
  assert.equal(await entryPoints.remove("dev"), undefined, "a second removal is harmless");
});
