import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmodSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { IngotError } from "../errors.ts";
import { ConfigStore } from "./config-store.ts";
import { SecretStore } from "./secret-store.ts";
import { tempState } from "./testing.ts";

const PLAINTEXT = "correct-horse-battery-staple-7f3a";

function assertUndecryptable(secrets: SecretStore, environment: string, name: string): void {
  assert.throws(() => secrets.reveal(environment), (error: unknown) => {
    assert.ok(error instanceof IngotError);
    assert.equal(error.code, "secret-undecryptable");
    assert.match(error.message, new RegExp(`secret ${name} of environment ${environment}`));
    return true;
  });
}

describe("SecretStore", () => {
  const { state, folder, remove } = tempState();
  after(remove);
  const secrets = new SecretStore(state);
  const sqlite = state.sqlite;

  it("round-trips a value, sharing the environment's config version", () => {
    new ConfigStore(state).set("prod", { LOG_LEVEL: "info" });
    assert.equal(secrets.set("prod", "DATABASE_PASSWORD", PLAINTEXT), 2);
    assert.equal(secrets.set("prod", "API_TOKEN", "ünïcode\nand lines"), 3);
    assert.deepEqual(secrets.list("prod"), [{ name: "API_TOKEN", version: 3 }, { name: "DATABASE_PASSWORD", version: 2 }]);
    assert.deepEqual(secrets.reveal("prod"), { version: 3, values: { API_TOKEN: "ünïcode\nand lines", DATABASE_PASSWORD: PLAINTEXT } });
    assert.equal(statSync(join(folder, "secret.key")).mode & 0o777, 0o600);
  });

  it("never writes the plaintext to the database, its WAL or anywhere in the state folder", () => {
    sqlite.pragma("wal_checkpoint(PASSIVE)");
    for (const name of readdirSync(folder).filter((file) => file !== "secret.key")) {
      assert.equal(readFileSync(join(folder, name)).includes(PLAINTEXT), false, name);
    }
  });

  it("uses a fresh nonce for every encryption", () => {
    const nonce = () => sqlite.prepare("SELECT nonce FROM secrets WHERE environment = 'prod' AND name = 'DATABASE_PASSWORD'").pluck().get() as Buffer;
    const before = nonce();
    secrets.set("prod", "DATABASE_PASSWORD", PLAINTEXT);
    assert.equal(nonce().length, 12);
    assert.notDeepEqual(nonce(), before);
  });

  it("binds a ciphertext to its environment and name: a row moved to another secret fails", () => {
    secrets.set("test", "DATABASE_PASSWORD", "test-password");
    sqlite.prepare("INSERT INTO secrets (environment, name, nonce, ciphertext, auth_tag, version) SELECT 'test', 'STOLEN', nonce, ciphertext, auth_tag, version FROM secrets WHERE environment = 'prod' AND name = 'DATABASE_PASSWORD'").run();
    assertUndecryptable(secrets, "test", "STOLEN");
    sqlite.prepare("DELETE FROM secrets WHERE environment = 'test' AND name = 'STOLEN'").run();
    sqlite.prepare("UPDATE secrets SET (nonce, ciphertext, auth_tag) = (SELECT nonce, ciphertext, auth_tag FROM secrets WHERE environment = 'prod' AND name = 'DATABASE_PASSWORD') WHERE environment = 'test'").run();
    assertUndecryptable(secrets, "test", "DATABASE_PASSWORD");
  });

  it("detects a tampered ciphertext or tag and names the secret", () => {
    secrets.set("dev", "TAMPERED", PLAINTEXT);
    sqlite.prepare("UPDATE secrets SET ciphertext = ? WHERE environment = 'dev' AND name = 'TAMPERED'").run(Buffer.from(PLAINTEXT.replace("horse", "house")));
    assertUndecryptable(secrets, "dev", "TAMPERED");
    secrets.set("dev", "TAMPERED", PLAINTEXT);
    sqlite.prepare("UPDATE secrets SET auth_tag = ? WHERE environment = 'dev' AND name = 'TAMPERED'").run(randomBytes(16));
    assertUndecryptable(secrets, "dev", "TAMPERED");
  });

  it("refuses to decrypt under another key instead of returning garbage", () => {
    const keyFile = join(folder, "other.key");
    writeFileSync(keyFile, randomBytes(32), { mode: 0o600 });
    assertUndecryptable(new SecretStore(state, { keyFile }), "prod", "API_TOKEN");
  });

  it("refuses a key file others can read before revealing anything", () => {
    const keyFile = join(folder, "secret.key");
    chmodSync(keyFile, 0o644);
    assert.throws(() => new SecretStore(state).reveal("prod"), { code: "secret-key-permissions" });
    chmodSync(keyFile, 0o600);
  });

  it("removes a secret with a new version and refuses to remove one that does not exist", () => {
    const version = secrets.reveal("prod").version;
    assert.equal(secrets.remove("prod", "API_TOKEN"), version + 1);
    assert.throws(() => secrets.remove("prod", "API_TOKEN"), { code: "secret-unknown" });
    assert.deepEqual(Object.keys(secrets.reveal("prod").values), ["DATABASE_PASSWORD"]);
  });

  it("refuses a name that is already a config key, or reserved, changing nothing", () => {
    const version = secrets.reveal("prod").version;
    assert.throws(() => secrets.set("prod", "LOG_LEVEL", "x"), { code: "variable-name-taken" });
    assert.throws(() => secrets.set("prod", "INGOT_SECRET", "x"), { code: "variable-name-reserved" });
    assert.throws(() => secrets.set("nowhere", "NAME", "x"), { code: "environment-unknown" });
    assert.equal(secrets.reveal("prod").version, version);
  });

  it("lists names without the key, so a missing key only matters when values are needed", () => {
    const keyless = new SecretStore(state, { keyFile: join(folder, "absent", "secret.key") });
    assert.deepEqual(keyless.list("prod").map((secret) => secret.name), ["DATABASE_PASSWORD"]);
  });
});
