import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { after, describe, it } from "node:test";
import { IngotError } from "../errors.ts";
import { AuditLog, REDACTED, redact } from "./audit.ts";
import { SecretStore } from "./secret-store.ts";
import { tempState } from "./testing.ts";

describe("AuditLog", () => {
  const { state, remove } = tempState();
  after(remove);
  const audit = new AuditLog(state);
  const secrets = new SecretStore(state);

  it("records a successful call with the OS user and the secret value redacted", async () => {
    const value = "hunter2-plaintext";
    await audit.run("secret set", { environment: "prod", name: "DB_PASSWORD", value }, () => secrets.set("prod", "DB_PASSWORD", value));
    const [record] = audit.list({ limit: 1 });
    assert.deepEqual({ ...record, id: 0, timeMs: 0 }, {
      id: 0, timeMs: 0, userName: userInfo().username, uid: userInfo().uid, verb: "secret set",
      arguments: { environment: "prod", name: "DB_PASSWORD", value: REDACTED }, outcome: "ok", error: null,
    });
    state.sqlite.pragma("wal_checkpoint(PASSIVE)");
    assert.equal(readFileSync(state.path).includes(value), false);
  });

  it("records a failed call with the error's code and rethrows it", async () => {
    const failure = audit.run("config set", { environment: "nowhere" }, () => {
      throw new IngotError("Cannot find environment nowhere", { code: "environment-unknown" });
    });
    await assert.rejects(failure, { code: "environment-unknown" });
    const [record] = audit.list({ limit: 1 });
    assert.equal(record!.outcome, "failed");
    assert.equal(record!.error, "environment-unknown: Cannot find environment nowhere");
  });

  it("records the caller it is given (the API socket's peer) instead of this process's user", () => {
    audit.record({ verb: "deploy", arguments: { image: "hello:1" }, outcome: "ok", caller: { userName: "operator", uid: 1234 } });
    assert.deepEqual(audit.list({ limit: 1 }).map((record) => [record.userName, record.uid]), [["operator", 1234]]);
  });
});

describe("redact", () => {
  it("redacts every value under a secret-like argument at any depth, keeping names and shape", () => {
    assert.deepEqual(redact({
      environment: "prod",
      values: { DATABASE_URL: "postgres://u:p@db/app" },
      nested: [{ password: "p", keep: "k" }, { apiToken: { raw: "t" } }],
      body: Buffer.from("bytes"),
    }), {
      environment: "prod",
      values: { DATABASE_URL: REDACTED },
      nested: [{ password: REDACTED, keep: "k" }, { apiToken: { raw: REDACTED } }],
      body: REDACTED,
    });
  });

  it("leaves ordinary arguments as they are", () => {
    assert.deepEqual(redact({ image: "hello:1", capacity: 2, force: false, keys: ["A"] }), { image: "hello:1", capacity: 2, force: false, keys: ["A"] });
    assert.equal(redact(undefined), undefined);
  });
});
