// End to end: disk-form images (EROFS layers under dm-verity on read-only virtio disks) boot and
// serve, cannot be written, and refuse to run a layer changed after the host checked it.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { open, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildImage } from "../../src/image/build.ts";
import { fileSha256Hex, type Vault } from "../../src/vault/vault.ts";
import { layerDisks } from "../../src/vm/layer-disks.ts";
import { bootImage, elfServerApp, sharedTestVault, tempDir, waitForHttp } from "../helpers.ts";

let vault: Vault;
before(async () => {
  vault = await sharedTestVault();
});

const ELF_YAML = "name: disk-elf\nversion: 1.0.0\nruntime: elf\ncommand: [./server]\nports:\n  http: 8080\nresources:\n  memory: 128M\n";

test("an ELF program boots from verified EROFS disks, one per layer, each with its root hash in the manifest", async (t) => {
  const app = await elfServerApp("ingot-disk-elf-", ELF_YAML);
  t.after(app.remove);
  const built = await buildImage(app.path, { vault });
  assert.deepEqual(built.manifest.layers.map((layer) => [layer.name, layer.filesystem?.kind, layer.verity?.algorithm, /^[0-9a-f]{128}$/.test(layer.verity?.rootHash ?? "")]),
    [["base", "erofs", "blake2b-512", true], ["runtime", "erofs", "blake2b-512", true], ["app", "erofs", "blake2b-512", true]]);
  assert.match(built.manifest.kernel.cmdline, /rootfstype=erofs ro init=\/init/);
  const booted = await bootImage(vault, built.digest);
  t.after(booted.close);
  assert.equal(await waitForHttp(booted.url(8080), 90_000, booted.vm), "elf ok uid=1000\n");
});

test("nothing in a disk-form instance is writable but /tmp: the app's writes fail with EROFS", async (t) => {
  const app = await tempDir("ingot-disk-write-");
  t.after(app.remove);
  await writeFile(join(app.path, "package.json"), JSON.stringify({ name: "disk-write", version: "1.0.0", main: "server.js", engines: { node: "22" } }));
  await writeFile(join(app.path, "server.js"), [
    "const { writeFileSync } = require('node:fs');",
    "require('node:http').createServer((request, response) => {",
    "  const results = {};",
    "  for (const path of ['/app/server.js', '/app/new', '/etc/passwd', '/usr/local/bin/node', '/new', '/tmp/new']) {",
    "    try { writeFileSync(path, 'x'); results[path] = 'written'; } catch (error) { results[path] = error.code; }",
    "  }",
    "  response.end(JSON.stringify(results));",
    "}).listen(Number(process.env.PORT));",
  ].join("\n"));
  const built = await buildImage(app.path, { vault });
  const booted = await bootImage(vault, built.digest);
  t.after(booted.close);
  assert.deepEqual(JSON.parse(await waitForHttp(booted.url(8080), 120_000, booted.vm)), {
    "/app/server.js": "EROFS", "/app/new": "EROFS", "/etc/passwd": "EROFS", "/usr/local/bin/node": "EROFS", "/new": "EROFS", "/tmp/new": "written",
  });
});

test("a byte changed in the runtime layer's disk after the host's check stops the boot with an integrity error naming the layer", async (t) => {
  const app = await elfServerApp("ingot-disk-tamper-", ELF_YAML.replace("name: disk-elf", "name: disk-tamper"));
  t.after(app.remove);
  const built = await buildImage(app.path, { vault });
  const runtimeIndex = built.manifest.layers.findIndex((layer) => layer.name === "runtime");
  const disk = (await layerDisks(vault, built.manifest))[runtimeIndex]!;
  // Put the untouched disk back whatever happens: other tests boot the same layer from this vault.
  t.after(() => rm(disk, { force: true }));
  // The C library is read when the server starts: change the first byte of its data.
  const libc = execFileSync("dump.erofs", ["-e", "--path=/lib/x86_64-linux-gnu/libc.so.6", disk], { encoding: "utf8" });
  const offset = Number(/^\s*0:\s+0\.\.\s*\d+ \|\s*\d+ :\s+(\d+)\.\./m.exec(libc)?.[1]);
  assert.ok(offset > 0, libc);
  const file = await open(disk, "r+");
  try {
    const byte = Buffer.alloc(1);
    await file.read(byte, 0, 1, offset + 100);
    byte[0]! ^= 0xff;
    await file.write(byte, 0, 1, offset + 100);
  } finally {
    await file.close();
  }
  // As an attacker with the disk would: the host's own record of the file now matches it too.
  await writeFile(`${disk}.sha256`, `${await fileSha256Hex(disk)}\n`);

  const booted = await bootImage(vault, built.digest);
  t.after(booted.close);
  await Promise.race([booted.vm.exited, new Promise((resolve) => setTimeout(resolve, 90_000))]);
  const console = booted.vm.console.join("\n");
  assert.match(console, /boot failed \(status 65\): integrity error: layer runtime \(vdb\) block \d+ does not match the image's root hash/, console);
  assert.doesNotMatch(console, /elf ok|listens on tcp 8080/, "the changed program never ran");
});
