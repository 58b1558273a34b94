// End to end: `ingot export` writes one GPT disk that UEFI firmware (OVMF) boots with no -kernel and
// serves from; the same image gives the same bytes in every format; a changed block on the disk is
// named by its layer; and the refusals (existing output, unknown format, full disk) leave nothing behind.
import { after, before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { copyFile, mkdir, open, readdir, readFile, stat, truncate, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { buildImage } from "../../src/image/build.ts";
import { DISK_FORMATS, type DiskFormat } from "../../src/export/disk-formats.ts";
import { exportDisk, type ExportResult } from "../../src/export/export-disk.ts";
import { IngotError } from "../../src/errors.ts";
import type { ImageManifest } from "../../src/image/manifest.ts";
import { fileSha256Hex, type Vault } from "../../src/vault/vault.ts";
import { freePort } from "../../src/vm/free-port.ts";
import { layerDisks } from "../../src/vm/layer-disks.ts";
import { detectAccelerator } from "../../src/vm/qemu-args.ts";
import { elfServerApp, sharedTestVault, tempDir, waitForHttp } from "../helpers.ts";

const OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd";
const OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd";
const ovmfSkip = !existsSync(OVMF_CODE) && process.env.CI !== "true" && "OVMF is not installed (apt-get install ovmf)";
const ELF_YAML = "name: export-elf\nversion: 1.0.0\nruntime: elf\ncommand: [./server]\nports:\n  http: 8080\nresources:\n  memory: 128M\n";

let vault: Vault;
let image: { digest: string; manifest: ImageManifest };
let work: { path: string; remove: () => Promise<void> };
let raw: ExportResult;
before(async () => {
  vault = await sharedTestVault();
  const app = await elfServerApp("ingot-export-elf-", ELF_YAML);
  try {
    image = await buildImage(app.path, { vault });
  } finally {
    await app.remove();
  }
  work = await tempDir("ingot-export-");
  raw = await exportDisk(vault, image, { environment: "prod", format: "raw", output: join(work.path, "disk.raw"), force: false });
});
after(() => work?.remove());

interface UefiVm {
  url: string;
  console: () => Promise<string>;
  exited: Promise<number | null>;
}

/**
 * QEMU as a cloud or libvirt would start the disk: UEFI firmware, the disk on virtio, no -kernel,
 * DHCP. With `behindAnotherDisk` an empty disk comes first, so the exported one is vdb.
 */
async function bootUefi(t: TestContext, disk: string, options: { behindAnotherDisk?: boolean } = {}): Promise<UefiVm> {
  const folder = await tempDir("ingot-export-vm-");
  t.after(folder.remove);
  const blank = join(folder.path, "blank.raw");
  await writeFile(blank, "");
  await truncate(blank, 64 * 1024 * 1024);
  const blankDrive = options.behindAnotherDisk ? ["-drive", `file=${blank},if=virtio,format=raw,snapshot=on`] : [];
  const vars = join(folder.path, "OVMF_VARS.fd");
  await copyFile(OVMF_VARS, vars);
  const port = await freePort();
  const consoleFile = join(folder.path, "console.log");
  const accelerator = detectAccelerator();
  const qemu = spawn("qemu-system-x86_64", [
    "-machine", `q35,sata=off,smbus=off,accel=${accelerator}`, "-cpu", accelerator === "kvm" ? "host" : "max", "-smp", "1", "-m", "256",
    "-nodefaults", "-display", "none", "-no-reboot", "-serial", `file:${consoleFile}`,
    "-drive", `if=pflash,format=raw,unit=0,file=${OVMF_CODE},readonly=on`, "-drive", `if=pflash,format=raw,unit=1,file=${vars}`,
    ...blankDrive, "-drive", `file=${disk},if=virtio,format=raw,snapshot=on`,
    "-netdev", `user,id=net0,hostfwd=tcp:127.0.0.1:${port}-:8080`, "-device", "virtio-net-pci,netdev=net0",
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  qemu.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => qemu.on("close", resolve));
  // Killed by its own PID, whatever the test's outcome.
  t.after(async () => {
    if (qemu.exitCode === null && qemu.signalCode === null) qemu.kill("SIGKILL");
    await exited;
  });
  const console = async (): Promise<string> => `${(await readFile(consoleFile, "utf8").catch(() => "")).replaceAll("\0", "")}${stderr}`;
  return { url: `http://127.0.0.1:${port}/`, console, exited };
}

test("the exported raw disk boots under OVMF with no -kernel, as environment prod with no metadata service, and serves", { skip: ovmfSkip, timeout: 240_000 }, async (t) => {
  assert.deepEqual(raw.layout.partitions.map((partition) => partition.name), ["esp", "base", "runtime", "app"]);
  assert.doesNotMatch(raw.cmdline, /ingot\.metadata/);
  const started = performance.now();
  const vm = await bootUefi(t, raw.output);
  const body = await Promise.race([
    waitForHttp(vm.url, 180_000),
    vm.exited.then(async (code) => assert.fail(`QEMU exited (${code}) before the app answered:\n${(await vm.console()).slice(-3000)}`)),
  ]).catch(async (error: unknown) => assert.fail(`${(error as Error).message}\n${(await vm.console()).slice(-3000)}`));
  const bootToHealthyMs = performance.now() - started;
  assert.equal(body, "elf ok uid=1000\n");
  const console = await vm.console();
  assert.match(console, /init started \(env prod, hostname export-elf\)/);
  assert.doesNotMatch(console, /metadata/);
  t.diagnostic(`export raw ${raw.elapsedMs.toFixed(0)} ms, disk ${raw.diskBytes} bytes; boot to HTTP 200 under OVMF (${detectAccelerator()}) ${bootToHealthyMs.toFixed(0)} ms`);
});

test("the same image exports to the same bytes in every format; qemu-img checks the qcow2 and reads each as the raw disk", { timeout: 240_000 }, async (t) => {
  const again = join(work.path, "again");
  await mkdir(again);
  const second = await exportDisk(vault, image, { environment: "prod", format: "raw", output: join(again, "disk.raw"), force: false });
  assert.equal(await fileSha256Hex(second.output), await fileSha256Hex(raw.output));
  const imageBytes = image.manifest.layers.reduce((sum, layer) => sum + layer.size, image.manifest.kernel.size);
  const figures = [`image ${imageBytes} bytes (kernel + compressed layers); raw ${raw.fileBytes} bytes, ${raw.allocatedBytes} allocated (${raw.elapsedMs.toFixed(0)} ms)`];
  for (const format of ["qcow2", "vmdk", "vhd"] as DiskFormat[]) {
    const name = `disk.${DISK_FORMATS[format].extension}`;
    const first = await exportDisk(vault, image, { environment: "prod", format, output: join(work.path, name), force: false });
    const other = await exportDisk(vault, image, { environment: "prod", format, output: join(again, name), force: false });
    assert.equal(await fileSha256Hex(other.output), await fileSha256Hex(first.output), `${format}: two exports differ`);
    execFileSync("qemu-img", ["compare", "-q", "-f", "raw", raw.output, first.output]);
    figures.push(`${format} ${first.fileBytes} bytes (${first.elapsedMs.toFixed(0)} ms)`);
  }
  const check = spawnSync("qemu-img", ["check", join(work.path, "disk.qcow2")], { encoding: "utf8" });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /No errors were found/);
  // Another environment is another disk: its command line differs, and so do its ids.
  const test = await exportDisk(vault, image, { environment: "dev", format: "raw", output: join(again, "dev.raw"), force: false });
  assert.notEqual(test.layout.diskGuid, raw.layout.diskGuid);
  assert.match(test.cmdline, /ingot\.env=dev/);
  t.diagnostic(figures.join("; "));
});

test("the CLI refuses an existing output without --force and an unknown format, naming the formats", async () => {
  const env = { ...process.env, INGOT_HOME: vault.root };
  const output = join(work.path, "existing.qcow2");
  await writeFile(output, "keep me");
  // What an export killed mid-way leaves: its process is gone, so the next export beside it removes it.
  const abandoned = join(work.path, `.ingot-export-${spawnSync("true").pid}`);
  await mkdir(abandoned);
  await writeFile(join(abandoned, "existing.qcow2"), "half");
  const refused = spawnSync("bin/ingot", ["export", image.digest, "--format", "qcow2", "-o", output], { env, encoding: "utf8" });
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, new RegExp(`error: Cannot export to ${output} as it exists\nhint: Pass --force`));
  assert.equal(await readFile(output, "utf8"), "keep me");
  const forced = spawnSync("bin/ingot", ["export", image.digest, "--format", "qcow2", "-o", output, "--force"], { env, encoding: "utf8" });
  assert.equal(forced.status, 0, forced.stderr);
  assert.match(forced.stdout, /^Exported export-elf:1\.0\.0 \(sha256:[0-9a-f]{12}\) for prod to .*existing\.qcow2: qcow2, /);
  execFileSync("qemu-img", ["check", "-q", output]);
  const unknown = spawnSync("bin/ingot", ["export", image.digest, "--format", "iso"], { env, encoding: "utf8", cwd: process.cwd() });
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /error: Cannot export as iso as it is not a disk format ingot writes: raw, qcow2, vmdk, vhd/);
  assert.deepEqual((await readdir(work.path)).filter((name) => name.startsWith(".")), []);
});

