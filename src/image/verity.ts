// dm-verity's hash tree over a layer's filesystem, computed here rather than by veritysetup: the
// root hash goes into the manifest, so it must come out the same on any machine, and hashing in
// process avoids a tool and a temporary copy. Format: version 1, sha256, 4 KiB data and hash blocks,
// no salt, no superblock; the tree is stored right after the data, top level first, as the kernel
// reads it (drivers/md/dm-verity-target.c) and as `veritysetup format --no-superblock --salt=-` writes it.
import { createHash } from "node:crypto";

export const VERITY_BLOCK_BYTES = 4096;
const DIGEST_BYTES = 32;
const DIGESTS_PER_BLOCK = VERITY_BLOCK_BYTES / DIGEST_BYTES;

/** What the guest needs to check a layer: recorded in the manifest, so covered by the image's digest. */
export interface VerityInfo {
  algorithm: "sha256";
  /** Hex sha256 over the tree's top block: every byte of the layer depends on it. */
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
 */
export function verityTree(data: Buffer): VerityTree {
  if (data.length === 0 || data.length % VERITY_BLOCK_BYTES !== 0) {
    throw new Error(`Cannot hash ${data.length} bytes for dm-verity as they are not a positive number of 4 KiB blocks`);
  }
  const dataBlocks = data.length / VERITY_BLOCK_BYTES;
  // One block has no tree: the kernel compares its own digest with the root hash.
  if (dataBlocks === 1) return { algorithm: "sha256", rootHash: sha256(data).toString("hex"), dataBlocks, hashBlocks: 0, tree: Buffer.alloc(0) };
  // Level 0 hashes the data blocks; each level above hashes the one below, up to a single block.
  const levels: Buffer[] = [];
  let below = data;
  do {
    const level = hashBlocksOf(below);
    levels.push(level);
    below = level;
  } while (below.length > VERITY_BLOCK_BYTES);
  const rootHash = sha256(below).toString("hex");
  const tree = Buffer.concat(levels.reverse());
  return { algorithm: "sha256", rootHash, dataBlocks, hashBlocks: tree.length / VERITY_BLOCK_BYTES, tree };
}

/** One level of the tree: the digest of each block of `below`, 128 to a zero-padded block. */
function hashBlocksOf(below: Buffer): Buffer {
  const blocks = below.length / VERITY_BLOCK_BYTES;
  const level = Buffer.alloc(Math.ceil(blocks / DIGESTS_PER_BLOCK) * VERITY_BLOCK_BYTES);
  for (let block = 0; block < blocks; block++) {
    sha256(below.subarray(block * VERITY_BLOCK_BYTES, (block + 1) * VERITY_BLOCK_BYTES)).copy(level, block * DIGEST_BYTES);
  }
  return level;
}

function sha256(data: Buffer): Buffer {
  return createHash("sha256").update(data).digest();
}

/**
 * The device-mapper table that checks a layer whose tree follows its data on the same device.
 *
 * @example
 * verityTable(info, "/dev/vdb"); // "0 2048 verity 1 /dev/vdb /dev/vdb 4096 4096 256 256 sha256 9f… -"
 */
export function verityTable(info: VerityInfo, device: string): string {
  const sectors = (info.dataBlocks * VERITY_BLOCK_BYTES) / 512;
  return `0 ${sectors} verity 1 ${device} ${device} ${VERITY_BLOCK_BYTES} ${VERITY_BLOCK_BYTES} ${info.dataBlocks} ${info.dataBlocks} ${info.algorithm} ${info.rootHash} -`;
}
