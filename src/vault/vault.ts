// The local vault: content-addressed blobs, image manifests and name:version tags under $INGOT_HOME.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { type Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { lstat, mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { IngotError } from "../errors.ts";
import { canonicalJson } from "./canonical-json.ts";
import { shortened, tagProblem } from "./tag-name.ts";

/** The vault's root: $INGOT_HOME, else $XDG_DATA_HOME/ingot, else ~/.local/share/ingot. */
export function defaultVaultRoot(): string {
  if (process.env.INGOT_HOME) return process.env.INGOT_HOME;
  return join(process.env.XDG_DATA_HOME ?? join(homedir(), ".local", "share"), "ingot");
}

/** A tag: the file tags/NAME/VERSION holding the digest of an image manifest. */
export interface Tag {
  name: string;
  version: string;
  digest: string;
  /** The tag file's mtime: when it was last set. */
  taggedMs: number;
}

/** An entry under tags/ that is not a well-formed tag, and why. */
export interface DamagedTag {
  path: string;
  problem: string;
}

/** A blob that is missing or whose bytes no longer match its digest. */
export class BlobError extends IngotError {
  override name = "BlobError";
}

/**
 * Stores blobs by sha256 and tags that point at image manifests. Every write goes to a temporary
 * file first and is renamed into place, so an interrupted build leaves no half-written blob or tag.
 *
 * @example
 * const vault = await Vault.open();
 * const digest = await vault.putJson({ hello: "world" });
 * await vault.setTag("hello", "1.0.0", digest);
 */
export class Vault {
  private constructor(readonly root: string) {}

  static async open(root = defaultVaultRoot()): Promise<Vault> {
    const vault = new Vault(root);
    await Promise.all(["blobs/sha256", "tags", "cache", "tmp"].map((dir) => mkdir(join(root, dir), { recursive: true })));
    await vault.#removeStaleTemporaries();
    return vault;
  }

  blobPath(digest: string): string {
    return join(this.root, "blobs", "sha256", hexOf(digest));
  }

  /** A fresh temporary path inside the vault (same file system, so rename is atomic). */
  tempPath(label: string): string {
    return join(this.root, "tmp", `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}-${label}`);
  }

  /**
   * Moves a finished temporary file into the blob store under its digest. A damaged blob already
   * there is replaced, so that rebuilding an image repairs it.
   */
  async adoptBlob(tempFile: string, digest: string): Promise<void> {
    if (await this.#isIntact(digest)) {
      await rm(tempFile, { force: true });
      return;
    }
    await rename(tempFile, this.blobPath(digest));
  }

