import { test } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "../../test/helpers.ts";
import { Vault } from "./vault.ts";

async function vaultIn(t: { after: (fn: () => Promise<void>) => void }): Promise<{ vault: Vault; outside: string }> {
  const dir = await tempDir("ingot-vault-");
  t.after(dir.remove);
  return { vault: await Vault.open(join(dir.path, "vault")), outside: dir.path };
}

test("a tag whose name or version would leave tags/ is refused, and nothing is written outside the vault", async (t) => {
  const { vault, outside } = await vaultIn(t);
  const digest = await vault.putJson({ hello: "world" });
  for (const [name, version] of [["hello", "../../../x"], ["..", "1.0.0"], ["a/b", "1"], ["hello", "."], ["hello", ".."], ["hello", `x${"y".repeat(200)}`], ["", "1"]]) {
    await assert.rejects(vault.setTag(name!, version!, digest), { code: "tag-invalid" }, `${name}:${version}`);
    await assert.rejects(vault.removeTag(name!, version!), { code: "tag-invalid" }, `${name}:${version}`);
  }
  assert.deepEqual((await readdir(outside)).sort(), ["vault"]);
  assert.deepEqual(await readdir(join(outside, "vault", "tags")), []);
  await vault.setTag("hello", "1.0.0-rc.1+build.5", digest);
  assert.deepEqual((await vault.tags()).map((tag) => `${tag.name}:${tag.version}`), ["hello:1.0.0-rc.1+build.5"]);
});

test("damaged entries under tags/ are skipped and reported; the other tags are still listed", async (t) => {
  const { vault } = await vaultIn(t);
  const digest = await vault.putJson({ hello: "world" });
  await vault.setTag("good", "1.0.0", digest);
  const tags = join(vault.root, "tags");
  await mkdir(join(tags, "dir", "1.0.0"), { recursive: true });
  await mkdir(join(tags, "garbage"));
  await writeFile(join(tags, "garbage", "1.0.0"), "\u001b[31mnot a digest");
  await writeFile(join(tags, "file-not-folder"), "x");
  await mkdir(join(tags, "Bad Name"));
  await writeFile(join(tags, "Bad Name", "1"), `${digest}\n`);
  const listing = await vault.tagListing();
  assert.deepEqual(listing.tags.map((tag) => `${tag.name}:${tag.version}`), ["good:1.0.0"]);
  assert.deepEqual(listing.damaged.map((entry) => [entry.path.slice(tags.length + 1), entry.problem.split(/[:(]/)[0]!.trim()]), [
    ["Bad Name/1", "is not a tag as its name is not lowercase letters and digits joined by single '.', '_' or '-'"],
    ["dir/1.0.0", "is a folder where a tag file belongs"],
    ["file-not-folder", "is a file where a folder of versions belongs"],
    ["garbage/1.0.0", "does not hold an image digest"],
  ]);
  assert.deepEqual((await vault.tags()).length, 1);
});

async function flipByte(path: string): Promise<void> {
  const data = await readFile(path);
  data[Math.floor(data.length / 2)]! ^= 0xff;
  await writeFile(path, data);
}

test("a damaged blob is removed when a read finds it, and replaced when its content is written again", async (t) => {
  const { vault, outside } = await vaultIn(t);
  const { digest } = await vault.putBytes(Buffer.from("the same bytes, twice"));
  await flipByte(vault.blobPath(digest));
  await vault.putBytes(Buffer.from("the same bytes, twice"));
  assert.equal((await vault.readBlob(digest)).toString(), "the same bytes, twice");

  const source = join(outside, "layer");
  await writeFile(source, "a layer".repeat(1000));
  const stored = await vault.putFile(source);
  await flipByte(vault.blobPath(stored.digest));
  await vault.putFile(source);
  await vault.verifyBlob(stored.digest);

  await flipByte(vault.blobPath(stored.digest));
  await assert.rejects(vault.verifyBlob(stored.digest), { code: "blob-corrupt", hint: /has been removed; build or pull the image again/ });
  assert.equal(await vault.hasBlob(stored.digest), false, "the next build writes it again");
});

test("a derived cache file is checked against its recorded sha256 on every use and made again when damaged", async (t) => {
  const { vault } = await vaultIn(t);
  const digest = await vault.putJson({ kernel: 1 });
  let made = 0;
  const produce = async (temp: string): Promise<void> => { made++; await writeFile(temp, "unpacked kernel ".repeat(100)); };
  const path = await vault.cachedFile("kernels-unpacked", digest, "vmlinux", produce);
  assert.equal(await vault.cachedFile("kernels-unpacked", digest, "vmlinux", produce), path);
  assert.equal(made, 1);
  await flipByte(path);
  await vault.cachedFile("kernels-unpacked", digest, "vmlinux", produce);
  assert.equal(made, 2);
  assert.equal(await readFile(path, "utf8"), "unpacked kernel ".repeat(100));
  await rm(`${path}.sha256`);
  await vault.cachedFile("kernels-unpacked", digest, "vmlinux", produce);
  assert.equal(made, 3, "a file without a record (made before records existed) is made again");
  assert.deepEqual(await readdir(join(vault.root, "tmp")), []);
});

test("a damaged layer cache entry is a miss, not a crash", async (t) => {
  const { vault } = await vaultIn(t);
  const key = await vault.putJson({ key: 1 });
  await vault.cacheSet("layers", key, { digest: "x" });
  await writeFile(join(vault.root, "cache", "layers", key.slice(7)), "{not json");
  assert.equal(await vault.cacheGet("layers", key), undefined);
});

test("a vault the user cannot write, holding a stale temporary file, still opens and lists its tags", { skip: process.geteuid!() !== 0 && process.env.CI !== "true" && "needs root to act as another user (CI runs as root, so it never skips there)" }, async (t) => {
  const { vault, outside } = await vaultIn(t);
  await vault.setTag("hello", "1.0.0", await vault.putJson({ hello: "world" }));
  await writeFile(join(vault.root, "tmp", "999999999-1-abc-blob"), "left by a crashed build");
  await chmod(outside, 0o755);
  // Opened as an unprivileged user (root writes everywhere); restored before any assertion can throw.
  process.seteuid!(65534);
  const opened = await Vault.open(vault.root).then((readOnly) => readOnly.tags()).finally(() => process.seteuid!(0));
  assert.deepEqual(opened.map((tag) => tag.name), ["hello"]);
});
