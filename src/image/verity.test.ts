import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { hasCommand, tempDir } from "../../test/helpers.ts";
import { VERITY_BLOCK_BYTES, verityTable, verityTree } from "./verity.ts";

const veritysetupMissing = !hasCommand("veritysetup") && process.env.CI !== "true" && "veritysetup is not installed (apt-get install cryptsetup-bin)";

// Sizes around the tree's boundaries, for blake2b-512 (64-byte digests, 64 to a hash block: new
// layers) and sha256 (128 to a block: older ones): one block (no tree), one hash block (64, 128),
// two (65, 129), a third level (4097 for blake2b-512, 16385 for sha256).
const CASES = [1, 2, 64, 65, 128, 129, 4097, 16385].flatMap((blocks) => (["blake2b-512", "sha256"] as const).map((algorithm) => ({ blocks, algorithm })));
for (const { blocks, algorithm } of CASES) {
  test(`the ${algorithm} hash tree over ${blocks} blocks is the one veritysetup writes, byte for byte`, { skip: veritysetupMissing }, async () => {
    const dir = await tempDir("ingot-verity-");
    try {
      const data = randomBytes(blocks * VERITY_BLOCK_BYTES);
      const file = join(dir.path, "layer.img");
      await writeFile(file, data);
      const result = spawnSync("veritysetup", ["format", "--no-superblock", "--salt=-", `--hash=${algorithm}`, `--hash-offset=${data.length}`, file, file], { encoding: "utf8" });
      assert.equal(result.status, 0, result.stderr);
      const theirs = /Root hash:\s+([0-9a-f]+)/.exec(result.stdout)?.[1];
      const ours = verityTree(data, algorithm);
      assert.equal(ours.algorithm, algorithm);
      assert.equal(ours.rootHash, theirs);
      assert.ok((await readFile(file)).subarray(data.length).equals(ours.tree), "the tree after the data");
      assert.equal(ours.dataBlocks, blocks);
    } finally {
      await dir.remove();
    }
  });
}

test("layers are hashed with blake2b-512 unless told otherwise", () => {
  const { algorithm, rootHash } = verityTree(Buffer.alloc(2 * VERITY_BLOCK_BYTES));
  assert.equal(algorithm, "blake2b-512");
  assert.match(rootHash, /^[0-9a-f]{128}$/);
});

test("any changed byte changes the root hash", () => {
  const data = randomBytes(300 * VERITY_BLOCK_BYTES);
  const before = verityTree(data).rootHash;
  data[200 * VERITY_BLOCK_BYTES + 17]! ^= 1;
  assert.notEqual(verityTree(data).rootHash, before);
});

test("data that is not whole 4 KiB blocks is refused", () => {
  assert.throws(() => verityTree(Buffer.alloc(4097)), /not a positive number of 4 KiB blocks/);
  assert.throws(() => verityTree(Buffer.alloc(0)), /not a positive number of 4 KiB blocks/);
});

test("the device-mapper table names the data and its tree on one device, tree after the data", () => {
  const info = { algorithm: "blake2b-512" as const, rootHash: "ab".repeat(64), dataBlocks: 256, hashBlocks: 5 };
  assert.equal(verityTable(info, "/dev/vdb"), `0 2048 verity 1 /dev/vdb /dev/vdb 4096 4096 256 256 blake2b-512 ${"ab".repeat(64)} -`);
});
