import assert from "node:assert/strict";
import { mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { IngotError } from "../errors.ts";
import { type ImageManifest, MANIFEST_MEDIA_TYPE } from "../image/manifest.ts";
import { resolveImage, resolveImageDigest } from "./image-ref.ts";
import { BlobError, Vault } from "./vault.ts";

/** Enough of a manifest for resolving: the resolver reads nothing but the blob. */
function manifest(name: string, version: string): ImageManifest {
  return { mediaType: MANIFEST_MEDIA_TYPE, name, version, user: { name: "app", uid: 1000, gid: 1000 } } as ImageManifest;
}

describe("resolveImage", () => {
  let root: string;
  let vault: Vault;
  const digests: Record<string, string> = {};

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "ingot-ref-"));
    vault = await Vault.open(root);
    for (const [name, version, ageSeconds] of [["hello", "1.0.0", 300], ["hello", "1.1.0", 60], ["hello", "0.9.0", 600], ["web", "2.0.0", 10]] as const) {
      const digest = await vault.putJson(manifest(name, version));
      digests[`${name}:${version}`] = digest;
      await vault.setTag(name, version, digest);
      // Tag age is the tag file's mtime; set it so that "newest" does not depend on version order.
      const when = new Date(Date.now() - ageSeconds * 1000);
      await utimes(join(root, "tags", name, version), when, when);
    }
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test("name:version resolves that tag and reads its manifest", async () => {
    const image = await resolveImage(vault, "hello:1.0.0");
    assert.deepEqual([image.name, image.version, image.digest], ["hello", "1.0.0", digests["hello:1.0.0"]]);
    assert.equal(image.manifest.version, "1.0.0");
  });

  test("a bare name resolves its most recently tagged version", async () => {
    const image = await resolveImage(vault, "hello");
    assert.equal(image.version, "1.1.0");
    assert.equal(image.digest, digests["hello:1.1.0"]);
  });

  test("a full digest, with or without sha256:, and a 12-digit prefix resolve the image", async () => {
    const digest = digests["web:2.0.0"]!;
    for (const ref of [digest, digest.slice(7), digest.slice(0, 19), digest.slice(7, 19)]) {
      const image = await resolveImage(vault, ref);
      assert.equal(image.digest, digest, ref);
      assert.equal(image.name, "web");
    }
  });

  test("a prefix shorter than 12 hex digits is not a digest", async () => {
    await assert.rejects(resolveImage(vault, digests["web:2.0.0"]!.slice(7, 15)), { code: "image-not-found" });
    await assert.rejects(resolveImage(vault, digests["web:2.0.0"]!.slice(0, 15)), { code: "image-ref-invalid" });
  });

  test("a full digest no tag points at still resolves while its blob is there", async () => {
    const digest = await vault.putJson(manifest("old", "0.1.0"));
    const image = await resolveImage(vault, digest);
    assert.equal(image.digest, digest);
    assert.equal(image.name, undefined);
    assert.equal(image.manifest.name, "old");
  });

  test("a digest of a blob that is not a manifest is refused", async () => {
    const digest = await vault.putJson([{ path: "/init", type: "file", mode: 0o755, size: 1 }]);
    await assert.rejects(resolveImage(vault, digest), { code: "image-not-manifest" });
  });

  test("an unknown image is image-not-found with the close tags as hint", async () => {
    await assert.rejects(resolveImage(vault, "helo:1.0.0"), (error: unknown) => {
      assert.ok(error instanceof IngotError);
      assert.equal(error.code, "image-not-found");
      assert.match(error.message, /^Cannot find the image as .*: helo:1\.0\.0$/);
      assert.match(error.hint ?? "", /Did you mean hello:1\.0\.0\?/);
      return true;
    });
    await assert.rejects(resolveImage(vault, "hello:7.0.0"), { code: "image-not-found", hint: /hello has versions 0\.9\.0, 1\.0\.0, 1\.1\.0/ });
    await assert.rejects(resolveImage(vault, "nothing-like-it"), { code: "image-not-found", hint: /ingot images lists what the vault holds/ });
  });

  test("an empty vault says how to build an image", async () => {
    const emptyRoot = await mkdtemp(join(tmpdir(), "ingot-ref-empty-"));
    try {
      await assert.rejects(resolveImage(await Vault.open(emptyRoot), "hello"), { code: "image-not-found", hint: /ingot build DIR/ });
    } finally {
      await rm(emptyRoot, { recursive: true, force: true });
    }
  });

  test("a damaged manifest blob raises the vault's BlobError naming it; the digest alone still resolves", async () => {
    const digest = await vault.putJson(manifest("broken", "1.0.0"));
    await vault.setTag("broken", "1.0.0", digest);
    await writeFile(vault.blobPath(digest), "{}");
    await assert.rejects(resolveImage(vault, "broken:1.0.0"), (error: unknown) => {
      assert.ok(error instanceof BlobError);
      assert.equal(error.code, "blob-corrupt");
      assert.ok(error.message.includes(digest));
      return true;
    });
    assert.equal((await resolveImageDigest(vault, "broken")).digest, digest);
  });
});
