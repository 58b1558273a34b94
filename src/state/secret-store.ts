// Secrets (ingot secret set|rm|ls): AES-256-GCM at rest, values handed out only to build an instance.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { join } from "node:path";
import { IngotError } from "../errors.ts";
import type { StateDatabase } from "./database.ts";
import { Environments } from "./environments.ts";
import { assertNameFree, assertNotAccessoryVariable, variableName, variableValue } from "./names.ts";
import { loadSecretKey } from "./secret-key.ts";

export interface SecretListing {
  name: string;
  /** The environment's config version this secret was set in. */
  version: number;
}

interface SealedSecret { nonce: Buffer; ciphertext: Buffer; auth_tag: Buffer }

/**
 * Stores each secret encrypted with a fresh 12-byte nonce; its environment and name are the
 * additional authenticated data, so a row copied onto another secret fails to decrypt instead of
 * handing one secret's value out as another's. The key is read (or created) on first use only.
 *
 * @example
 * const secrets = new SecretStore(state);
 * secrets.set("prod", "DATABASE_PASSWORD", "hunter2"); // → 3 (the config version)
 * secrets.list("prod"); // → [{ name: "DATABASE_PASSWORD", version: 3 }]
 * secrets.reveal("prod").values.DATABASE_PASSWORD; // → "hunter2"
 */
export class SecretStore {
  readonly #environments: Environments;
  readonly #keyFile: string;
  #key: Buffer | undefined;

  constructor(private readonly state: StateDatabase, options: { keyFile?: string } = {}) {
    this.#environments = new Environments(state);
    this.#keyFile = options.keyFile ?? join(state.folder, "secret.key");
  }

  /**
   * Encrypts and stores a secret; returns the environment's config version afterwards. A secret an
   * accessory provides is refused unless `byAccessory` (the accessory setting its own URL).
   */
  set(environment: string, name: string, value: string, options: { byAccessory?: boolean } = {}): number {
    variableName(name, "secret name");
    this.#environments.get(environment);
    const sealed = this.#seal(environment, name, variableValue(name, value));
    return this.state.transaction(() => {
      assertNameFree(this.state, environment, name, "config");
      if (!options.byAccessory) assertNotAccessoryVariable(this.state, environment, name);
      const version = this.#environments.bumpConfigVersion(environment);
      this.state.sqlite.prepare("INSERT INTO secrets (environment, name, nonce, ciphertext, auth_tag, version) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET nonce = excluded.nonce, ciphertext = excluded.ciphertext, auth_tag = excluded.auth_tag, version = excluded.version")
        .run(environment, name, sealed.nonce, sealed.ciphertext, sealed.auth_tag, version);
      return version;
    });
  }

  /** Removes a secret; returns the environment's config version afterwards. `byAccessory` as for set. */
  remove(environment: string, name: string, options: { byAccessory?: boolean } = {}): number {
    return this.state.transaction(() => {
      this.#environments.get(environment);
      if (!options.byAccessory) assertNotAccessoryVariable(this.state, environment, name);
      if (this.state.sqlite.prepare("DELETE FROM secrets WHERE environment = ? AND name = ?").run(environment, name).changes === 0) {
        throw new IngotError(`Cannot remove secret ${name} from environment ${environment} as it does not exist`, {
          code: "secret-unknown",
          hint: `See the secrets it has: ingot secret ls --env ${environment}`,
        });
      }
      return this.#environments.bumpConfigVersion(environment);
    });
  }

  /** Names and versions only, sorted by name: listing never needs the key. */
  list(environment: string): SecretListing[] {
    this.#environments.get(environment);
    return this.state.sqlite.prepare<[string], SecretListing>("SELECT name, version FROM secrets WHERE environment = ? ORDER BY name").all(environment);
  }

  /** Every value in the clear with the config version they belong to: for an instance's configuration only. */
  reveal(environment: string): { version: number; values: Record<string, string> } {
    const { version, rows } = this.state.read(() => ({
      version: this.#environments.get(environment).configVersion,
      rows: this.state.sqlite.prepare<[string], SealedSecret & { name: string }>("SELECT name, nonce, ciphertext, auth_tag FROM secrets WHERE environment = ? ORDER BY name").all(environment),
    }));
    return { version, values: Object.fromEntries(rows.map((row) => [row.name, this.#open(environment, row.name, row)])) };
  }

  #seal(environment: string, name: string, value: string): SealedSecret {
    const nonce = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.#secretKey(), nonce).setAAD(associatedData(environment, name));
    const ciphertext = Buffer.concat([cipher.update(value, "utf8"), cipher.final()]);
    return { nonce, ciphertext, auth_tag: cipher.getAuthTag() };
  }

  #open(environment: string, name: string, sealed: SealedSecret): string {
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.#secretKey(), sealed.nonce).setAAD(associatedData(environment, name)).setAuthTag(sealed.auth_tag);
      return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString("utf8");
    } catch (error) {
      if (error instanceof IngotError) throw error;
      throw new IngotError(`Cannot decrypt secret ${name} of environment ${environment} as it does not authenticate under this secret key`, {
        code: "secret-undecryptable",
        hint: `If secret.key was replaced, restore it from a backup; otherwise set it again: ingot secret set --env ${environment} ${name}`,
        cause: error,
      });
    }
  }

  #secretKey(): Buffer {
    this.#key ??= loadSecretKey(this.#keyFile);
    return this.#key;
  }
}

/** Binds a ciphertext to the one secret it belongs to; names cannot contain NUL, so this is unambiguous. */
function associatedData(environment: string, name: string): Buffer {
  return Buffer.from(`ingot-secret\0${environment}\0${name}`, "utf8");
}
