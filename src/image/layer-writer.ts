// Writes one layer: its entries as a newc cpio (the initrd form) or an EROFS filesystem with its
// dm-verity tree (the disk form), through a compressor process into a content-addressed blob.
import { spawn } from "node:child_process";
import { once } from "node:events";
import type { Writable } from "node:stream";
import { IngotError } from "../errors.ts";
import type { Vault } from "../vault/vault.ts";
import { type Compression, compressorFor } from "./compression.ts";
import { CpioWriter, type Entry } from "./cpio.ts";
import { writeErofs } from "./erofs.ts";
import type { LayerFilesystem } from "./layer-plan.ts";
import { type VerityInfo, verityTree } from "./verity.ts";

export interface WrittenLayer {
  digest: string;
  size: number;
  /** What the compressed blob unpacks to: the cpio, or the filesystem (its hash tree is made on unpacking). */
  uncompressedSize: number;
  /** Disk-form layers only: how the guest checks every block it reads. */
  verity?: VerityInfo;
}

/**
 * @example
 * const layer = await writeLayer(vault, { entries, compression: "zstd-19" });
 * const disk = await writeLayer(vault, { entries, compression: "xz", filesystem: { kind: "erofs", compression: "none" } });
 */
export async function writeLayer(vault: Vault, plan: { entries: Entry[]; compression: Compression; filesystem?: LayerFilesystem | undefined }): Promise<WrittenLayer> {
  if (!plan.filesystem) {
    let cpioBytes = 0;
    const written = await compressedBlob(vault, plan.compression, async (sink) => {
      const writer = new CpioWriter(sink);
      for (const entry of plan.entries) await writer.add(entry);
      await writer.close();
      cpioBytes = writer.bytesWritten;
    });
    return { ...written, uncompressedSize: cpioBytes };
  }
  const filesystem = await writeErofs(vault, plan.entries, plan.filesystem);
  // The tree is not stored: it is ~1.6% of the layer and digests do not compress, while the
  // host makes it again in a fraction of a second when it unpacks the layer (layer-disks.ts),
  // checking the root hash on the way.
  const { tree: _tree, ...verity } = verityTree(filesystem);
  const written = await compressedBlob(vault, plan.compression, async (sink) => {
    if (!sink.write(filesystem)) await once(sink, "drain");
  });
  return { ...written, uncompressedSize: filesystem.length, verity };
}

/**
 * Streams what `write` produces through the compressor into the vault; nothing is loaded whole
 * into memory, and on any failure the temporary file is removed.
 */
async function compressedBlob(vault: Vault, compression: Compression, write: (sink: Writable) => Promise<void>): Promise<{ digest: string; size: number }> {
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
  const produce = async (): Promise<void> => {
    child.stdin.on("error", () => {}); // a dying compressor is reported through its exit status
    await write(child.stdin);
    child.stdin.end();
  };
  try {
    const [, stored] = await Promise.all([produce(), vault.putStream(child.stdout, exited)]);
    return stored;
  } catch (error) {
    child.kill();
    throw error;
  }
}
