// `ingot rm IMAGE`: removes an image's tags. Its blobs stay: other images share layers and the
// kernel, so freeing them needs a garbage collection over every tag (a later `ingot gc`).
import { IngotError } from "../errors.ts";
import { resolveImageDigest } from "../vault/image-ref.ts";
import { Vault } from "../vault/vault.ts";
import type { Parsed } from "./args.ts";

/**
 * `rm hello:1.0.0` removes that tag; `rm hello` the tags of hello pointing at its newest image;
 * `rm sha256:1167f1145063` every tag pointing at that image.
 *
 * @example
 * // $ ingot rm hello:1.0.0
 * // Removed hello:1.0.0 (sha256:1167f1145063)
 */
export const rmVerb = {
  async run(args: Parsed): Promise<number> {
    const ref = args.positionals[0]!; // declared <IMAGE>: the parser made sure there is exactly one
    const vault = await Vault.open();
    const image = await resolveImageDigest(vault, ref);
    const pointing = (await vault.tags()).filter((tag) => tag.digest === image.digest);
    const removed = ref === `${image.name}:${image.version}`
      ? pointing.filter((tag) => tag.name === image.name && tag.version === image.version)
      : ref === image.name ? pointing.filter((tag) => tag.name === image.name) : pointing;
    if (removed.length === 0) {
      console.log(`No tags point at ${image.digest.slice(0, 19)}; its blobs stay until garbage collection`);
      return 0;
    }
    for (const tag of removed) {
      await vault.removeTag(tag.name, tag.version).catch((error: NodeJS.ErrnoException) => {
        // Removed meanwhile by another ingot: the outcome the user asked for.
        if (error.code === "ENOENT") return;
        throw new IngotError(`Cannot remove tag ${tag.name}:${tag.version} as ${error.message}`, { code: "tag-remove", hint: "Check the vault folder's permissions (INGOT_HOME)", cause: error });
      });
      console.log(`Removed ${tag.name}:${tag.version} (${tag.digest.slice(0, 19)})`);
    }
    return 0;
  },
};