const asRoot = process.getuid?.() === 0;
test("a target without space fails with a clear error and leaves no file", { skip: !asRoot && process.env.CI !== "true" && "mounting a small tmpfs needs root" }, async (t) => {
  const small = join(work.path, "small");
  await mkdir(small);
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", small]);
  t.after(() => execFileSync("umount", [small]));
  await assert.rejects(exportDisk(vault, image, { environment: "prod", format: "qcow2", output: join(small, "disk.qcow2"), force: false }),
    (error: unknown) => error instanceof IngotError && error.code === "disk-full" && /Free some space/.test(error.hint ?? ""));
  await assert.rejects(exportDisk(vault, image, { environment: "prod", format: "raw", output: join(small, "disk.raw"), force: false }),
    (error: unknown) => error instanceof IngotError && error.code === "disk-full" && /disk is full/.test(error.message));
  assert.deepEqual(await readdir(small), []);
});

test("a byte changed in the runtime partition stops the boot with an integrity error naming the layer and its partition, wherever the disk is", { skip: ovmfSkip, timeout: 240_000 }, async (t) => {
  const tampered = join(work.path, "tampered.raw");
  await copyFile(raw.output, tampered);
  const runtimeIndex = image.manifest.layers.findIndex((layer) => layer.name === "runtime");
  const partition = raw.layout.partitions.find((candidate) => candidate.name === "runtime")!;
  const layerFile = (await layerDisks(vault, image.manifest))[runtimeIndex]!;
  const libc = execFileSync("dump.erofs", ["-e", "--path=/lib/x86_64-linux-gnu/libc.so.6", layerFile], { encoding: "utf8" });
  const offset = Number(/^\s*0:\s+0\.\.\s*\d+ \|\s*\d+ :\s+(\d+)\.\./m.exec(libc)?.[1]);
  assert.ok(offset > 0, libc);
  const file = await open(tampered, "r+");
  try {
    const at = partition.firstLba * 512 + offset + 100;
    const byte = Buffer.alloc(1);
    await file.read(byte, 0, 1, at);
    byte[0]! ^= 0xff;
    await file.write(byte, 0, 1, at);
  } finally {
    await file.close();
  }
  assert.equal((await stat(tampered)).size, raw.diskBytes);
  // Behind another disk: the verity tables find the layers by PARTUUID, and init names vdb3.
  const vm = await bootUefi(t, tampered, { behindAnotherDisk: true });
  // Init powers off after naming the layer; the timer must not keep the test process alive after that.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([vm.exited, new Promise((resolve) => (timer = setTimeout(resolve, 180_000)))]);
  clearTimeout(timer);
  const console = await vm.console();
  assert.match(console, /boot failed \(status 65\): integrity error: layer runtime \(vdb3\) block \d+ does not match the image's root hash/, console.slice(-3000));
  assert.doesNotMatch(console, /elf-server: listening/);
});
