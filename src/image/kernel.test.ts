import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findKernel, moduleLoadOrder } from "./kernel.ts";

test("the newest installed cloud kernel is found, with its modules folder", async () => {
  const kernel = await findKernel();
  assert.match(kernel.version, /-cloud-amd64$/);
  assert.equal(kernel.modulesDir, `/lib/modules/${kernel.version}`);
});

test("virtio modules load after their dependencies", async () => {
  const kernel = await findKernel();
  const order = await moduleLoadOrder(kernel.modulesDir);
  const position = (name: string) => order.findIndex((path) => path.endsWith(`/${name}.ko`));
  for (const name of ["virtio", "virtio_ring", "virtio_pci", "virtio_net", "failover", "net_failover"]) assert.ok(position(name) >= 0, `${name} is loaded`);
  assert.ok(position("virtio") < position("virtio_pci"));
  assert.ok(position("virtio_ring") < position("virtio_net"));
  assert.ok(position("failover") < position("net_failover"));
  assert.ok(position("net_failover") < position("virtio_net"));
  assert.equal(new Set(order).size, order.length);
});

test("no kernel installed is an error that says how to install one", async (t) => {
  const empty = await mkdtemp(join(tmpdir(), "ingot-boot-"));
  t.after(() => rm(empty, { recursive: true }));
  await assert.rejects(findKernel(undefined, empty), (error: Error & { hint?: string }) =>
    /no Debian cloud kernel/.test(error.message) && /apt-get install linux-image-cloud-amd64/.test(error.hint ?? ""));
  await assert.rejects(findKernel("9.9.9-nope"), /does not exist/);
});