  async putBytes(data: Uint8Array): Promise<{ digest: string; size: number }> {
    const digest = sha256Digest(data);
    if (!(await this.#isIntact(digest))) {
      const temp = this.tempPath("blob");
      await writeOrExplain(temp, data);
      await this.adoptBlob(temp, digest);
    }
    return { digest, size: data.length };
  }

  /** Copies a host file into the vault, streaming it through sha256. */
  async putFile(path: string): Promise<{ digest: string; size: number }> {
    return this.putStream(createReadStream(path));
  }

  /**
   * Writes a stream (a compressor's output) into a temporary file while hashing it, then moves it
   * into place under its digest. On failure the temporary file is removed and a full disk is named.
   * `producer` (the compressor's exit) must succeed too before the blob is kept.
   */
  async putStream(source: Readable, producer: Promise<unknown> = Promise.resolve(), accept: (digest: string) => void = () => {}): Promise<{ digest: string; size: number }> {
    const temp = this.tempPath("blob");
    const hash = createHash("sha256");
    let size = 0;
    let digest: string;
    // When the write fails first (disk full), the producer fails next (its pipe closed): one failure,
    // reported as the write's, so the producer's rejection must not go unhandled.
    producer.catch(() => {});
    try {
      await pipeline(source, new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          size += chunk.length;
          done(null, chunk);
        },
      }), createWriteStream(temp)).catch((error: unknown) => { throw diskError(error, temp); });
      await producer;
      digest = `sha256:${hash.digest("hex")}`;
      // The caller may refuse bytes it expected to be others (a pinned digest): then nothing is kept.
      accept(digest);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    await this.adoptBlob(temp, digest);
    return { digest, size };
  }

  async putJson(value: unknown): Promise<string> {
    return (await this.putBytes(Buffer.from(canonicalJson(value)))).digest;
  }

  /** Reads a blob and checks its bytes against its digest. */
  async readBlob(digest: string): Promise<Buffer> {
    const data = await readFile(this.blobPath(digest)).catch((error: NodeJS.ErrnoException) => {
      throw new BlobError(`Cannot read blob ${digest} as it is missing from the vault`, {
        code: "blob-missing", hint: `Rebuild or pull the image; the vault is ${this.root}`, cause: error,
      });
    });
    if (sha256Digest(data) !== digest) throw await this.#discardCorrupt(digest);
    return data;
  }

  async readJson<T>(digest: string): Promise<T> {
    return JSON.parse((await this.readBlob(digest)).toString("utf8")) as T;
  }

  /** Streams a (possibly large) blob through sha256 and fails when it does not match its digest. */
  async verifyBlob(digest: string): Promise<void> {
    const path = this.blobPath(digest);
    const hash = createHash("sha256");
    try {
      for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    } catch (error) {
      throw new BlobError(`Cannot read blob ${digest} as it is missing from the vault`, { code: "blob-missing", hint: "Rebuild or pull the image", cause: error });
    }
    if (`sha256:${hash.digest("hex")}` !== digest) throw await this.#discardCorrupt(digest);
  }

  /** Whether the blob is there with the bytes its digest promises. */
  async #isIntact(digest: string): Promise<boolean> {
    return this.verifyBlob(digest).then(() => true, (error: unknown) => {
      if (error instanceof BlobError) return false;
      throw error;
    });
  }

  /** A damaged blob is removed when found, so that the next build or pull writes it again. */
  async #discardCorrupt(digest: string): Promise<BlobError> {
    const path = this.blobPath(digest);
    // A read-only vault keeps it; the error is the same.
    await rm(path, { force: true }).catch(() => {});
    return new BlobError(`Cannot use blob ${digest} as its content no longer matches its digest: ${path}`, {
      code: "blob-corrupt",
      hint: "The vault's copy was damaged and has been removed; build or pull the image again",
    });
  }

  async hasBlob(digest: string): Promise<boolean> {
    return exists(this.blobPath(digest));
  }

  /**
   * Files a statement about an image (its provenance) beside it: the statement is a blob, and
   * attestations/HEX lists the statements of image HEX, one digest a line, oldest first. They are
   * not part of the manifest, so they never change the image's digest.
   */
  async addAttestation(imageDigest: string, statement: unknown): Promise<string> {
    const digest = await this.putJson(statement);
    const listed = await this.attestations(imageDigest);
    if (listed.includes(digest)) return digest;
    await mkdir(join(this.root, "attestations"), { recursive: true });
    const temp = this.tempPath("attestation");
    await writeOrExplain(temp, [...listed, digest].map((line) => `${line}\n`).join(""));
    await rename(temp, join(this.root, "attestations", hexOf(imageDigest)));
    return digest;
  }

  /** The digests of the statements filed about an image, oldest first. */
  async attestations(imageDigest: string): Promise<string[]> {
    const text = await readFile(join(this.root, "attestations", hexOf(imageDigest)), "utf8").catch(() => "");
    return text.split("\n").filter((line) => /^sha256:[0-9a-f]{64}$/.test(line));
  }

  async setTag(name: string, version: string, digest: string): Promise<void> {
    const file = this.#tagFile(name, version);
    await mkdir(dirname(file), { recursive: true });
    const temp = this.tempPath("tag");
    await writeOrExplain(temp, `${digest}\n`);
    await rename(temp, file);
  }

  async removeTag(name: string, version: string): Promise<void> {
    await rm(this.#tagFile(name, version));
  }

  /** Every well-formed tag as {name, version, digest, taggedMs}; see tagListing for the others. */
  async tags(): Promise<Tag[]> {
    return (await this.tagListing()).tags;
  }

  /**
   * Every tag, and apart from them every entry under tags/ that is not one (garbage, a folder where
   * a tag file belongs, a name outside the tag grammar): one damaged entry must not hide the others.
   */
  async tagListing(): Promise<{ tags: Tag[]; damaged: DamagedTag[] }> {
    const tagsDir = join(this.root, "tags");
    const tags: Tag[] = [];
    const damaged: DamagedTag[] = [];
    for (const name of (await readdir(tagsDir)).sort()) {
      const versions = await readdir(join(tagsDir, name)).catch((error: NodeJS.ErrnoException) => {
        damaged.push({ path: join(tagsDir, name), problem: error.code === "ENOTDIR" ? "is a file where a folder of versions belongs" : `cannot be read (${error.code})` });
        return [];
      });
      for (const version of versions.sort()) {
        const tag = await readTag(join(tagsDir, name, version), name, version);
        if ("problem" in tag) damaged.push(tag);
        else tags.push(tag);
      }
    }
    return { tags, damaged };
  }

  /** The file of tag NAME:VERSION, refused unless it lies one folder deep inside tags/. */
  #tagFile(name: string, version: string): string {
    const tagsDir = join(this.root, "tags");
    const problem = tagProblem(name, version);
    const file = resolve(tagsDir, name, version);
    // The grammar already keeps the path inside; the resolved path is checked too, as defence in depth.
    if (problem === undefined && dirname(dirname(file)) === tagsDir) return file;
    throw new IngotError(`Cannot use ${shortened(`${name}:${version}`)} as a tag as ${problem ?? "its path leaves the vault's tags folder"}`, {
      code: "tag-invalid", hint: "A tag is NAME:VERSION, e.g. my-app:1.0.0 (OCI's tag grammar)",
    });
  }

  /** A small JSON cache keyed by a digest of inputs (layer descriptors, resolved versions). */
  async cacheGet<T>(kind: string, key: string): Promise<T | undefined> {
    const text = await readFile(join(this.root, "cache", kind, hexOf(key)), "utf8").catch(() => undefined);
    try {
      return text === undefined ? undefined : (JSON.parse(text) as T);
    } catch {
      // A damaged cache entry is a miss: the value is made again and the entry rewritten.
      return undefined;
    }
  }

  async cacheSet(kind: string, key: string, value: unknown): Promise<void> {
    await mkdir(join(this.root, "cache", kind), { recursive: true });
    const temp = this.tempPath("cache");
    await writeOrExplain(temp, JSON.stringify(value));
    await rename(temp, join(this.root, "cache", kind, hexOf(key)));
  }

  /**
   * A file derived from a blob, made once: `produce` writes it to a temporary path that is then
   * renamed into cache/KIND/HEX.EXTENSION, so a failed or interrupted run never leaves half a file.
   * Its sha256 is recorded beside it (….sha256) and checked on every use: a damaged or unrecorded
   * file is made again rather than booted.
   *
   * @example
   * await vault.cachedFile("kernels-unpacked", kernel.digest, "vmlinux", (temp) => unpackInto(temp));
   */
  async cachedFile(kind: string, digest: string, extension: string, produce: (temp: string) => Promise<void>): Promise<string> {
    const path = join(this.root, "cache", kind, `${hexOf(digest)}.${extension}`);
    const record = `${path}.sha256`;
    const recorded = await readFile(record, "utf8").catch(() => undefined);
    if (recorded !== undefined && (await fileSha256Hex(path).catch(() => undefined)) === recorded.trim()) return path;
    await mkdir(join(this.root, "cache", kind), { recursive: true });
    const temp = this.tempPath(kind);
    const recordTemp = this.tempPath(`${kind}-sha256`);
    try {
      await produce(temp);
      await writeOrExplain(recordTemp, `${await fileSha256Hex(temp)}\n`);
      // The record first: a crash between the two renames leaves a mismatch, which is made again.
      await rename(recordTemp, record);
      await rename(temp, path);
    } catch (error) {
      await Promise.all([rm(temp, { force: true }), rm(recordTemp, { force: true })]);
      throw error;
    }
    return path;
  }

  /**
   * A folder derived from a blob, made once like `cachedFile`: `produce` fills a temporary folder
   * that is then renamed into cache/KIND/HEX, so the folder is either whole or absent.
   *
   * @example
   * await vault.cachedFolder("debs", deb.digest, (temp) => extractInto(deb, temp));
   */
  async cachedFolder(kind: string, digest: string, produce: (temp: string) => Promise<void>): Promise<string> {
    const path = join(this.root, "cache", kind, hexOf(digest));
    if (await exists(path)) return path;
    await mkdir(join(this.root, "cache", kind), { recursive: true });
    const temp = this.tempPath(kind);
    try {
      await mkdir(temp);
      await produce(temp);
      // A concurrent build may have renamed its own copy into place first; a folder cannot be replaced.
      await rename(temp, path).catch(async (error: unknown) => {
        if (!(await exists(path))) throw error;
      });
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
    return path;
  }

  /**
   * Temporary files of builds whose process is gone are leftovers of a crash or a full disk. Their
   * removal is best effort: a read-only vault can still be listed, inspected and booted from.
   */
  async #removeStaleTemporaries(): Promise<void> {
    for (const name of await readdir(join(this.root, "tmp")).catch(() => [])) {
      const pid = Number(name.split("-")[0]);
      if (!Number.isInteger(pid) || !isAlive(pid)) await rm(join(this.root, "tmp", name), { recursive: true, force: true }).catch(() => {});
    }
  }
}

