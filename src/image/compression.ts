// Layer compressors: each is a host command the kernel's initramfs unpacker can reverse.
// The choice per layer is in layer-plan.ts, backed by the figures in docs/benchmarks.md.
import { IngotError } from "../errors.ts";

export type Compression = "zstd-19" | "zstd-9" | "zstd-3" | "xz" | "gzip" | "lz4";

interface Compressor {
  command: string;
  args: string[];
  /** The Debian package that provides the command, for the error hint. */
  debianPackage: string;
}

/**
 * Every setting is fixed (level, threads, checksum) because the compressed bytes are content-addressed:
 * the same cpio must give the same blob on every machine.
 */
export const compressors: Record<Compression, Compressor> = {
  // zstd's output is the same for any worker count ≥ 1, so -T2 stays reproducible.
  "zstd-19": { command: "zstd", args: ["-19", "-T2", "-q", "-c", "--no-progress"], debianPackage: "zstd" },
  "zstd-9": { command: "zstd", args: ["-9", "-T2", "-q", "-c", "--no-progress"], debianPackage: "zstd" },
  "zstd-3": { command: "zstd", args: ["-3", "-T2", "-q", "-c", "--no-progress"], debianPackage: "zstd" },
  // The kernel's xz decoder accepts only CRC32 or no integrity check; the x86 BCJ filter helps on machine code.
  xz: { command: "xz", args: ["--check=crc32", "--x86", "--lzma2=preset=9", "-T1", "-c"], debianPackage: "xz-utils" },
  gzip: { command: "gzip", args: ["-9", "-n", "-c"], debianPackage: "gzip" },
  // -l writes the legacy frame format, the only one the kernel's lz4 initramfs decoder reads.
  lz4: { command: "lz4", args: ["-l", "-9", "-q", "-c"], debianPackage: "lz4" },
};

export function compressorFor(compression: string): Compressor {
  const compressor = compressors[compression as Compression];
  if (!compressor) {
    throw new IngotError(`Cannot compress a layer as ${compression} as it is not a known compression`, {
      code: "compression-unknown",
      hint: `Use one of ${Object.keys(compressors).join(", ")}`,
    });
  }
  return compressor;
}
