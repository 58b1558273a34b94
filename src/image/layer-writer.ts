// Writes one layer: entries → newc cpio → compressor process → a content-addressed blob in the vault.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";
import { IngotError } from "../errors.ts";
import { diskError, type Vault } from "../vault/vault.ts";
import { type Compression, compressorFor } from "./compression.ts";
import { CpioWriter, type Entry } from "./cpio.ts";

export interface WrittenLayer {
  digest: string;
  size: number;
  uncompressedSize: number;
}

/**
 * Streams the entries through the compressor into the vault; nothing is loaded whole into memory,
 * and on any failure the temporary file is removed.
 *
 * @example
 * const layer = await writeLayer(vault, entries, "zstd-19");
 */
export async function writeLayer(vault: Vault, entries: Entry[], compression: Compression): Promise<WrittenLayer> {
  const { command, args, debianPackage } = compressorFor(compression);
  const temp = vault.tempPath("layer");
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
  const exited = new Promise<number>((resolve, reject) => {
    child.on("error", (error: NodeJS.ErrnoException) =>
      reject(error.code === "ENOENT"
        ? new IngotError(`Cannot compress a layer as ${command} is not installed`, { code: "compressor-missing", hint: `apt-get install ${debianPackage}`, cause: error })
        : error));
    child.on("close", (code) => resolve(code ?? 1));
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));

  const hash = createHash("sha256");
  let size = 0;
  const hasher = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  const counted = { bytes: 0 };
  const writeArchive = async (): Promise<void> => {
    const writer = new CpioWriter(child.stdin);
    child.stdin.on("error", () => {}); // a dying compressor is reported through its exit status
    for (const entry of entries) await writer.add(entry);
    await writer.close();
    counted.bytes = writer.bytesWritten;
    child.stdin.end();
  };
  try {
    const [, , status] = await Promise.all([
      writeArchive(),
      pipeline(child.stdout, hasher, createWriteStream(temp)).catch((error: unknown) => { throw diskError(error, temp); }),
      exited,
    ]);
    if (status !== 0) throw new IngotError(`Cannot compress a layer as ${command} failed: ${stderr.trim() || `exit status ${status}`}`, { code: "compressor-failed" });
  } catch (error) {
    child.kill();
    await rm(temp, { force: true });
    throw error;
  }
  const digest = `sha256:${hash.digest("hex")}`;
  await vault.adoptBlob(temp, digest);
  return { digest, size, uncompressedSize: counted.bytes };
}
