import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findKernel, moduleLoadOrder } from "./kernel.ts";

test("ingot's own kernel comes first, without modules; the newest cloud kernel is the fallback", async (t) => {
  const places = { kernels: await mkdtemp(join(tmpdir(), "ingot-kernels-")), boot: "/boot" };
  t.after(() => rm(places.kernels, { recursive: true }));
  const cloud = await findKernel(undefined, places);
  assert.match(cloud.version, /-cloud-amd64$/);
  assert.equal(cloud.modulesDir, `/lib/modules/${cloud.version}`);

  for (const release of ["6.1.9-ingot", "6.1.192-ingot"]) {
    await mkdir(join(places.kernels, release));
    await copyFile(cloud.path, join(places.kernels, release, "vmlinux"));
    await writeFile(join(places.kernels, release, "config"), "CONFIG_X86_64=y\n# CONFIG_MODULES is not set\n");
  }
  await writeFile(join(places.kernels, "6.1.192-ingot", "source"), "linux-source-6.1 6.1.192-2\n");
  await mkdir(join(places.kernels, "6.2.0-ingot.tmp")); // a half-done install is never picked
  const own = await findKernel(undefined, places);
  assert.deepEqual(own, {
    version: "6.1.192-ingot", path: join(places.kernels, "6.1.192-ingot", "vmlinux"), builtFrom: "linux-source-6.1 6.1.192-2",
    configPath: join(places.kernels, "6.1.192-ingot", "config"),
  });
  assert.equal((await findKernel("6.1.9-ingot", places)).path, join(places.kernels, "6.1.9-ingot", "vmlinux"));
  assert.deepEqual(await findKernel(cloud.version, places), cloud);
  assert.deepEqual(await findKernel(cloud.path, places), cloud);
});

test("virtio modules load after their dependencies", async () => {
  const kernel = await findKernel(undefined, { kernels: "/nonexistent", boot: "/boot" });
  assert.ok(kernel.modulesDir);
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
  await assert.rejects(findKernel(undefined, { kernels: empty, boot: empty }), (error: Error & { hint?: string }) =>
    /neither ingot's kernel .* nor a Debian cloud kernel/.test(error.message) && /scripts\/setup.sh.*apt-get install linux-image-cloud-amd64/.test(error.hint ?? ""));
  await assert.rejects(findKernel("9.9.9-nope"), /does not exist: looked for .*9.9.9-nope\/vmlinux, \/boot\/vmlinuz-9.9.9-nope/);
});
