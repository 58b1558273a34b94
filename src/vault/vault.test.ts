import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readdir, writeFile } from "node:fs/promises";
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
