// Drops what an x86-64 executable carries for debuggers only (the symbol table, its strings, debug
// sections): the kernel and the dynamic loader read program headers and the dynamic symbols, never
// these. Node's official binary carries ~17 MB of them (2.4 MB of the image once compressed), and
// in a disk-form image every byte of a layer is hashed by dm-verity too. Done here rather than with
// binutils' strip, whose output changes with its version: images must be the same on every machine.
import { open } from "node:fs/promises";
import { IngotError } from "../errors.ts";
import { EM_X86_64, fileReader, type ReadAt } from "./elf.ts";

const SHF_ALLOC = 0x2;
// sh_info names a section (relocations), so it must stay a kept one's index.
const SHF_INFO_LINK = 0x40;
const SHT_NOBITS = 8;
const HEADER_BYTES = 64;
const SECTION_HEADER_BYTES = 64;

/** One section header as ELF64 stores it; `bytes` is the 64-byte entry, kept whole. */
export interface SectionHeader {
  name: string;
  type: number;
  flags: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  bytes: Uint8Array;
}

/** What a strip writes: the file cut at `keepBytes`, then `tail` (names and section headers), and a new ELF header. */
export interface StripPlan {
  keepBytes: number;
  tail: Uint8Array;
  header: Uint8Array;
  removed: string[];
}

/** The parts of an ELF64 file a strip plans from, read by `readStripInput`. */
export interface StripInput {
  header: Uint8Array;
  sections: SectionHeader[];
  /** Index of the section names' table (e_shstrndx). */
  namesIndex: number;
  /** Where every program header's bytes end in the file, and where the program header table ends. */
  programEnds: number[];
}

/**
 * Keeps every section the program loads (SHF_ALLOC) and a new table of section names; drops the
 * others. Returns undefined when there is nothing to drop or the file is not laid out as linkers
 * write executables (dropped sections last, both in the table and in the file): such a file is left
 * as it is rather than rewritten in a way the loader might not expect.
 *
 * @example
 * stripPlan(await readStripInput(read, "node")); // { keepBytes: 108280976, tail: …, header: …, removed: [".comment", …, ".symtab", ".strtab"] }
 */
export function stripPlan(input: StripInput): StripPlan | undefined {
  const { header, sections, namesIndex } = input;
  const dropped = (index: number): boolean => index !== 0 && index !== namesIndex && (sections[index]!.flags & SHF_ALLOC) === 0;
  const keptCount = sections.findIndex((_, index) => dropped(index));
  if (keptCount < 0 || namesIndex < keptCount) return undefined;
  const kept = sections.slice(0, keptCount);
  const removed = sections.filter((_, index) => dropped(index));
  // Kept sections must come first and refer only to each other (sh_link; sh_info too for relocations).
  if (sections.some((_, index) => index >= keptCount && index !== namesIndex && !dropped(index))) return undefined;
  if (kept.some((section) => section.link >= keptCount || ((section.flags & SHF_INFO_LINK) !== 0 && section.info >= keptCount))) return undefined;
  const keepBytes = Math.max(...input.programEnds, ...kept.filter((section) => section.type !== SHT_NOBITS).map((section) => section.offset + section.size));
  if (removed.some((section) => section.offset < keepBytes)) return undefined;

  const names = sectionNames([...kept.map((section) => section.name), ".shstrtab"]);
  const namesAt = keepBytes;
  const tableAt = align(namesAt + names.bytes.length, 8);
  const tail = new Uint8Array(tableAt - namesAt + (keptCount + 1) * SECTION_HEADER_BYTES);
  tail.set(names.bytes, 0);
  kept.forEach((section, index) => {
    const entry = section.bytes.slice();
    new DataView(entry.buffer).setUint32(0, names.offsets[index]!, true);
    tail.set(entry, tableAt - namesAt + index * SECTION_HEADER_BYTES);
  });
  const namesEntry = new DataView(tail.buffer, tableAt - namesAt + keptCount * SECTION_HEADER_BYTES, SECTION_HEADER_BYTES);
  namesEntry.setUint32(0, names.offsets[keptCount]!, true);
  namesEntry.setUint32(4, 3, true); // SHT_STRTAB
  namesEntry.setBigUint64(24, BigInt(namesAt), true);
  namesEntry.setBigUint64(32, BigInt(names.bytes.length), true);
  namesEntry.setBigUint64(48, 1n, true); // sh_addralign

  const newHeader = header.slice(0, HEADER_BYTES);
  const view = new DataView(newHeader.buffer);
  view.setBigUint64(40, BigInt(tableAt), true); // e_shoff
  view.setUint16(60, keptCount + 1, true); // e_shnum
  view.setUint16(62, keptCount, true); // e_shstrndx
  return { keepBytes, tail, header: newHeader, removed: removed.map((section) => section.name) };
}

