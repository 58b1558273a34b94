// `ingot images [--json]`: the vault's tags with each image's size, runtime and age.
import { IngotError } from "../errors.ts";
import type { ImageManifest } from "../image/manifest.ts";
import { readManifest } from "../vault/image-ref.ts";
import { type Tag, Vault } from "../vault/vault.ts";
import { flag, type Parsed } from "./args.ts";
import { formatBytes, table } from "./format.ts";

interface ImageRow {
  name: string;
  version: string;
  digest: string;
  /** Kernel plus compressed layers: what a VM host downloads and boots; null when the manifest is damaged. */
  size: number | null;
  runtime: string | null;
  taggedAt: string;
  taggedMs: number;
  /** Why the manifest could not be read (a damaged or missing blob). */
  error?: string;
}

/**
 * @example
 * // $ ingot images
 * // NAME   VERSION  DIGEST               SIZE      RUNTIME       BUILT
 * // hello  1.0.0    sha256:1167f1145063  46.1 MiB  node 22.23.3  3 minutes ago
 */
export const imagesVerb = {
  async run(args: Parsed): Promise<number> {
    const vault = await Vault.open();
    const { tags, damaged } = await vault.tagListing();
    const rows = await imageRows(vault, tags);
    // A damaged entry under tags/ is skipped so that every other image is still listed.
    for (const entry of damaged) console.error(`warning: skipped ${entry.path} as it ${entry.problem}; remove it with: rm -r ${JSON.stringify(entry.path)}`);
    if (flag(args, "json") === "true") {
      console.log(JSON.stringify(rows.map(({ taggedMs: _taggedMs, ...row }) => row), null, 2));
      return 0;
    }
    if (rows.length === 0) {
      console.log("No images yet: build one with ingot build DIR");
      return 0;
    }
    const now = Date.now();
    console.log(table([
      ["NAME", "VERSION", "DIGEST", "SIZE", "RUNTIME", "BUILT"],
      ...rows.map((row) => [row.name, row.version, row.digest.slice(0, 19), row.size === null ? "?" : formatBytes(row.size), row.runtime ?? "damaged", relativeAge(now - row.taggedMs)]),
    ]));
    for (const row of rows.filter((row) => row.error)) console.error(`warning: ${row.name}:${row.version}: ${row.error}`);
    return 0;
  },
};

/** Sorted by name, newest tag first, as `ingot inspect NAME` picks the newest. */
async function imageRows(vault: Vault, tags: Tag[]): Promise<ImageRow[]> {
  tags.sort((a, b) => a.name.localeCompare(b.name) || b.taggedMs - a.taggedMs);
  return Promise.all(tags.map(async ({ name, version, digest, taggedMs }): Promise<ImageRow> => {
    const base = { name, version, digest, taggedAt: new Date(taggedMs).toISOString(), taggedMs };
    try {
      const manifest = await readManifest(vault, digest);
      return { ...base, size: manifest.kernel.size + manifest.layers.reduce((sum, layer) => sum + layer.size, 0), runtime: runtimeOf(manifest) };
    } catch (error) {
      // One damaged image (a damaged blob, a tag pointing at a layer) should not hide the others; inspect and rm still name it.
      if (!(error instanceof IngotError)) throw error;
      return { ...base, size: null, runtime: null, error: error.message };
    }
  }));
}

function runtimeOf(manifest: ImageManifest): string {
  return manifest.runtime.kind === "node" ? `node ${manifest.runtime.version}` : "elf";
}

/** @example relativeAge(180_000) // "3 minutes ago" */
function relativeAge(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return seconds < 10 ? "just now" : `${seconds} seconds ago`;
  const units: [string, number][] = [["year", 365 * 86400], ["month", 30 * 86400], ["week", 7 * 86400], ["day", 86400], ["hour", 3600], ["minute", 60]];
  const [unit, size] = units.find(([, size]) => seconds >= size)!;
  const count = Math.floor(seconds / size);
  return `${count} ${unit}${count === 1 ? "" : "s"} ago`;
}
