import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, open, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { IngotError } from "../errors.ts";
import { parseElf, readElf } from "./elf.ts";

const run = promisify(execFile);

// readelf is only the oracle here; the code under test never runs external tools.
async function readelfDynamic(path: string): Promise<{ needed: string[]; interpreter?: string }> {
  const { stdout: dynamic } = await run("readelf", ["--wide", "--dynamic", path]);
  const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[(.*)\]/g)].map((match) => match[1] ?? "");
  const { stdout: headers } = await run("readelf", ["--wide", "--program-headers", path]);
  const interpreter = /Requesting program interpreter: (.*)\]/.exec(headers)?.[1];
  return interpreter === undefined ? { needed } : { needed, interpreter };
}

/** A minimal ELF header with no program headers: enough to exercise class, byte order and machine decoding. */
function bareHeader(options: { class: 32 | 64; littleEndian: boolean; machine: number; type: number }): Buffer {
  const header = Buffer.alloc(options.class === 64 ? 64 : 52);
  header.set([0x7f, 0x45, 0x4c, 0x46, options.class === 64 ? 2 : 1, options.littleEndian ? 1 : 2, 1]);
  const write16 = (value: number, at: number): number =>
    options.littleEndian ? header.writeUInt16LE(value, at) : header.writeUInt16BE(value, at);
  write16(options.type, 16);
  write16(options.machine, 18);
  return header;
}

const fromBuffer = (bytes: Buffer) => (offset: number, length: number) => bytes.subarray(offset, offset + length);

describe("readElf", () => {
  let directory: string;
  before(async () => {
    directory = await realpath(await mkdtemp(join(tmpdir(), "ingot-elf-")));
  });
  after(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  test("reads the interpreter and DT_NEEDED of the node binary as readelf does", async () => {
    const info = await readElf(process.execPath);
    assert.ok(info);
    assert.equal(info.class, 64);
    assert.equal(info.machine, 62);
    assert.ok(info.type === "exec" || info.type === "dyn");
    const expected = await readelfDynamic(process.execPath);
    assert.deepEqual(info.needed, expected.needed);
    assert.equal(info.interpreter, expected.interpreter);
    assert.ok(info.needed.includes("libc.so.6"));
  });

  test("reads the soname and RUNPATH of a shared library, or its RPATH with old-style tags", async () => {
    const source = join(directory, "greet.c");
    await writeFile(source, "int greet(void) { return 42; }\n");
    const runpathLibrary = join(directory, "librunpath.so");
    const rpathLibrary = join(directory, "librpath.so");
    const flags = ["-shared", "-fPIC", "-Wl,-soname,libgreet.so.1", "-Wl,-rpath,$ORIGIN/lib:/opt/greet/lib", source];
    await run("gcc", [...flags, "-Wl,--enable-new-dtags", "-o", runpathLibrary]);
    await run("gcc", [...flags, "-Wl,--disable-new-dtags", "-o", rpathLibrary]);

    const runpath = await readElf(runpathLibrary);
    assert.equal(runpath?.type, "dyn");
    assert.equal(runpath?.soname, "libgreet.so.1");
    assert.equal(runpath?.interpreter, undefined);
    assert.deepEqual(runpath?.runpath, ["$ORIGIN/lib", "/opt/greet/lib"]);
    assert.deepEqual(runpath?.rpath, []);

    const rpath = await readElf(rpathLibrary);
    assert.deepEqual(rpath?.rpath, ["$ORIGIN/lib", "/opt/greet/lib"]);
    assert.deepEqual(rpath?.runpath, []);
  });

  test("returns undefined for text files, empty files and folders", async () => {
    const script = join(directory, "script.sh");
    await writeFile(script, "#!/bin/sh\necho hello\n");
    const empty = join(directory, "empty");
    await writeFile(empty, "");
    const folder = join(directory, "folder");
    await mkdir(folder);
    assert.equal(await readElf(script), undefined);
    assert.equal(await readElf(empty), undefined);
    assert.equal(await readElf(folder), undefined);
  });

  test("rejects a truncated binary as malformed, naming the file", async () => {
    const truncated = join(directory, "truncated");
    const node = await open(process.execPath, "r");
    const { buffer } = await node.read(Buffer.alloc(100), 0, 100, 0).finally(() => node.close());
    await writeFile(truncated, buffer);
    await assert.rejects(readElf(truncated), (error: unknown) => {
      assert.ok(error instanceof IngotError);
      assert.equal(error.code, "elf-malformed");
      assert.match(error.message, /^Cannot parse the ELF file as .*: /);
      assert.ok(error.message.endsWith(truncated));
      return true;
    });
  });

  test("reports a missing file as unreadable", async () => {
    await assert.rejects(readElf(join(directory, "missing")), { name: "IngotError", code: "elf-unreadable" });
  });
});

describe("parseElf", () => {
  test("decodes 32-bit and big-endian headers so callers can reject them", async () => {
    const i386 = await parseElf(fromBuffer(bareHeader({ class: 32, littleEndian: true, machine: 3, type: 2 })), "i386");
    assert.deepEqual(i386, { class: 32, machine: 3, type: "exec", needed: [], runpath: [], rpath: [] });
    const s390 = await parseElf(fromBuffer(bareHeader({ class: 64, littleEndian: false, machine: 22, type: 3 })), "s390x");
    assert.deepEqual(s390, { class: 64, machine: 22, type: "dyn", needed: [], runpath: [], rpath: [] });
  });

  test("rejects an unknown class byte", async () => {
    const header = bareHeader({ class: 64, littleEndian: true, machine: 62, type: 3 });
    header[4] = 9;
    await assert.rejects(parseElf(fromBuffer(header), "odd"), { code: "elf-malformed", message: /class byte is 9: odd$/ });
  });

  test("rejects program headers that point past the end of the file", async () => {
    const header = bareHeader({ class: 64, littleEndian: true, machine: 62, type: 3 });
    header.writeBigUInt64LE(4096n, 32);
    header.writeUInt16LE(56, 54);
    header.writeUInt16LE(3, 56);
    await assert.rejects(parseElf(fromBuffer(header), "short"), { code: "elf-malformed" });
  });

  test("returns undefined without the ELF magic", async () => {
    assert.equal(await parseElf(fromBuffer(Buffer.from("MZ\x90\x00")), "pe"), undefined);
  });
});
