// A layer blob decompressed on the host into a file of the vault's cache, optionally through a
// second command (the initrd's recompression): the boot forms of both initrd and disk layers.
import { spawn } from "node:child_process";
import { compressors, type Compression } from "../image/compression.ts";
import type { LayerDescriptor } from "../image/manifest.ts";
import { IngotError } from "../errors.ts";
import type { Vault } from "../vault/vault.ts";

/**
 * @example
 * await unpackLayer(vault, layer, temp, "lz4 -l -9 -q -c", "lz4", "initrd-failed"); // decompressed, then lz4 for the initrd
 */
export async function unpackLayer(vault: Vault, layer: LayerDescriptor, output: string, through: string, step: string, code: string): Promise<void> {
  const decompress = `${compressors[layer.compression as Compression].command} -dc "$0"`;
  const child = spawn("bash", ["-c", `set -o pipefail; ${decompress} | ${through} > "$1"`, vault.blobPath(layer.digest), output], { stdio: ["ignore", "ignore", "inherit"] });
  const status = await new Promise<number>((resolve, reject) => child.on("error", reject).on("close", (code) => resolve(code ?? 1)));
  if (status !== 0) {
    throw new IngotError(`Cannot prepare layer ${layer.name} (${layer.digest}) for booting as its ${step} step failed`, {
      code, hint: "Check the disk has room; apt-get install zstd lz4 xz-utils (scripts/setup.sh installs them)",
    });
  }
}
