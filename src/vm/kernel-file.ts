// The kernel file QEMU boots: a bzImage blob as is, or a vmlinux.xz blob unpacked once into the cache.
import { execFile } from "node:child_process";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { ImageManifest } from "../image/manifest.ts";
import type { Vault } from "../vault/vault.ts";

const run = promisify(execFile);

/**
 * @example
 * await kernelFile(vault, manifest.kernel); // ".../cache/kernels-unpacked/149016ff….vmlinux"
 */
export async function kernelFile(vault: Vault, kernel: ImageManifest["kernel"]): Promise<string> {
  if (kernel.format !== "vmlinux.xz") return vault.blobPath(kernel.digest);
  const dir = join(vault.root, "cache", "kernels-unpacked");
  const path = join(dir, `${kernel.digest.replace("sha256:", "")}.vmlinux`);
  if (await stat(path).then(() => true, () => false)) return path;
  await mkdir(dir, { recursive: true });
  const temp = vault.tempPath("vmlinux");
  try {
    await run("sh", ["-c", `xz -dc "$0" > "$1"`, vault.blobPath(kernel.digest), temp]);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return path;
}
