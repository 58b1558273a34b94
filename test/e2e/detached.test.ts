// End to end: an instance the control plane owns outlives the process that booted it, and another
// process adopts it from its record, reads its console and stops it gracefully.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { rm } from "node:fs/promises";
import { buildImage } from "../../src/image/build.ts";
import { isRunning } from "../../src/process/process-identity.ts";
import { type DetachedRecord, DetachedVm } from "../../src/vm/detached-vm.ts";
import type { PortForward } from "../../src/vm/qemu-args.ts";
import { elfServerApp, sharedTestVault, waitForHttp } from "../helpers.ts";

test("a detached instance keeps serving after the process that booted it exits, and is adopted and stopped by another", async (t) => {
  const app = await elfServerApp("ingot-detached-", "name: detached\nversion: 1.0.0\nruntime: elf\ncommand: [./server]\nports:\n  http: 8080\nresources:\n  memory: 128M\nstopTimeout: 2s\n");
  t.after(app.remove);
  const vault = await sharedTestVault();
  const { digest } = await buildImage(app.path, { vault });

  const output = execFileSync("node", ["--import", "tsx", "test/fixtures/boot-detached.ts", vault.root, digest], { encoding: "utf8", timeout: 120_000 });
  const { record, forwards, runFolder } = JSON.parse(output.trim().split("\n").at(-1)!) as { record: DetachedRecord; forwards: PortForward[]; runFolder: string };
  t.after(async () => {
    if (await isRunning(record)) process.kill(record.pid, "SIGKILL");
    await rm(runFolder, { recursive: true, force: true });
  });
  assert.equal(await waitForHttp(`http://127.0.0.1:${forwards[0]!.hostPort}/`, 120_000), "elf ok uid=1000\n", "it serves with its starter gone");

  const vm = await DetachedVm.adopt(record);
  await vm.waitForLine(/ingot-init: \[[\d.]+\] starting app/, 10_000);
  await vm.stop(15_000);
  assert.equal(vm.state, "stopped");
  assert.equal(await isRunning(record), false, "QEMU is gone");
  assert.equal(vm.appStatus, 143, `init reported the app's end:\n${vm.console.slice(-10).join("\n")}`);
  await assert.rejects(DetachedVm.adopt(record), (error: Error & { code?: string }) => error.code === "instance-gone");
});
