// `ingot export IMAGE --format raw|qcow2|vmdk|vhd [-o FILE] [--env NAME] [--force] [--json]`:
// one bootable GPT disk of an image; the work is src/export/export-disk.ts.
import { diskFormat, DISK_FORMATS } from "../export/disk-formats.ts";
import { exportDisk } from "../export/export-disk.ts";
import { resolveImage } from "../vault/image-ref.ts";
import { Vault } from "../vault/vault.ts";
import { flag, type Parsed } from "./args.ts";
import { formatBytes } from "./format.ts";

/**
 * @example
 * // $ ingot export hello:1.0.0 --format qcow2
 * // Exported hello:1.0.0 (sha256:1167f1145063) for prod to hello-1.0.0.qcow2: qcow2, 41.2 MB (disk 172 MB) in 4.1 s
 */
export const exportVerb = {
  async run(args: Parsed): Promise<number> {
    const ref = args.positionals[0]!; // declared <IMAGE>: the parser made sure there is exactly one
    // Refused before the vault is even opened: an unknown format costs nothing.
    const format = diskFormat(flag(args, "format")!);
    const vault = await Vault.open();
    const { name, version, digest, manifest } = await resolveImage(vault, ref);
    const shown = name ? `${name}:${version}` : `${manifest.name}:${manifest.version}`;
    const output = flag(args, "output") ?? `${manifest.name}-${manifest.version}.${DISK_FORMATS[format].extension}`;
    const environment = flag(args, "env") ?? "prod";
    const result = await exportDisk(vault, { digest, manifest }, { environment, format, output, force: flag(args, "force") === "true" });
    if (flag(args, "json") === "true") {
      // The partitions' sources are the vault's cache and a folder already removed: not for the user.
      const partitions = result.layout.partitions.map(({ source: _source, ...partition }) => partition);
      console.log(JSON.stringify({ image: shown, digest, environment, ...result, layout: { ...result.layout, partitions } }, null, 2));
      return 0;
    }
    console.log(`Exported ${shown} (${digest.slice(0, 19)}) for ${environment} to ${result.output}: ${format}, ${formatBytes(result.fileBytes)}${format === "raw" ? ` (${formatBytes(result.allocatedBytes)} allocated)` : ` (disk ${formatBytes(result.diskBytes)})`} in ${(result.elapsedMs / 1000).toFixed(1)} s`);
    return 0;
  },
};
