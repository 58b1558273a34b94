// Reads what the dynamic loader needs from an ELF file's headers, without readelf and without reading the whole file.

import { type FileHandle, open } from "node:fs/promises";
import { IngotError } from "../errors.ts";

/** `e_machine` of x86-64 binaries, the only machine images are built for. */
export const EM_X86_64 = 62;

/** What the dynamic loader reads from an executable or shared object. */
export interface ElfInfo {
  class: 64 | 32;
  /** `e_machine`: 62 is x86-64, 183 is AArch64, 3 is i386. */
  machine: number;
  type: "exec" | "dyn" | "rel" | "other";
  /** The program interpreter (PT_INTERP), e.g. `/lib64/ld-linux-x86-64.so.2`; absent in static binaries. */
  interpreter?: string;
  /** DT_NEEDED entries in the order the loader visits them. */
  needed: string[];
  /** DT_RUNPATH split on `:`, dynamic string tokens such as `$ORIGIN` left unexpanded. */
  runpath: string[];
  /** DT_RPATH split on `:`; the loader ignores it when DT_RUNPATH is present. */
  rpath: string[];
  soname?: string;
}

/** Returns `length` bytes at `offset`, or fewer when the file ends first. */
export type ReadAt = (offset: number, length: number) => Promise<Uint8Array> | Uint8Array;

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_STRSZ = 10;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;
// e_phnum's escape value: the real count then lives in section header 0's sh_info.
const PN_XNUM = 0xffff;
// Bounds that no real binary comes near; they keep a corrupt header from making us allocate gigabytes.
const MAX_PROGRAM_HEADERS = 4096;
const MAX_DYNAMIC_BYTES = 1 << 20;
const MAX_STRING_BYTES = 64 * 1024;

/**
 * Reads the loader-relevant parts of an ELF file: a few kilobytes, however large the file is.
 * Returns undefined when the path is not a regular file starting with the ELF magic.
 *
 * @example
 * const info = await readElf("/usr/bin/curl");
 * // { class: 64, machine: 62, type: "dyn", interpreter: "/lib64/ld-linux-x86-64.so.2",
 * //   needed: ["libcurl.so.4", "libz.so.1", "libc.so.6"], runpath: [], rpath: [] }
 */
export async function readElf(path: string): Promise<ElfInfo | undefined> {
  let file;
  try {
    file = await open(path, "r");
  } catch (error) {
    throw unreadable(path, error);
  }
  try {
    if (!(await file.stat()).isFile()) return undefined;
    return await parseElf(fileReader(file), path);
  } catch (error) {
    if (error instanceof IngotError) throw error;
    throw unreadable(path, error);
  } finally {
    await file.close();
  }
}

/** Reads an open file at offsets: fewer bytes than asked where the file ends. */
export function fileReader(file: FileHandle): ReadAt {
  return async (offset, length) => {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await file.read(buffer, 0, length, offset);
    return buffer.subarray(0, bytesRead);
  };
}

/**
 * Parses ELF headers through `readAt`, so tests can hand it a buffer. `name` only appears in errors.
 * Both classes and byte orders are decoded; rejecting foreign machines is the caller's decision.
 *
 * @example
 * const info = await parseElf((offset, length) => bytes.subarray(offset, offset + length), "fixture");
 */
