// Writes one layer: entries → newc cpio → compressor process → a content-addressed blob in the vault.
import { spawn } from "node:child_process";
import { IngotError } from "../errors.ts";
import type { Vault } from "../vault/vault.ts";
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
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve, reject) => {
    child.on("error", (error: NodeJS.ErrnoException) =>
      reject(error.code === "ENOENT"
        ? new IngotError(`Cannot compress a layer as ${command} is not installed`, { code: "compressor-missing", hint: `apt-get install ${debianPackage}`, cause: error })
        : error));
    child.on("close", (status) => status === 0
      ? resolve()
      : reject(new IngotError(`Cannot compress a layer as ${command} failed: ${stderr.trim() || `exit status ${status}`}`, { code: "compressor-failed" })));
  });
  const writer = new CpioWriter(child.stdin);
  const writeArchive = async (): Promise<void> => {
    child.stdin.on("error", () => {}); // a dying compressor is reported through its exit status
    for (const entry of entries) await writer.add(entry);
    await writer.close();
    child.stdin.end();
  };
  try {
    const [, { digest, size }] = await Promise.all([writeArchive(), vault.putStream(child.stdout, exited)]);
    return { digest, size, uncompressedSize: writer.bytesWritten };
  } catch (error) {
    child.kill();
    throw error;
  }
}
