// A disk-form image's layers as the guest gets them: one raw file per layer (the EROFS filesystem
// with its dm-verity tree after it), unpacked once from its blob into the vault's cache, its tree
// made there, shared read-only by every instance; and the kernel arguments that check and stack them.
import { appendFile, readFile } from "node:fs/promises";
import type { ImageManifest, LayerDescriptor } from "../image/manifest.ts";
import { knownVerityAlgorithm, verityTable, verityTree } from "../image/verity.ts";
import { IngotError } from "../errors.ts";
import type { Vault } from "../vault/vault.ts";
import { unpackLayer } from "./layer-unpack.ts";

/** Whether the image's layers are verified disks (built by default) rather than an initrd. */
export function isDiskImage(manifest: Pick<ImageManifest, "layers">): boolean {
  return manifest.layers.length > 0 && manifest.layers.every((layer) => layer.verity !== undefined);
}

/** The guest's name for the i-th disk: QEMU numbers virtio disks in the order they are given. */
export function layerDevice(index: number): string {
  return `/dev/vd${String.fromCharCode("a".charCodeAt(0) + index)}`;
}

/**
 * dm-mod.create sets up one verity device per layer before the kernel mounts its root: dm-0, the
 * base layer, is that root (init runs from it); init stacks the others, named by ingot.layers, on
 * it. A block that does not match its hash is an I/O error in the guest, whoever changed it.
 * `deviceOf` names each layer's device: a disk of its own by default, a partition on an exported disk.
 *
 * @example
 * layerCmdline(manifest); // 'root=/dev/dm-0 dm-mod.create="base,,,ro,0 48 verity 1 /dev/vda …;runtime,,,ro,…" ingot.layers=runtime,app'
 */
export function layerCmdline(manifest: Pick<ImageManifest, "layers">, deviceOf: (index: number) => string = layerDevice): string {
  const tables = manifest.layers.map((layer, index) => `${layer.name},,,ro,${verityTable(verityOf(layer), deviceOf(index))}`);
  return [`root=/dev/dm-0`, `dm-mod.create="${tables.join(";")}"`, `ingot.layers=${manifest.layers.slice(1).map((layer) => layer.name).join(",")}`].join(" ");
}

function verityOf(layer: LayerDescriptor): NonNullable<LayerDescriptor["verity"]> {
  if (!layer.verity) throw new IngotError(`Cannot boot layer ${layer.name} as a disk as it has no verity root hash`, { code: "layer-not-disk", hint: "Rebuild the image with this ingot" });
  return layer.verity;
}

/**
 * Verifies each layer's blob and returns its disk file, unpacked once per layer digest: an
 * app-only change unpacks only the app layer.
 *
 * @example
 * const disks = await layerDisks(vault, manifest); // ["/…/cache/layer-disks/…", …], in layer order
 */
export async function layerDisks(vault: Vault, manifest: Pick<ImageManifest, "layers">): Promise<string[]> {
  const disks = [];
  for (const layer of manifest.layers) {
    await vault.verifyBlob(layer.digest);
    // The blob holds the filesystem only, so the tree's hash names the disk too.
    const algorithm = knownVerityAlgorithm(verityOf(layer).algorithm);
    disks.push(await vault.cachedFile("layer-disks", layer.digest, `${algorithm}.img`, (temp) => unpack(vault, layer, temp)));
  }
  return disks;
}

/**
 * The blob holds the filesystem only; its dm-verity tree is made here and appended. Its root hash
 * must be the manifest's: a blob that unpacks to other blocks is refused before any guest sees it.
 */
async function unpack(vault: Vault, layer: LayerDescriptor, temp: string): Promise<void> {
  await unpackLayer(vault, layer, temp, "cat", "unpack", "layer-disk-failed");
  const { tree, rootHash } = verityTree(await readFile(temp), verityOf(layer).algorithm);
  if (rootHash !== verityOf(layer).rootHash) {
    throw new IngotError(`Cannot boot layer ${layer.name} (${layer.digest}) as its blocks do not match the root hash in the image's manifest`, {
      code: "layer-root-hash", hint: "The blob was written by another ingot or damaged: rebuild the image (ingot build)",
    });
  }
  await appendFile(temp, tree);
}
