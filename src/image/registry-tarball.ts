// A package tarball from the npm registry, kept in the vault as a blob: downloaded once, checked
// against the registry's integrity and, when ingot.lock pins it, the tarball's sha256. The Node.js
// runtime and the package managers (npm, pnpm, Yarn) are both fetched this way.
import { createHash } from "node:crypto";
import { Readable, Transform } from "node:stream";
import { IngotError } from "../errors.ts";
import type { Vault } from "../vault/vault.ts";

export interface RegistryTarball {
  /** What the tarball is, for messages: "the Node.js runtime", "pnpm 9.12.0". */
  what: string;
  /** What the lock calls it: "node 22.23.5", "pnpm 9.12.0". */
  locked: string;
  tarball: string;
  /** The registry's Subresource Integrity string (sha512-…). */
  integrity: string;
  /** sha256:… the lock pins, when it does. */
  digest?: string;
}

/** The npm registry ingot asks: npm's own setting, so a mirror works the same for both. */
export const registry = (): string => (process.env.npm_config_registry ?? "https://registry.npmjs.org").replace(/\/$/, "");

/**
 * Downloads the tarball into the vault as a blob; returns its sha256 digest. Bytes that match
 * neither the integrity nor the pinned digest are refused and nothing is kept.
 *
 * @example
 * await downloadTarball(vault, { what: "pnpm 9.12.0", locked: "pnpm 9.12.0", tarball: "https://registry.npmjs.org/pnpm/-/pnpm-9.12.0.tgz", integrity: "sha512-…" });
 */
export async function downloadTarball(vault: Vault, pinned: RegistryTarball): Promise<string> {
  const url = pinned.tarball;
  const [algorithm, expected] = pinned.integrity.split("-", 2) as [string, string];
  const response = await fetch(url).catch((error: unknown) => {
    throw new IngotError(`Cannot download ${pinned.what} as the npm registry is unreachable: ${url}`, {
      code: "registry-unreachable", hint: "Check the network and try again; once downloaded, a tarball is kept in the vault", cause: error,
    });
  });
  if (!response.ok || !response.body) throw new IngotError(`Cannot download ${url} as the registry answered ${response.status}`, { code: "registry-error", hint: "Try again later" });
  const hash = createHash(algorithm);
  const hasher = new Transform({ transform(chunk: Buffer, _encoding, done) { hash.update(chunk); done(null, chunk); } });
  const integrityChecked = Promise.resolve().then(async () => {
    await new Promise<void>((resolve, reject) => hasher.on("end", resolve).on("error", reject));
    const actual = hash.digest("base64");
    if (actual !== expected) {
      throw new IngotError(`Cannot use ${pinned.what} from ${url} as its ${algorithm} does not match the registry's integrity`, {
        code: "runtime-integrity", hint: `Expected ${pinned.integrity}, got ${algorithm}-${actual}; try again, and report it if it persists`,
      });
    }
  });
  const source = Readable.fromWeb(response.body as import("node:stream/web").ReadableStream).pipe(hasher);
  // putStream keeps the blob only when the integrity matches and, for a pinned tarball, the sha256 too.
  const stored = await vault.putStream(source, integrityChecked, (digest) => {
    if (pinned.digest && digest !== pinned.digest) {
      throw new IngotError(`Cannot use ${pinned.locked} from ${url} as its sha256 is not the one ingot.lock pins: ${digest}, locked ${pinned.digest}`, {
        code: "lock-digest-mismatch", hint: "The registry serves other bytes under this version; check with your team, then ingot lock --update re-pins it",
      });
    }
  });
  return stored.digest;
}
