// `ingot build [DIR] [--tag NAME:VERSION] [--kernel K] [--locked] [--initrd] [--json]`
import { buildImage } from "../image/build.ts";
import { flag, type Parsed } from "./args.ts";
import { formatBytes } from "./format.ts";

export const buildVerb = {
  async run(args: Parsed): Promise<number> {
    const json = flag(args, "json") === "true";
    const result = await buildImage(args.positionals[0] ?? ".", {
      tag: flag(args, "tag"),
      kernel: flag(args, "kernel"),
      locked: flag(args, "locked") === "true",
      form: flag(args, "initrd") === "true" ? "initrd" : "disk",
      log: json ? undefined : (line) => console.error(line),
    });
    const { manifest } = result;
    const totalBytes = manifest.kernel.size + manifest.layers.reduce((sum, layer) => sum + layer.size, 0);
    if (json) {
      console.log(JSON.stringify({
        image: result.image, digest: result.digest, runtime: result.runtime,
        kernel: { version: manifest.kernel.version, digest: manifest.kernel.digest, size: manifest.kernel.size },
        layers: result.layers.map(({ name, digest, size, uncompressedSize, compression, verity, cached }) => ({ name, digest, size, uncompressedSize, compression, ...(verity ? { rootHash: verity.rootHash } : {}), cached })),
        totalBytes, lockChanges: result.lockChanges, durationMs: Math.round(result.durationMs),
      }, null, 2));
      return 0;
    }
    console.log(`image   ${result.image}`);
    console.log(`digest  ${result.digest}`);
    console.log(`kernel  ${manifest.kernel.version}  ${formatBytes(manifest.kernel.size)}`);
    for (const layer of result.layers) {
      console.log(`layer   ${layer.name.padEnd(8)} ${formatBytes(layer.size).padStart(9)}  (${formatBytes(layer.uncompressedSize)} unpacked, ${layer.compression}${layer.cached ? ", cached" : ""})  ${layer.digest.slice(0, 19)}`);
    }
    console.log(`total   ${formatBytes(totalBytes)} (kernel + ${manifest.layers.some((layer) => layer.verity) ? "layers" : "initrd"})`);
    console.log(`built in ${(result.durationMs / 1000).toFixed(2)} s`);
    return 0;
  },
};
