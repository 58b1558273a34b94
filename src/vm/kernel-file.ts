// The kernel file QEMU boots: a bzImage blob as is, or a vmlinux.xz blob unpacked once into the cache.
import { execFile } from "node:child_process";
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
  return vault.cachedFile("kernels-unpacked", kernel.digest, "vmlinux", async (temp) => {
    await run("sh", ["-c", `xz -dc "$0" > "$1"`, vault.blobPath(kernel.digest), temp]);
  });
}