export async function parseElf(readAt: ReadAt, name: string): Promise<ElfInfo | undefined> {
  const ident = await readAt(0, 16);
  if (ident.length < 4 || ident[0] !== 0x7f || ident[1] !== 0x45 || ident[2] !== 0x4c || ident[3] !== 0x46) {
    return undefined;
  }
  const malformed = (reason: string): IngotError =>
    new IngotError(`Cannot parse the ELF file as ${reason}: ${name}`, {
      code: "elf-malformed",
      hint: "The file is truncated or corrupt; reinstall it or rebuild it",
    });
  const is64 = ident[4] === 2;
  if (!is64 && ident[4] !== 1) throw malformed(`its class byte is ${ident[4]}`);
  if (ident[5] !== 1 && ident[5] !== 2) throw malformed(`its byte-order byte is ${ident[5]}`);
  const littleEndian = ident[5] === 1;

  const readExactly = async (offset: number, length: number, what: string): Promise<DataView> => {
    const bytes = await readAt(offset, length);
    if (bytes.length < length) throw malformed(`the ${what} at offset ${offset} runs past the end of the file`);
    return new DataView(bytes.buffer, bytes.byteOffset, length);
  };
  // Offsets are 64-bit in ELF64; anything past 2^53 cannot be a real offset in a file we can read.
  const word = (view: DataView, at: number): number => {
    if (!is64) return view.getUint32(at, littleEndian);
    const value = view.getBigUint64(at, littleEndian);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`a 64-bit field holds ${value}`);
    return Number(value);
  };

  const header = await readExactly(0, is64 ? 64 : 52, "file header");
  const typeCode = header.getUint16(16, littleEndian);
  const machine = header.getUint16(18, littleEndian);
  const programHeaderOffset = word(header, is64 ? 32 : 28);
  const programHeaderSize = header.getUint16(is64 ? 54 : 42, littleEndian);
  let programHeaderCount = header.getUint16(is64 ? 56 : 44, littleEndian);
  if (programHeaderCount === PN_XNUM) {
    const sectionHeaderOffset = word(header, is64 ? 40 : 32);
    const section0 = await readExactly(sectionHeaderOffset, is64 ? 64 : 40, "section header");
    programHeaderCount = section0.getUint32(is64 ? 44 : 28, littleEndian);
  }
  const info: ElfInfo = {
    class: is64 ? 64 : 32,
    machine,
    type: typeCode === 1 ? "rel" : typeCode === 2 ? "exec" : typeCode === 3 ? "dyn" : "other",
    needed: [],
    runpath: [],
    rpath: [],
  };
  if (programHeaderCount === 0) return info;
  if (programHeaderCount > MAX_PROGRAM_HEADERS) throw malformed(`it claims ${programHeaderCount} program headers`);
  if (programHeaderSize < (is64 ? 56 : 32)) throw malformed(`its program headers are ${programHeaderSize} bytes`);

  const table = await readExactly(programHeaderOffset, programHeaderSize * programHeaderCount, "program header table");
  const loads: Segment[] = [];
  let interp: Segment | undefined;
  let dynamic: Segment | undefined;
  for (let index = 0; index < programHeaderCount; index++) {
    const base = index * programHeaderSize;
    const segment: Segment = is64
      ? { offset: word(table, base + 8), address: word(table, base + 16), fileSize: word(table, base + 32) }
      : { offset: word(table, base + 4), address: word(table, base + 8), fileSize: word(table, base + 16) };
    const type = table.getUint32(base, littleEndian);
    if (type === PT_LOAD) loads.push(segment);
    else if (type === PT_INTERP) interp ??= segment;
    else if (type === PT_DYNAMIC) dynamic ??= segment;
  }

  if (interp !== undefined) {
    const bytes = await readExactly(interp.offset, Math.min(interp.fileSize, MAX_STRING_BYTES), "interpreter path");
    info.interpreter = cString(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }
  if (dynamic === undefined) return info;

  if (dynamic.fileSize > MAX_DYNAMIC_BYTES) throw malformed(`its dynamic section is ${dynamic.fileSize} bytes`);
  const entrySize = is64 ? 16 : 8;
  const entries = await readExactly(dynamic.offset, dynamic.fileSize - (dynamic.fileSize % entrySize), "dynamic section");
  const strings: { tag: number; offset: number }[] = [];
  let stringTableAddress: number | undefined;
  let stringTableSize: number | undefined;
  for (let at = 0; at + entrySize <= entries.byteLength; at += entrySize) {
    // d_tag is signed, but every tag we read is small and positive.
    const tag = is64 ? Number(entries.getBigInt64(at, littleEndian)) : entries.getInt32(at, littleEndian);
    if (tag === DT_NULL) break;
    const value = word(entries, at + entrySize / 2);
    if (tag === DT_STRTAB) stringTableAddress = value;
    else if (tag === DT_STRSZ) stringTableSize = value;
    else if (tag === DT_NEEDED || tag === DT_SONAME || tag === DT_RPATH || tag === DT_RUNPATH) {
      strings.push({ tag, offset: value });
    }
  }
  if (strings.length === 0) return info;
  if (stringTableAddress === undefined || stringTableSize === undefined) {
    throw malformed("its dynamic section names libraries but has no string table");
  }
  // DT_STRTAB is a virtual address; the PT_LOAD segment that maps it tells where those bytes sit in the file.
  const address = stringTableAddress;
  const load = loads.find((segment) => address >= segment.address && address < segment.address + segment.fileSize);
  if (load === undefined) throw malformed(`no loadable segment maps its string table at 0x${address.toString(16)}`);
  const tableOffset = load.offset + (address - load.address);
  const tableSize = Math.min(stringTableSize, load.address + load.fileSize - address);

  for (const { tag, offset } of strings) {
    if (offset >= tableSize) throw malformed(`a dynamic string offset ${offset} lies outside its string table`);
    const value = await readString(readAt, tableOffset + offset, Math.min(tableSize - offset, MAX_STRING_BYTES));
    if (value === undefined) throw malformed(`a dynamic string at offset ${offset} is not terminated`);
    if (tag === DT_NEEDED) info.needed.push(value);
    else if (tag === DT_SONAME) info.soname = value;
    else if (tag === DT_RPATH) info.rpath.push(...searchList(value));
    else info.runpath.push(...searchList(value));
  }
  return info;
}

interface Segment {
  offset: number;
  address: number;
  fileSize: number;
}

// Library names are short: read a small chunk and widen only when the terminator is not in it yet.
async function readString(readAt: ReadAt, offset: number, limit: number): Promise<string | undefined> {
  for (let chunk = Math.min(256, limit); ; chunk = Math.min(chunk * 4, limit)) {
    const bytes = await readAt(offset, chunk);
    const terminator = bytes.indexOf(0);
    if (terminator >= 0) return Buffer.from(bytes.buffer, bytes.byteOffset, terminator).toString("utf8");
    if (chunk >= limit || bytes.length < chunk) return undefined;
  }
}

function cString(bytes: Uint8Array): string {
  const terminator = bytes.indexOf(0);
  return Buffer.from(bytes.buffer, bytes.byteOffset, terminator < 0 ? bytes.length : terminator).toString("utf8");
}

// Empty elements are dropped: they would mean the current directory, which an image does not meaningfully have.
function searchList(value: string): string[] {
  return value.split(":").filter((element) => element !== "");
}

function unreadable(path: string, cause: unknown): IngotError {
  const reason = (cause as NodeJS.ErrnoException).code ?? String(cause);
  return new IngotError(`Cannot read the ELF file as ${reason}: ${path}`, {
    code: "elf-unreadable",
    hint: "Check that the file exists and is readable by this user",
    cause,
  });
}
