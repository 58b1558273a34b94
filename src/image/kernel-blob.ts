// How the kernel is stored in the vault: the uncompressed vmlinux inside the distribution's bzImage,
// recompressed with xz. Debian's cloud kernel is an LZ4 bzImage of 13.5 MiB; its vmlinux as xz is
// ~8 MiB, and QEMU boots a vmlinux directly through its PVH entry point, skipping the in-guest
// decompression too. The host unpacks the blob once per kernel (src/vm/kernel-cache.ts).
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { open, rm, stat } from "node:fs/promises";
import { IngotError } from "../errors.ts";
import { fileSha256Hex, type Vault } from "../vault/vault.ts";
import { pipeline } from "node:stream/promises";

export type KernelFormat = "vmlinux.xz" | "bzImage";

export interface KernelBlob {
  digest: string;
  size: number;
  /** The bytes QEMU loads (the vmlinux or the bzImage): what the instance's memory must hold. */
  uncompressedSize: number;
  format: KernelFormat;
}

/** The payload compressions a bzImage may use, by their magic bytes, with the command that unpacks them. */
const PAYLOADS: { name: string; magic: Buffer; unpack: string[] }[] = [
  { name: "lz4", magic: Buffer.from([0x02, 0x21, 0x4c, 0x18]), unpack: ["lz4", "-dc"] },
  { name: "zstd", magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), unpack: ["zstd", "-dcq"] },
  { name: "xz", magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), unpack: ["xz", "-dc"] },
  { name: "gzip", magic: Buffer.from([0x1f, 0x8b, 0x08]), unpack: ["gzip", "-dc"] },
];

/** Bumped when the way kernels are stored changes. */
const KERNEL_FORMAT_VERSION = 2;

/**
 * Puts the kernel into the vault once per file: as vmlinux.xz when it is, or its payload can be
 * unpacked to, an ELF with a PVH entry note, otherwise as the bzImage itself.
 *
 * @example
 * await kernelBlob(vault, "/boot/vmlinuz-6.1.0-56-cloud-amd64"); // { digest, size: 8362644, format: "vmlinux.xz" }
 */
export async function kernelBlob(vault: Vault, bzImage: string): Promise<KernelBlob> {
  const key = `sha256:${createHash("sha256").update(`${KERNEL_FORMAT_VERSION}:${await fileSha256Hex(bzImage)}`).digest("hex")}`;
  const cached = await vault.cacheGet<KernelBlob>("kernels", key);
  if (cached && (await vault.hasBlob(cached.digest))) return cached;
  const blob = (await vmlinuxXz(vault, bzImage))
    ?? { ...(await vault.putFile(bzImage)), uncompressedSize: (await stat(bzImage)).size, format: "bzImage" as const };
  await vault.cacheSet("kernels", key, blob);
  return blob;
}

async function vmlinuxXz(vault: Vault, bzImage: string): Promise<KernelBlob | undefined> {
  const data = await readWhole(bzImage);
  // ingot's own kernel is installed as the vmlinux itself.
  if (isBootableVmlinux(data)) return storeVmlinux(vault, bzImage, data.length);
  for (const payload of PAYLOADS) {
    for (let at = data.indexOf(payload.magic); at >= 0; at = data.indexOf(payload.magic, at + 1)) {
      const vmlinux = vault.tempPath("vmlinux");
      try {
        await run(payload.unpack, data.subarray(at), vmlinux);
        const unpacked = await readWhole(vmlinux);
        if (isBootableVmlinux(unpacked)) return await storeVmlinux(vault, vmlinux, unpacked.length);
      } catch {
        // Not the payload (a stray magic inside the setup code): try the next occurrence.
      } finally {
        await rm(vmlinux, { force: true });
      }
    }
  }
  return undefined;
}

async function storeVmlinux(vault: Vault, vmlinux: string, size: number): Promise<KernelBlob> {
  return { ...(await compressInto(vault, vmlinux)), uncompressedSize: size, format: "vmlinux.xz" };
}

/** Runs a decompressor on `input`, writing to `output`; trailing garbage after the payload is fine. */
async function run(command: string[], input: Buffer, output: string): Promise<void> {
  const child = spawn(command[0]!, command.slice(1), { stdio: ["pipe", "pipe", "ignore"] });
  const exited = new Promise<void>((resolve, reject) => child.on("error", reject).on("close", () => resolve()));
  child.stdin.on("error", () => {});
  child.stdin.end(input);
  await Promise.all([pipeline(child.stdout, createWriteStream(output)), exited]);
  if ((await stat(output)).size === 0) throw new Error("empty payload");
}

async function compressInto(vault: Vault, file: string): Promise<{ digest: string; size: number }> {
  const child = spawn("xz", ["--check=crc32", "-9", "-T1", "-c", file], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve, reject) => child.on("error", reject).on("close", (status) => status === 0
    ? resolve()
    : reject(new IngotError("Cannot compress the kernel as xz failed", { code: "compressor-failed", hint: "apt-get install xz-utils" }))));
  return vault.putStream(child.stdout, exited);
}

/**
 * A 64-bit x86-64 ELF with XEN_ELFNOTE_PHYS32_ENTRY (18) in a "Xen" note: the PVH entry point QEMU
 * needs to boot a vmlinux. (Read by hand: kernel addresses exceed what readElf accepts.)
 */
function isBootableVmlinux(data: Buffer): boolean {
  if (data.length < 20 || data.readUInt32BE(0) !== 0x7f454c46 || data[4] !== 2 || data.readUInt16LE(18) !== 62) return false;
  const name = Buffer.from("Xen\0");
  for (let at = data.indexOf(name); at >= 12; at = data.indexOf(name, at + 1)) {
    if (data.readUInt32LE(at - 12) === 4 && data.readUInt32LE(at - 4) === 18) return true;
  }
  return false;
}

async function readWhole(path: string): Promise<Buffer> {
  const handle = await open(path, "r");
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}
