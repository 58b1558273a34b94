// Bad input to deploys, through bin/ingot: each is refused before any work with what is wrong and
// what to do, and nothing changes (no deploy recorded, no instance, no entry point).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { totalmem } from "node:os";
import { buildImage } from "../../src/image/build.ts";
import { elfServerApp, sharedTestVault } from "../helpers.ts";
import { testHome } from "../control-plane.ts";

test("a deploy with an unknown environment, a missing image, a taken entry port, no port or more memory than the host has is refused before any work, changing nothing", async (t) => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => taken.close(() => resolve())));
  const takenPort = (taken.address() as { port: number }).port;
  const vault = await sharedTestVault();
  const images: Record<string, string> = {};
  for (const [label, yaml] of [
    ["taken-port", `name: refusal-test\nversion: 1.0.0\nruntime: elf\ncommand: [./server]\nports:\n  http: 8080\nresources:\n  memory: 128M\nenvironments:\n  dev:\n    port: ${takenPort}\n`],
    ["no-port", "name: refusal-test\nversion: 2.0.0\nruntime: elf\ncommand: [./server]\nhealthcheck: false\nresources:\n  memory: 128M\n"],
    // 16 instances of an eighth of the host's memory each: twice what any host has.
    ["too-big", `name: refusal-test\nversion: 3.0.0\nruntime: elf\ncommand: [./server]\nports:\n  http: 8080\nenvironments:\n  dev:\n    instances: 16\n    memory: ${Math.floor(totalmem() / 2 ** 20 / 8)}M\n`],
  ]) {
    const app = await elfServerApp("ingot-refusal-app-", yaml!);
    images[label!] = (await buildImage(app.path, { vault })).digest;
    await app.remove();
  }
  const home = await testHome(t, vault, "ingot-refusal-");
  const { ingot } = home;
  const refusals: [string[], RegExp, RegExp][] = [
    [["deploy", images["taken-port"]!, "--env", "staging"], /Cannot find environment staging as it does not exist: known are dev, test, prod/, /ingot env ls/],
    [["deploy", "no-such-image:1.0.0", "--env", "dev"], /no-such-image/, /ingot images|build/i],
    [["deploy", images["taken-port"]!, "--env", "dev"], new RegExp(`Cannot bind the entry point of dev to 127\\.0\\.0\\.1:${takenPort} as it is in use`), /environments\.<name>\.port/],
    [["deploy", images["no-port"]!, "--env", "dev"], /declares no port for the entry point/, /ports:/],
    [["deploy", images["too-big"]!, "--env", "dev"], /Cannot deploy refusal-test:3\.0\.0 to dev as 16 instances of \d+ MiB need \d+ MiB with QEMU's own, and the host has \d+ MiB available/, /Lower instances or memory/],
    [["rollback", "--env", "dev"], /Cannot roll dev back as no earlier deploy there succeeded/, /history/],
    [["promote", "--from", "test", "--to", "prod"], /Cannot promote from test as no image has become healthy there/, /ingot deploy IMAGE --env test/],
    [["deploy", images["taken-port"]!], /needs --env/, /--env/],
  ];
  for (const [args, message, hint] of refusals) {
    const result = await ingot(...args);
    assert.notEqual(result.code, 0, `ingot ${args.join(" ")} must fail`);
    assert.match(result.stderr, message, `ingot ${args.join(" ")}`);
    assert.match(result.stderr.split("\n").find((line) => line.startsWith("hint:")) ?? "", hint, `the hint of ingot ${args.join(" ")}: ${result.stderr}`);
  }
  for (const environment of ["dev", "test", "prod"]) {
    assert.deepEqual(JSON.parse((await ingot("history", "--env", environment, "--json")).stdout), [], `no deploy recorded in ${environment}`);
  }
  assert.deepEqual(JSON.parse((await ingot("ps", "--json")).stdout), [], "no instance");
  const statuses = JSON.parse((await ingot("status", "--json")).stdout) as { entryUrl: string | null }[];
  assert.deepEqual(statuses.map((status) => status.entryUrl), [null, null, null], "no entry point");
});