/**
 * Strips the file in place; returns the names of the sections dropped (none when the file is left
 * as it was). Only x86-64 executables and shared objects with one section table are touched.
 *
 * @example
 * await stripElf(".../bin/node"); // [".comment", ".gnu.build.attributes", ".debug_aranges", …, ".symtab", ".strtab"]
 */
export async function stripElf(path: string): Promise<string[]> {
  const file = await open(path, "r+");
  try {
    const input = await readStripInput(fileReader(file), path);
    const plan = input && stripPlan(input);
    if (!plan) return [];
    await file.truncate(plan.keepBytes);
    await file.write(plan.tail, 0, plan.tail.length, plan.keepBytes);
    await file.write(plan.header, 0, plan.header.length, 0);
    return plan.removed;
  } finally {
    await file.close();
  }
}

/** The headers a strip plans from; undefined for anything but an x86-64 executable or shared object. */
export async function readStripInput(read: ReadAt, name: string): Promise<StripInput | undefined> {
  // Copies as plain Uint8Arrays: their slice() copies too (a Buffer's would share its memory), which
  // the section entries and the new header rely on.
  const header = new Uint8Array(await read(0, HEADER_BYTES));
  if (header.length < HEADER_BYTES) return undefined;
  const view = new DataView(header.buffer, header.byteOffset, header.length);
  if (view.getUint32(0, false) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1) return undefined;
  const type = view.getUint16(16, true);
  if ((type !== 2 && type !== 3) || view.getUint16(18, true) !== EM_X86_64) return undefined;
  const malformed = (reason: string): IngotError => new IngotError(`Cannot strip the ELF file as ${reason}: ${name}`, {
    code: "elf-malformed", hint: "The file is truncated or corrupt; download it again (remove it from the vault's cache)",
  });
  const programAt = Number(view.getBigUint64(32, true));
  const sectionsAt = Number(view.getBigUint64(40, true));
  const programSize = view.getUint16(54, true);
  const programCount = view.getUint16(56, true);
  const sectionCount = view.getUint16(60, true);
  const namesIndex = view.getUint16(62, true);
  // 0 sections, or the escapes for counts past 0xff00: nothing this strip rewrites.
  if (sectionCount === 0 || sectionCount >= 0xff00 || namesIndex >= sectionCount || programCount === 0xffff) return undefined;
  if (view.getUint16(58, true) !== SECTION_HEADER_BYTES || programSize < 56) throw malformed("its header sizes are not ELF64's");

  const table = new Uint8Array(await read(sectionsAt, sectionCount * SECTION_HEADER_BYTES));
  if (table.length < sectionCount * SECTION_HEADER_BYTES) throw malformed("its section table runs past the end of the file");
  const raw = Array.from({ length: sectionCount }, (_, index) => {
    const bytes = table.slice(index * SECTION_HEADER_BYTES, (index + 1) * SECTION_HEADER_BYTES);
    const entry = new DataView(bytes.buffer);
    return {
      nameOffset: entry.getUint32(0, true), type: entry.getUint32(4, true), flags: Number(entry.getBigUint64(8, true)),
      offset: Number(entry.getBigUint64(24, true)), size: Number(entry.getBigUint64(32, true)),
      link: entry.getUint32(40, true), info: entry.getUint32(44, true), bytes,
    };
  });
  const namesSection = raw[namesIndex]!;
  const names = await read(namesSection.offset, namesSection.size);
  if (names.length < namesSection.size) throw malformed("its section names run past the end of the file");
  const sections = raw.map(({ nameOffset, ...section }) => ({ ...section, name: cString(names, nameOffset) }));

  const programs = await read(programAt, programCount * programSize);
  if (programs.length < programCount * programSize) throw malformed("its program headers run past the end of the file");
  const programView = new DataView(programs.buffer, programs.byteOffset, programs.length);
  const programEnds = [programAt + programCount * programSize];
  for (let index = 0; index < programCount; index++) {
    const base = index * programSize;
    programEnds.push(Number(programView.getBigUint64(base + 8, true)) + Number(programView.getBigUint64(base + 32, true)));
  }
  return { header, sections, namesIndex, programEnds };
}

function sectionNames(names: string[]): { bytes: Uint8Array; offsets: number[] } {
  const offsets: number[] = [];
  const parts: string[] = [""];
  let at = 1;
  for (const name of names) {
    offsets.push(at);
    parts.push(name);
    at += Buffer.byteLength(name) + 1;
  }
  return { bytes: Buffer.from(parts.join("\0") + "\0"), offsets };
}

function cString(bytes: Uint8Array, at: number): string {
  const end = bytes.indexOf(0, at);
  return Buffer.from(bytes.subarray(at, end < 0 ? bytes.length : end)).toString("utf8");
}

function align(value: number, to: number): number {
  return Math.ceil(value / to) * to;
}
