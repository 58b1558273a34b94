// Image references: name:version, name (its newest tag), a digest or a unique digest prefix → manifest.
import { editDistance } from "../config/schema.ts";
import { IngotError } from "../errors.ts";
import { type ImageManifest, MANIFEST_MEDIA_TYPE } from "../image/manifest.ts";
import type { Vault } from "./vault.ts";

export interface ResolvedImage {
  /** The tag the reference went through; absent for a digest that no tag points at. */
  name?: string;
  version?: string;
  digest: string;
  manifest: ImageManifest;
}

type Tag = Awaited<ReturnType<Vault["tags"]>>[number];

/** Digest prefixes shorter than this are too likely to be typos or to match several images. */
const MIN_PREFIX_HEX = 12;

/**
 * Finds the image a user means and reads its manifest, verifying the manifest blob against its digest
 * (a damaged blob raises the vault's BlobError, which names it).
 *
 * @example
 * await resolveImage(vault, "hello:1.0.0");
 * await resolveImage(vault, "hello");              // the most recently tagged hello
 * await resolveImage(vault, "sha256:1167f1145063"); // a unique prefix of the digest
 */
export async function resolveImage(vault: Vault, ref: string): Promise<ResolvedImage> {
  const { manifest, ...image } = await locate(vault, ref);
  return { ...image, manifest: manifest ?? (await readManifest(vault, image.digest)) };
}

/**
 * Like resolveImage without reading a tagged image's manifest, so that `ingot rm` can remove the tag
 * of an image whose manifest blob is damaged.
 *
 * @example
 * const { digest } = await resolveImageDigest(vault, "hello");
 */
export async function resolveImageDigest(vault: Vault, ref: string): Promise<Omit<ResolvedImage, "manifest">> {
  const { manifest: _manifest, ...image } = await locate(vault, ref);
  return image;
}

async function locate(vault: Vault, ref: string): Promise<Omit<ResolvedImage, "manifest"> & { manifest?: ImageManifest }> {
  const tags = await vault.tags();
  const found = await findImage(vault, tags, ref);
  if (!found) throw notFound(ref, tags);
  const tag = found.tag ?? newest(tags.filter((candidate) => candidate.digest === found.digest));
  return { ...(tag ? { name: tag.name, version: tag.version } : {}), digest: found.digest, ...(found.manifest ? { manifest: found.manifest } : {}) };
}

async function findImage(vault: Vault, tags: Tag[], ref: string): Promise<{ digest: string; tag?: Tag; manifest?: ImageManifest } | undefined> {
  if (!ref.startsWith("sha256:")) {
    const colon = ref.indexOf(":");
    if (colon >= 0) {
      const tag = tags.find((candidate) => candidate.name === ref.slice(0, colon) && candidate.version === ref.slice(colon + 1));
      return tag && { digest: tag.digest, tag };
    }
    const tag = newest(tags.filter((candidate) => candidate.name === ref));
    if (tag) return { digest: tag.digest, tag };
  }
  const hex = ref.replace(/^sha256:/, "");
  if (!/^[0-9a-f]+$/.test(hex) || hex.length < MIN_PREFIX_HEX || hex.length > 64) {
    if (ref.startsWith("sha256:")) {
      throw new IngotError(`Cannot find an image by digest as it is not sha256:<${MIN_PREFIX_HEX} to 64 hex digits>: ${ref}`, {
        code: "image-ref-invalid", hint: "Copy the digest from ingot images",
      });
    }
    return undefined;
  }
  const digests = [...new Set(tags.map((tag) => tag.digest))].filter((digest) => digest.slice(7).startsWith(hex));
  if (digests.length > 1) {
    throw new IngotError(`Cannot choose an image by digest prefix as it matches ${digests.length} images: ${ref}`, {
      code: "image-ambiguous", hint: `Give more digits: ${digests.map((digest) => digest.slice(0, 7 + hex.length + 4)).join(", ")}`,
    });
  }
  if (digests[0]) return { digest: digests[0] };
  // A full digest may name an image whose tags were removed: its blobs stay until garbage collection.
  if (hex.length === 64) return untaggedManifest(vault, `sha256:${hex}`);
  return undefined;
}

async function untaggedManifest(vault: Vault, digest: string): Promise<{ digest: string; manifest: ImageManifest } | undefined> {
  if (!(await vault.hasBlob(digest))) return undefined;
  return { digest, manifest: await readManifest(vault, digest) };
}

/**
 * Reads a blob as an image manifest, verified against its digest; a blob that is not one (a tag
 * pointing at a layer or a file list) is an error naming it rather than a crash further on.
 *
 * @example
 * const manifest = await readManifest(vault, tag.digest);
 */
export async function readManifest(vault: Vault, digest: string): Promise<ImageManifest> {
  const data = await vault.readBlob(digest);
  let manifest: Partial<ImageManifest> | null | undefined;
  try {
    manifest = JSON.parse(data.toString("utf8")) as Partial<ImageManifest> | null;
  } catch {
    manifest = undefined;
  }
  if (manifest?.mediaType !== MANIFEST_MEDIA_TYPE) {
    throw new IngotError(`Cannot use blob ${digest} as an image as it is not an image manifest (a layer, kernel or file list?)`, {
      code: "image-not-manifest", hint: "ingot images lists the images' digests",
    });
  }
  return manifest as ImageManifest;
}

function newest(tags: Tag[]): Tag | undefined {
  return tags.reduce<Tag | undefined>((best, tag) => (!best || tag.taggedMs >= best.taggedMs ? tag : best), undefined);
}

function notFound(ref: string, tags: Tag[]): IngotError {
  const name = ref.split(":")[0]!;
  const versions = tags.filter((tag) => tag.name === name).map((tag) => tag.version);
  let hint = tags.length === 0 ? "The vault holds no images yet: build one with ingot build DIR" : "ingot images lists what the vault holds";
  if (versions.length > 0) hint = `${name} has versions ${versions.join(", ")}; ${hint}`;
  else {
    const candidates = [...new Set([...tags.map((tag) => `${tag.name}:${tag.version}`), ...tags.map((tag) => tag.name)])];
    const distances = candidates.map((candidate) => editDistance(ref, candidate));
    const closest = Math.min(...distances);
    const close = candidates.filter((_, index) => closest <= 2 && distances[index] === closest);
    if (close.length > 0) hint = `Did you mean ${close.join(" or ")}? ${hint}`;
  }
  return new IngotError(`Cannot find the image as no tag or digest in the vault matches: ${ref}`, { code: "image-not-found", hint });
}
