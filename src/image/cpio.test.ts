import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { CpioWriter } from "./cpio.ts";

async function archive(build: (writer: CpioWriter) => Promise<void>): Promise<Buffer> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on("data", (chunk: Buffer) => chunks.push(chunk));
  const writer = new CpioWriter(sink);
  await build(writer);
  await writer.close();
  sink.end();
  return Buffer.concat(chunks);
}

test("GNU cpio unpacks what CpioWriter writes: dirs, files from bytes and from disk, symlinks", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "ingot-cpio-"));
  t.after(() => rm(dir, { recursive: true }));
  const hostFile = join(dir, "host.txt");
  await writeFile(hostFile, "from the host, 27 bytes!!\n");
  const bytes = await archive(async (writer) => {
    await writer.add({ type: "dir", path: "/etc", mode: 0o755 });
    await writer.add({ type: "file", path: "/etc/hostname", mode: 0o644, source: { kind: "bytes", data: Buffer.from("ingot\n") } });
    await writer.add({ type: "file", path: "/etc/host.txt", mode: 0o600, source: { kind: "host", path: hostFile, size: 26 } });
    await writer.add({ type: "symlink", path: "/etc/link", target: "hostname" });
  });
  assert.equal(bytes.length % 4, 0);
  const out = join(dir, "out");
  execFileSync("mkdir", ["-p", out]);
  execFileSync("cpio", ["-idm", "--quiet", "--no-absolute-filenames"], { cwd: out, input: bytes });
  assert.equal(await readFile(join(out, "etc/hostname"), "utf8"), "ingot\n");
  assert.equal(await readFile(join(out, "etc/host.txt"), "utf8"), "from the host, 27 bytes!!\n");
  assert.equal((await stat(join(out, "etc/host.txt"))).mode & 0o777, 0o600);
  assert.equal(await readlink(join(out, "etc/link")), "hostname");
  assert.equal((await stat(join(out, "etc/hostname"))).mtimeMs, 0);
});

test("the same entries give the same bytes", async () => {
  const write = (writer: CpioWriter) => writer.add({ type: "file", path: "/a", mode: 0o644, source: { kind: "bytes", data: Buffer.from("x") } });
  assert.deepEqual(await archive(write), await archive(write));
});

test("a host file that changed size while archiving is an error, not a corrupt archive", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "ingot-cpio-"));
  t.after(() => rm(dir, { recursive: true }));
  await writeFile(join(dir, "f"), "four");
  await assert.rejects(
    archive((writer) => writer.add({ type: "file", path: "/f", mode: 0o644, source: { kind: "host", path: join(dir, "f"), size: 9 } })),
    /changed while being read/,
  );
});

test("a file of 4 GiB or more is refused before its header, which newc's 8 hex digits cannot hold", async () => {
  await assert.rejects(
    archive((writer) => writer.add({ type: "file", path: "/big", mode: 0o644, source: { kind: "host", path: "/dev/null", size: 2 ** 32 } })),
    (error: Error & { code?: string }) => error.code === "file-too-large" && /Cannot archive \/big as it is 4294967296 bytes/.test(error.message),
  );
});
