// dm-verity's hash tree over a layer's filesystem, computed here rather than by veritysetup: the
// root hash goes into the manifest, so it must come out the same on any machine, and hashing in
// process avoids a tool and a temporary copy. Format: version 1, 4 KiB data and hash blocks, no
// salt, no superblock; the tree is stored right after the data, top level first, as the kernel
// reads it (drivers/md/dm-verity-target.c) and as `veritysetup format --no-superblock --salt=-` writes it.
import { createHash } from "node:crypto";
import { IngotError } from "../errors.ts";

export const VERITY_BLOCK_BYTES = 4096;

/**
 * The hashes a layer's tree may use, by the kernel's name, with Node's name for the same digest and
 * its size.
 * blake2b-512 is what builds use: the guest checks every block it reads, and under an emulated CPU
 * (TCG) the kernel's portable blake2b runs ~1.7× faster than its fastest sha256, which made boots
 * ~1 s slower than the initrd form (docs/benchmarks.md). sha256 stays readable for images built
 * before it.
 */
const ALGORITHMS = { "blake2b-512": { node: "blake2b512", bytes: 64 }, sha256: { node: "sha256", bytes: 32 } } as const;
export type VerityAlgorithm = keyof typeof ALGORITHMS;
export const VERITY_ALGORITHM: VerityAlgorithm = "blake2b-512";

/** What the guest needs to check a layer: recorded in the manifest, so covered by the image's digest. */
export interface VerityInfo {
  /** The kernel crypto API's name for the hash, as the device-mapper table takes it. */
  algorithm: VerityAlgorithm;
  /** Hex digest over the tree's top block: every byte of the layer depends on it. */
  rootHash: string;
  /** The filesystem's size in 4 KiB blocks; its hash tree starts at this block. */
  dataBlocks: number;
  /** The tree's size in 4 KiB blocks. */
  hashBlocks: number;
}

export interface VerityTree extends VerityInfo {
  /** The hash blocks, top level first, to append after the data. */
  tree: Buffer;
}

/**
 * @example
 * const { rootHash, tree } = verityTree(erofsImage); // erofsImage.length % 4096 === 0
 * verityTree(erofsImage, "sha256"); // the tree of an image built before blake2b-512
 */
export function verityTree(data: Buffer, algorithm: VerityAlgorithm = VERITY_ALGORITHM): VerityTree {
  if (data.length === 0 || data.length % VERITY_BLOCK_BYTES !== 0) {
    throw new Error(`Cannot hash ${data.length} bytes for dm-verity as they are not a positive number of 4 KiB blocks`);
  }
  const { node, bytes } = ALGORITHMS[knownVerityAlgorithm(algorithm)];
  const digest = (block: Buffer): Buffer => createHash(node).update(block).digest();
  const dataBlocks = data.length / VERITY_BLOCK_BYTES;
  // One block has no tree: the kernel compares its own digest with the root hash.
  if (dataBlocks === 1) return { algorithm, rootHash: digest(data).toString("hex"), dataBlocks, hashBlocks: 0, tree: Buffer.alloc(0) };
  // Level 0 hashes the data blocks; each level above hashes the one below, up to a single block.
  const levels: Buffer[] = [];
  let below = data;
  do {
    const level = hashBlocksOf(below, digest, bytes);
    levels.push(level);
    below = level;
  } while (below.length > VERITY_BLOCK_BYTES);
  const rootHash = digest(below).toString("hex");
  const tree = Buffer.concat(levels.reverse());
  return { algorithm, rootHash, dataBlocks, hashBlocks: tree.length / VERITY_BLOCK_BYTES, tree };
}

/** One level of the tree: the digest of each block of `below`, as many as fit to a zero-padded block. */
function hashBlocksOf(below: Buffer, digest: (block: Buffer) => Buffer, digestBytes: number): Buffer {
  const blocks = below.length / VERITY_BLOCK_BYTES;
  const perBlock = VERITY_BLOCK_BYTES / digestBytes;
  const level = Buffer.alloc(Math.ceil(blocks / perBlock) * VERITY_BLOCK_BYTES);
  for (let block = 0; block < blocks; block++) {
    digest(below.subarray(block * VERITY_BLOCK_BYTES, (block + 1) * VERITY_BLOCK_BYTES)).copy(level, block * digestBytes);
  }
  return level;
}

/**
 * A manifest's algorithm, refused unless ingot knows it: it comes from the image (perhaps pulled)
 * and names cache files.
 *
 * @example
 * knownVerityAlgorithm("md5"); // throws verity-algorithm
 */
export function knownVerityAlgorithm(algorithm: string): VerityAlgorithm {
  if (!Object.hasOwn(ALGORITHMS, algorithm)) {
    throw new IngotError(`Cannot check a layer hashed with ${algorithm} as ingot knows only ${Object.keys(ALGORITHMS).join(" and ")}`, {
      code: "verity-algorithm", hint: "The image was built by another tool or a newer ingot: rebuild it with this one (ingot build)",
    });
  }
  return algorithm as VerityAlgorithm;
}

/**
 * The device-mapper table that checks a layer whose tree follows its data on the same device.
 *
 * @example
 * verityTable(info, "/dev/vdb"); // "0 2048 verity 1 /dev/vdb /dev/vdb 4096 4096 256 256 blake2b-512 9f… -"
 */
export function verityTable(info: VerityInfo, device: string): string {
  const sectors = (info.dataBlocks * VERITY_BLOCK_BYTES) / 512;
  return `0 ${sectors} verity 1 ${device} ${device} ${VERITY_BLOCK_BYTES} ${VERITY_BLOCK_BYTES} ${info.dataBlocks} ${info.dataBlocks} ${info.algorithm} ${info.rootHash} -`;
}
