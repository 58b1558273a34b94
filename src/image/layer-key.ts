// The cache key of a layer: a digest of everything that decides its bytes, so an unchanged layer
// is found in the vault instead of being archived and compressed again.
import { createHash } from "node:crypto";
import { fileSha256Hex } from "../vault/vault.ts";
import type { LayerPlan } from "./layer-plan.ts";
import { VERITY_ALGORITHM } from "./verity.ts";

/** Bumped whenever the archive or layer format changes, so stale cached layers are never reused. */
const LAYER_FORMAT = 2;

/**
 * @example
 * const key = await layerKey(plan); // "sha256:…", the same for the same entries and compression
 */
export async function layerKey(plan: LayerPlan): Promise<string> {
  const hash = createHash("sha256");
  // A disk layer's descriptor carries its root hash, so the hash that made it is part of the key.
  hash.update(JSON.stringify([LAYER_FORMAT, plan.name, plan.compression, ...(plan.filesystem ? [plan.filesystem, VERITY_ALGORITHM] : [])]));
  for (const entry of plan.entries) {
    if (entry.type === "file") {
      const content = entry.source.kind === "bytes"
        ? createHash("sha256").update(entry.source.data).digest("hex")
        : entry.source.contentId ?? (await fileSha256Hex(entry.source.path));
      hash.update(JSON.stringify([entry.type, entry.path, entry.mode, content]));
    } else {
      hash.update(JSON.stringify(entry));
    }
  }
  return `sha256:${hash.digest("hex")}`;
}
