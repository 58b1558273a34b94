// End to end: images built by ingot boot under real QEMU and answer HTTP through a forwarded port.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFile, cp, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildImage, type BuildResult } from "../../src/image/build.ts";
import { findKernel } from "../../src/image/kernel.ts";
import type { Vault } from "../../src/vault/vault.ts";
import { bootImage, sharedTestVault, tempDir, waitForHttp } from "../helpers.ts";

let vault: Vault;
before(async () => {
  vault = await sharedTestVault();
});

test("the example Node app boots ingot's own kernel and answers HTTP, as the unprivileged app user", async (t) => {
  const built: BuildResult = await buildImage("examples/hello", { vault });
  assert.match(built.manifest.kernel.version, /-ingot$/, "ingot's kernel is the default (scripts/setup.sh builds it)");
  for (const layer of built.manifest.layers.filter((layer) => layer.name !== "runtime")) {
    const unpacked = execFileSync("zstd", ["-dc", vault.blobPath(layer.digest)], { maxBuffer: 64 * 1024 * 1024 });
    assert.equal(unpacked.includes(process.cwd()) || unpacked.includes(vault.root), false, `no build-host path in layer ${layer.name}`);
  }
  const booted = await bootImage(vault, built.digest);
  t.after(booted.close);
  const health = JSON.parse(await waitForHttp(`${booted.url(8080)}/health`, 120_000, booted.vm)) as { status: string };
  assert.equal(health.status, "ok");
  assert.equal(await waitForHttp(`${booted.url(8080)}/`, 5_000), "Hello from hello (dev)\n");
  assert.ok(booted.vm.console.some((line) => /starting app: node server.js as 1000:1000/.test(line)), booted.vm.console.join("\n"));
  assert.ok(booted.vm.console.some((line) => /modules: none/.test(line)), "a kernel without modules gets no module list");
});

test("an ELF program with its shared libraries boots the Debian cloud kernel with its virtio modules, from an initrd", async (t) => {
  const app = await tempDir("ingot-elf-");
  t.after(app.remove);
  execFileSync("gcc", ["-O2", "-o", join(app.path, "server"), "test/fixtures/http-server.c"]);
  await writeFile(join(app.path, "ingot.yaml"), "name: elf-server\nversion: 1.0.0\nruntime: elf\ncommand: [./server]\nports:\n  http: 8080\nresources:\n  memory: 128M\n");
  await copyFile("test/fixtures/http-server.c", join(app.path, "server.c"));
  const cloudKernel = await findKernel(undefined, { kernels: "/nonexistent", boot: "/boot" });
  // Its virtio, EROFS and dm-verity drivers are modules: verified disks need them built in.
  await assert.rejects(buildImage(app.path, { vault, kernel: cloudKernel.path }), (error: Error & { code?: string }) =>
    error.code === "kernel-lacks-disk-support" && /CONFIG_VIRTIO_BLK=y \(the layers' virtio disks\)/.test(error.message) && /CONFIG_DM_VERITY=y/.test(error.message) && /--initrd/.test(String((error as { hint?: string }).hint)));
  const built = await buildImage(app.path, { vault, kernel: cloudKernel.path, form: "initrd" });
  assert.ok(built.layers.some((layer) => layer.name === "runtime"), "libc and the loader make a runtime layer");
  assert.equal(built.manifest.kernel.format, "vmlinux.xz", "the kernel is stored as vmlinux.xz and boots through PVH");
  const booted = await bootImage(vault, built.digest);
  t.after(booted.close);
  assert.equal(await waitForHttp(booted.url(8080), 90_000, booted.vm), "elf ok uid=1000\n");
  assert.ok(booted.vm.console.some((line) => /modules loaded [1-9]\d*, failed 0/.test(line)), booted.vm.console.join("\n"));
});

after(async () => {});

test("a Node app with a build script and a native addon boots with the addon's shared libraries", async (t) => {
  const app = await tempDir("ingot-addon-");
  t.after(app.remove);
  await cp("test/fixtures/addon-app", app.path, { recursive: true });
  execFileSync("npm", ["pack", "--silent", "--pack-destination", app.path, join(process.cwd(), "test/fixtures/addon")]);
  execFileSync("npm", ["install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund", "ingot-test-addon@file:ingot-test-addon-1.0.0.tgz"], { cwd: app.path });
  const built = await buildImage(app.path, { vault });
  const deps = built.layers.find((layer) => layer.name === "deps");
  assert.ok(deps, "production dependencies make a deps layer");
  const files = await vault.readJson<{ path: string }[]>(deps.files);
  assert.ok(files.some((file) => /\/libz\.so\.1$/.test(file.path)), "libz.so.1 travels with the addon");
  assert.ok(files.some((file) => file.path.endsWith("/build/Release/zlib_version.node")));
  // A macOS prebuild beside it (test/fixtures/addon/prebuilds): kept as the package's file, never read for libraries.
  assert.ok(files.some((file) => file.path.endsWith("/prebuilds/darwin-x64/zlib_version.node")));
  assert.deepEqual(files.filter((file) => /\/build\/(?!Release$|Release\/zlib_version\.node$)/.test(file.path)).map((file) => file.path), [], "node-gyp leftovers are pruned");
  const unpacked = execFileSync("zstd", ["-dc", vault.blobPath(deps.digest)], { maxBuffer: 256 * 1024 * 1024 });
  assert.equal(unpacked.includes(vault.root), false, "no build-host path in the deps layer");
  const booted = await bootImage(vault, built.digest);
  t.after(booted.close);
  assert.match(await waitForHttp(booted.url(8080), 120_000, booted.vm), /^zlib \d+\.\d+\.\d+; built by npm run build\n$/);
});
