import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { lstat, readFile, readlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { hasCommand, tempDir } from "../../test/helpers.ts";
import { Vault } from "../vault/vault.ts";
import type { Entry } from "./cpio.ts";
import { writeErofs } from "./erofs.ts";
import { withParents } from "./layer-plan.ts";

const erofsMissing = !hasCommand("mkfs.erofs") && process.env.CI !== "true" && "erofs-utils is not installed";

test("a layer's EROFS filesystem holds its entries with their modes, and the same entries give the same bytes in any order", { skip: erofsMissing }, async () => {
  const dir = await tempDir("ingot-erofs-");
  try {
    const vault = await Vault.open(join(dir.path, "vault"));
    const hostFile = join(dir.path, "node");
    await writeFile(hostFile, Buffer.alloc(3 * 4096 + 5, 7), { mode: 0o600 });
    const entries: Entry[] = withParents([
      { type: "file", path: "/usr/local/bin/node", mode: 0o755, source: { kind: "host", path: hostFile, size: 3 * 4096 + 5 } },
      { type: "file", path: "/etc/ingot/command", mode: 0o644, source: { kind: "bytes", data: Buffer.from("node\0server.js\0") } },
      { type: "symlink", path: "/etc/resolv.conf", target: "/run/resolv.conf" },
      { type: "dir", path: "/tmp", mode: 0o1777 },
    ]);
    const filesystem = { kind: "erofs", compression: "none" } as const;
    const image = await writeErofs(vault, entries, filesystem);
    assert.equal(image.length % 4096, 0);
    assert.ok(image.equals(await writeErofs(vault, [...entries].reverse().sort((a, b) => (a.path.split("/").length - b.path.split("/").length)), filesystem)), "staged in another order");
    assert.ok(!image.equals(await writeErofs(vault, entries, { kind: "erofs", compression: "lz4hc" })), "the compression is part of the bytes");

    const imageFile = join(dir.path, "layer.img");
    await writeFile(imageFile, image);
    const out = join(dir.path, "out");
    const extracted = spawnSync("fsck.erofs", [`--extract=${out}`, imageFile], { encoding: "utf8" });
    assert.equal(extracted.status, 0, extracted.stderr);
    assert.equal((await lstat(join(out, "usr/local/bin/node"))).mode & 0o7777, 0o755);
    assert.ok((await readFile(join(out, "usr/local/bin/node"))).equals(await readFile(hostFile)));
    assert.equal((await lstat(hostFile)).mode & 0o777, 0o600, "the host's own file keeps its mode");
    assert.equal(await readlink(join(out, "etc/resolv.conf")), "/run/resolv.conf");
    assert.equal((await lstat(join(out, "tmp"))).mode & 0o7777, 0o1777);
  } finally {
    await dir.remove();
  }
});

test("a device node cannot go into an EROFS layer: the kernel's devtmpfs provides /dev", { skip: erofsMissing }, async () => {
  const dir = await tempDir("ingot-erofs-");
  try {
    const vault = await Vault.open(join(dir.path, "vault"));
    await assert.rejects(writeErofs(vault, [{ type: "device", path: "/console", mode: 0o600, kind: "char", major: 5, minor: 1 }], { kind: "erofs", compression: "none" }),
      (error: Error & { code?: string }) => error.code === "layer-device");
  } finally {
    await dir.remove();
  }
});
