import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFile, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { tempDir } from "../../test/helpers.ts";
import { stripElf, stripPlan, type SectionHeader, type StripInput } from "./elf-strip.ts";

const run = promisify(execFile);

// A program with a symbol table and DWARF, as node's official binary has them; gcc is in setup.
const PROGRAM = `#include <stdio.h>
#include <stdlib.h>
static int twice(int value) { return 2 * value; }
int main(void) { printf("%d %s\\n", twice(21), getenv("HOME") ? "home" : "none"); return 0; }
`;

async function sections(path: string): Promise<{ names: string[]; warnings: string }> {
  const { stdout, stderr } = await run("readelf", ["-S", "-W", path]);
  return { names: [...stdout.matchAll(/^\s*\[\s*\d+\]\s+(\S+)/gm)].map((match) => match[1]!).filter((name) => name !== "NULL"), warnings: stderr };
}

/** PROGRAM compiled with gcc's `flags` into a temporary folder (removed after the test), as `name`. */
async function compiled(t: TestContext, name: string, flags: string[]): Promise<{ dir: string; path: string }> {
  const dir = await tempDir("ingot-strip-");
  t.after(dir.remove);
  await writeFile(join(dir.path, "program.c"), PROGRAM);
  const path = join(dir.path, name);
  await run("gcc", ["-g", ...flags, "-o", path, join(dir.path, "program.c")]);
  return { dir: dir.path, path };
}

test("a stripped executable runs as before, without its symbols and debug sections, and keeps every section it loads", async (t) => {
  const { dir, path: program } = await compiled(t, "program", ["-O1"]);
  const before = await sections(program);
  assert.ok(before.names.includes(".symtab") && before.names.includes(".debug_info"), before.names.join(" "));
  const output = (await run(program)).stdout;

  const copy = join(dir, "copy");
  await copyFile(program, copy);
  const removed = await stripElf(program);
  assert.ok(removed.includes(".symtab") && removed.includes(".strtab") && removed.includes(".debug_info"), removed.join(" "));
  assert.equal((await run(program)).stdout, output);
  assert.ok((await stat(program)).size < (await stat(copy)).size);

  const after = await sections(program);
  assert.equal(after.warnings, "", "readelf finds the rewritten headers sound");
  assert.deepEqual(after.names, [...before.names.filter((name) => !removed.includes(name) && name !== ".shstrtab"), ".shstrtab"]);
  // binutils' strip keeps the same loaded sections (it keeps some unloaded ones too, such as .comment).
  const reference = join(dir, "reference");
  await run("strip", ["--strip-all", "-o", reference, copy]);
  assert.deepEqual(after.names.filter((name) => name !== ".shstrtab"), (await sections(reference)).names.filter((name) => !removed.includes(name) && name !== ".shstrtab"));
  // The symbols the dynamic loader reads are untouched: the program's imports are still named.
  assert.match((await run("readelf", ["--dyn-syms", "-W", program])).stdout, /\bgetenv\b/);

  assert.deepEqual(await stripElf(program), [], "a stripped file has nothing left to drop");
  await stripElf(copy);
  assert.deepEqual(await readFile(copy), await readFile(program), "the same input strips to the same bytes");
});

test("files that are not x86-64 executables or shared objects are left as they are", async (t) => {
  const { dir, path: object } = await compiled(t, "program.o", ["-c"]);
  const text = join(dir, "script.sh");
  await writeFile(text, "#!/bin/sh\necho hi\n");
  // An executable for another machine (e_machine 183, AArch64): not this strip's to judge.
  const program = join(dir, "program");
  await run("gcc", ["-g", "-o", program, join(dir, "program.c")]);
  const foreign = await readFile(program);
  foreign.writeUInt16LE(183, 18);
  await writeFile(program, foreign);
  for (const path of [object, text, program]) {
    const bytes = await readFile(path);
    assert.deepEqual(await stripElf(path), []);
    assert.deepEqual(await readFile(path), bytes, path);
  }
});

function section(name: string, fields: Partial<SectionHeader>): SectionHeader {
  return { name, type: 1, flags: 0, offset: 0, size: 0, link: 0, info: 0, bytes: new Uint8Array(64), ...fields };
}

test("a file whose dropped sections are not last, or that a kept section refers to, is not rewritten", () => {
  const input = (sections: SectionHeader[]): StripInput => ({ header: new Uint8Array(64), sections, namesIndex: sections.length - 1, programEnds: [0x1100] });
  const base = [section("", { type: 0 }), section(".text", { flags: 0x6, offset: 0x1000, size: 0x100 })];
  const names = section(".shstrtab", { type: 3, offset: 0x3000, size: 0x40 });
  const laidOut = stripPlan(input([...base, section(".symtab", { type: 2, offset: 0x2000, size: 0x100, link: 3 }), section(".strtab", { type: 3, offset: 0x2100, size: 0x80 }), names]));
  assert.deepEqual(laidOut && { keepBytes: laidOut.keepBytes, removed: laidOut.removed }, { keepBytes: 0x1100, removed: [".symtab", ".strtab"] });
  assert.equal(stripPlan(input([...base, section(".symtab", { type: 2, offset: 0x800, size: 0x100 }), names])), undefined, "dropped bytes before kept ones");
  assert.equal(stripPlan(input([base[0]!, section(".symtab", { type: 2, offset: 0x2000, size: 0x100 }), base[1]!, names])), undefined, "a dropped section before a kept one");
  assert.equal(stripPlan(input([...base, section(".rela.text", { flags: 0x42, offset: 0x1100, size: 0x10, info: 3 }), section(".comment", { offset: 0x2000, size: 8 }), names])), undefined, "a kept relocation section names a dropped one");
  assert.equal(stripPlan(input([...base, names])), undefined, "nothing to drop");
});