export function sha256Digest(data: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** The sha256 of a file's content, streamed (kernels and runtimes are too large to read whole). */
export async function fileSha256Hex(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** One tag file read back, or why the entry is not a tag. */
async function readTag(file: string, name: string, version: string): Promise<Tag | DamagedTag> {
  const damaged = (problem: string): DamagedTag => ({ path: file, problem });
  const grammar = tagProblem(name, version);
  if (grammar) return damaged(`is not a tag as ${grammar}`);
  const info = await lstat(file).catch(() => undefined);
  if (!info?.isFile()) return damaged(`is a ${info?.isDirectory() ? "folder" : "link or special file"} where a tag file belongs`);
  const text = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => `(${error.code})`);
  if (!/^sha256:[0-9a-f]{64}\n?$/.test(text)) return damaged(`does not hold an image digest: ${shortened(text)}`);
  return { name, version, digest: text.trim(), taggedMs: info.mtimeMs };
}

function hexOf(digest: string): string {
  const hex = digest.startsWith("sha256:") ? digest.slice(7) : digest;
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new IngotError(`Cannot use ${digest} as a digest as it is not sha256:<64 hex digits>`, { code: "digest-invalid" });
  return hex;
}

async function writeOrExplain(path: string, data: Uint8Array | string): Promise<void> {
  try {
    await writeFile(path, data);
  } catch (error) {
    await rm(path, { force: true });
    throw diskError(error, path);
  }
}

/** Turns a write failure into an error that says what to do; the caller has removed its temporaries. */
export function diskError(error: unknown, path: string): IngotError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new IngotError(`Cannot write ${path} as the disk is full`, { code: "disk-full", hint: "Free some space (ingot rm old images) and build again; nothing was half-written", cause: error });
  }
  return new IngotError(`Cannot write ${path} as ${(error as Error).message}`, { code: "disk-write", hint: "Check the vault folder's permissions (INGOT_HOME)", cause: error });
}

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** Whether a process with this pid exists (EPERM: it does, as another user's). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
