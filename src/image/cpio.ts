// A streaming writer of newc ("070701") cpio archives, the format the Linux kernel unpacks as initramfs.
import { createReadStream } from "node:fs";
import type { Writable } from "node:stream";
import { once } from "node:events";
import { IngotError } from "../errors.ts";

/** newc writes sizes as 8 hex digits: a file must be smaller than 4 GiB. */
export const MAX_CPIO_FILE_SIZE = 0xffff_ffff;

/** One entry of an archive; paths are absolute inside the image ("/etc/hosts"). */
export type Entry =
  | { type: "dir"; path: string; mode: number }
  | { type: "file"; path: string; mode: number; source: FileSource }
  | { type: "symlink"; path: string; target: string }
  | { type: "device"; path: string; mode: number; kind: "char" | "block"; major: number; minor: number };

/** Where a file's bytes come from: a host file (streamed) or bytes in memory. */
export type FileSource = { kind: "host"; path: string; size: number; contentId?: string | undefined } | { kind: "bytes"; data: Uint8Array };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const TRAILER = "TRAILER!!!";

/**
 * Writes entries as a newc archive: fixed owner (root), fixed mtime and sequential inode numbers,
 * so the same entries always give the same bytes.
 *
 * @example
 * const writer = new CpioWriter(sink);
 * await writer.add({ type: "dir", path: "/etc", mode: 0o755 });
 * await writer.close();
 */
export class CpioWriter {
  #inode = 1;
  #closed = false;
  /** Bytes of archive written so far: the layer's unpacked size, which the VM's memory must hold. */
  bytesWritten = 0;

  constructor(private readonly sink: Writable, private readonly mtime = 0) {}

  async add(entry: Entry): Promise<void> {
    if (this.#closed) throw new Error("Cannot add to a closed cpio archive");
    const name = entry.path.replace(/^\/+/, "");
    switch (entry.type) {
      case "dir":
        return this.#write(name, S_IFDIR | entry.mode, 2, 0, [], 0, 0);
      case "symlink": {
        const target = Buffer.from(entry.target);
        return this.#write(name, S_IFLNK | 0o777, 1, target.length, [target], 0, 0);
      }
      case "device":
        return this.#write(name, (entry.kind === "char" ? S_IFCHR : S_IFBLK) | entry.mode, 1, 0, [], entry.major, entry.minor);
      case "file":
        if (entry.source.kind === "bytes") {
          return this.#write(name, S_IFREG | entry.mode, 1, entry.source.data.length, [entry.source.data], 0, 0);
        }
        return this.#writeHostFile(name, entry.mode, entry.source.path, entry.source.size);
    }
  }

  /** Writes the trailer; the sink stays open so that the caller can end it (or append more). */
  async close(): Promise<void> {
    await this.#write(TRAILER, 0, 1, 0, [], 0, 0, 0);
    this.#closed = true;
  }

  async #writeHostFile(name: string, mode: number, path: string, size: number): Promise<void> {
    await this.#emit(header(name, S_IFREG | mode, 1, size, 0, 0, this.#inode++, this.mtime));
    let written = 0;
    for await (const chunk of createReadStream(path)) {
      written += (chunk as Buffer).length;
      await this.#emit(chunk as Buffer);
    }
    // The header already promised `size` bytes: a file that changed under us would corrupt the archive.
    if (written !== size) throw new Error(`Cannot archive ${path} as it changed while being read (${size} → ${written} bytes)`);
    await this.#emit(padding(size));
  }

  async #write(name: string, mode: number, nlink: number, size: number, data: Uint8Array[], major: number, minor: number, inode = this.#inode++): Promise<void> {
    await this.#emit(header(name, mode, nlink, size, major, minor, inode, this.mtime));
    for (const chunk of data) await this.#emit(chunk);
    await this.#emit(padding(size));
  }

  async #emit(chunk: Uint8Array): Promise<void> {
    if (chunk.length === 0) return;
    this.bytesWritten += chunk.length;
    if (!this.sink.write(chunk)) await once(this.sink, "drain");
  }
}

function header(name: string, mode: number, nlink: number, size: number, rdevMajor: number, rdevMinor: number, inode: number, mtime: number): Buffer {
  // A ninth hex digit would shift every later field and corrupt the archive without a word.
  if (size > MAX_CPIO_FILE_SIZE) {
    throw new IngotError(`Cannot archive /${name} as it is ${size} bytes, and a newc archive holds files under 4 GiB`, { code: "file-too-large", hint: "Keep files over 4 GiB out of the image" });
  }
  const nameBytes = Buffer.from(`${name}\0`);
  const fields = [inode, mode, 0, 0, nlink, mtime, size, 0, 0, rdevMajor, rdevMinor, nameBytes.length, 0];
  const text = "070701" + fields.map((field) => field.toString(16).padStart(8, "0")).join("");
  // newc pads the 110-byte header plus the name to a multiple of 4.
  return Buffer.concat([Buffer.from(text, "ascii"), nameBytes, padding(110 + nameBytes.length)]);
}

function padding(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}
