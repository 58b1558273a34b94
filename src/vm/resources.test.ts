import { test } from "node:test";
import assert from "node:assert/strict";
import { assertResources } from "./resources.ts";

const host = { cores: 8, memoryMiB: 4096 };
const outOfRange = (message: RegExp) => (error: Error & { code?: string }) => error.code === "resources-out-of-range" && message.test(error.message);

test("CPUs from 1 to the host's cores, at most 64", () => {
  assertResources({ cpus: 8, memoryMiB: 256 }, host);
  assert.throws(() => assertResources({ cpus: 0, memoryMiB: 256 }, host), outOfRange(/0 CPUs as this machine allows 1 to 8/));
  assert.throws(() => assertResources({ cpus: 9, memoryMiB: 256 }, host), outOfRange(/9 CPUs/));
  assert.throws(() => assertResources({ cpus: 1.5, memoryMiB: 256 }, host), outOfRange(/1.5 CPUs/));
  assert.throws(() => assertResources({ cpus: 65, memoryMiB: 256 }, { cores: 128, memoryMiB: 4096 }), outOfRange(/allows 1 to 64/));
});

test("memory from 16 MiB to the host's memory", () => {
  assertResources({ cpus: 1, memoryMiB: 4096 }, host);
  assert.throws(() => assertResources({ cpus: 1, memoryMiB: 4097 }, host), outOfRange(/4097 MiB of memory as this machine allows 16 to 4096 MiB/));
  assert.throws(() => assertResources({ cpus: 1, memoryMiB: 0 }, host), outOfRange(/0 MiB/));
});

test("only what is given is checked: the CLI checks its flags before a build", () => {
  assertResources({ cpus: 2 }, host);
  assert.throws(() => assertResources({ memoryMiB: 99999 }, host), outOfRange(/99999 MiB/));
});
