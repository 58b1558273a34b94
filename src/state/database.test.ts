import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { IngotError } from "../errors.ts";
import { StateDatabase } from "./database.ts";
import { migrations } from "./migrations.ts";

const root = mkdtempSync(join(tmpdir(), "ingot-database-"));
after(() => rmSync(root, { recursive: true, force: true }));
let folders = 0;
const newFolder = () => join(root, `state-${++folders}`);

/** Fills a database with enough rows to span many pages, then closes it (checkpointing the WAL). */
function populatedDatabase(): string {
  const folder = newFolder();
  const state = StateDatabase.open({ folder });
  const insert = state.sqlite.prepare("INSERT INTO events (time_ms, kind, data) VALUES (?, 'test', ?)");
  for (let index = 0; index < 2000; index++) insert.run(index, JSON.stringify({ index, padding: "x".repeat(100) }));
  state.close();
  return folder;
}

function assertRefusedUntouched(folder: string, code: string): void {
  const before = readFileSync(join(folder, "ingot.db"));
  assert.throws(() => StateDatabase.open({ folder }), (error: unknown) => {
    assert.ok(error instanceof IngotError);
    assert.equal(error.code, code);
    assert.match(error.hint ?? "", /backup|move it aside|Upgrade/);
    return true;
  });
  assert.deepEqual(readFileSync(join(folder, "ingot.db")), before, "the refused database is byte-identical");
}

describe("StateDatabase", () => {
  it("creates an owner-only folder and file in WAL mode with foreign keys on", () => {
    const folder = newFolder();
    const state = StateDatabase.open({ folder });
    assert.equal(statSync(folder).mode & 0o777, 0o700);
    assert.equal(statSync(state.path).mode & 0o777, 0o600);
    assert.equal(state.sqlite.pragma("journal_mode", { simple: true }), "wal");
    assert.equal(state.sqlite.pragma("foreign_keys", { simple: true }), 1);
    assert.ok(Number(state.sqlite.pragma("busy_timeout", { simple: true })) > 0);
    assert.deepEqual(state.sqlite.prepare("SELECT name FROM environments ORDER BY rowid").pluck().all(), ["dev", "test", "prod"]);
    state.close();
  });

  it("applies every migration once and changes nothing on reopen", () => {
    const folder = newFolder();
    const first = StateDatabase.open({ folder });
    const applied = first.sqlite.prepare("SELECT version, name, applied_ms FROM schema_migrations ORDER BY version").all();
    assert.equal(first.schemaVersion, migrations.at(-1)!.version);
    assert.deepEqual(applied.map((row) => (row as { version: number }).version), migrations.map((migration) => migration.version));
    first.close();
    const second = StateDatabase.open({ folder });
    assert.deepEqual(second.sqlite.prepare("SELECT version, name, applied_ms FROM schema_migrations ORDER BY version").all(), applied);
    assert.equal(second.sqlite.prepare("SELECT count(*) FROM environments").pluck().get(), 3);
    second.close();
  });

  it("lets two connections open the same database at once", () => {
    const folder = newFolder();
    const first = StateDatabase.open({ folder });
    const second = StateDatabase.open({ folder });
    first.sqlite.prepare("INSERT INTO events (time_ms, kind) VALUES (1, 'seen')").run();
    assert.equal(second.sqlite.prepare("SELECT kind FROM events").pluck().get(), "seen");
    first.close();
    second.close();
  });

  it("refuses a database a newer ingot migrated, leaving it as it is", () => {
    const folder = newFolder();
    StateDatabase.open({ folder, migrations: [...migrations, { version: migrations.length + 1, name: "from the future", sql: "CREATE TABLE future (id INTEGER)" }] }).close();
    assertRefusedUntouched(folder, "state-newer");
    const sqlite = new Database(join(folder, "ingot.db"), { readonly: true });
    assert.equal(sqlite.prepare("SELECT max(version) FROM schema_migrations").pluck().get(), migrations.length + 1);
    sqlite.close();
  });

  it("refuses a database whose applied migration has another name", () => {
    const folder = newFolder();
    StateDatabase.open({ folder }).close();
    const renamed = migrations.map((migration, index) => (index === 0 ? { ...migration, name: "renamed on another branch" } : migration));
    assert.throws(() => StateDatabase.open({ folder, migrations: renamed }), { code: "state-migration-mismatch" });
  });

  it("refuses a file of garbage bytes and leaves it byte-identical", () => {
    const folder = newFolder();
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, "ingot.db"), randomBytes(64 * 1024));
    assertRefusedUntouched(folder, "state-corrupt");
  });

  for (const keptBytes of [100, 4096, 60_000]) {
    it(`refuses a real database truncated to ${keptBytes} bytes and leaves it byte-identical`, () => {
      const folder = populatedDatabase();
      assert.ok(statSync(join(folder, "ingot.db")).size > 200_000);
      truncateSync(join(folder, "ingot.db"), keptBytes);
      assertRefusedUntouched(folder, "state-corrupt");
    });
  }

  it("refuses an SQLite database that is not ingot's", () => {
    const folder = newFolder();
    mkdirSync(folder, { recursive: true });
    const foreign = new Database(join(folder, "ingot.db"));
    foreign.exec("CREATE TABLE photos (id INTEGER PRIMARY KEY)");
    foreign.close();
    assertRefusedUntouched(folder, "state-corrupt");
  });

  it("rolls back a migration that fails, recording nothing", () => {
    const folder = newFolder();
    const broken = [...migrations, { version: migrations.length + 1, name: "broken", sql: "CREATE TABLE half (id INTEGER); SELECT * FROM missing_table" }];
    assert.throws(() => StateDatabase.open({ folder, migrations: broken }), /missing_table/);
    const state = StateDatabase.open({ folder });
    assert.equal(state.sqlite.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'half'").pluck().get(), 0);
    assert.equal(state.schemaVersion, migrations.length);
    state.close();
  });

  it("refuses a database path that is a folder, with a hint", () => {
    const folder = newFolder();
    mkdirSync(join(folder, "ingot.db"), { recursive: true });
    assert.throws(() => StateDatabase.open({ folder }), { code: "state-create" });
  });

  it("refuses a migration list with a gap (two branches numbering alike)", () => {
    assert.throws(() => StateDatabase.open({ folder: newFolder(), migrations: [migrations[0]!, { version: 3, name: "gap", sql: "" }] }), /expected 2/);
  });

  it("upgrades a version 3 database to a degraded column, keeping what it had and checking the JSON", () => {
    const folder = newFolder();
    const old = StateDatabase.open({ folder, migrations: migrations.slice(0, 3) });
    old.sqlite.prepare("UPDATE environments SET stopped_ms = 42 WHERE name = 'prod'").run();
    old.close();
    const state = StateDatabase.open({ folder });
    assert.equal(state.schemaVersion, migrations.length);
    assert.deepEqual(state.sqlite.prepare("SELECT stopped_ms, degraded FROM environments WHERE name = 'prod'").get(), { stopped_ms: 42, degraded: null });
    assert.throws(() => state.sqlite.prepare("UPDATE environments SET degraded = 'not json' WHERE name = 'prod'").run(), /CHECK constraint failed/);
    state.close();
  });

  it("upgrades a version 4 database to a canary column on deployments, keeping its deploys", () => {
    const folder = newFolder();
    const old = StateDatabase.open({ folder, migrations: migrations.slice(0, 4) });
    old.sqlite.prepare("INSERT INTO deployments (environment, image_ref, image_digest, strategy, state, config_version, started_ms) VALUES ('prod', 'hello:1', 'sha256:00', 'blue-green', 'succeeded', 0, 1)").run();
    old.close();
    const state = StateDatabase.open({ folder });
    assert.deepEqual(state.sqlite.prepare("SELECT image_ref, canary FROM deployments").get(), { image_ref: "hello:1", canary: null });
    assert.throws(() => state.sqlite.prepare("UPDATE deployments SET canary = 'not json'").run(), /CHECK constraint failed/);
    state.close();
  });

  it("upgrades a version 5 database to a desired capacity that is null (the image's number) until ingot scale sets one", () => {
    const folder = newFolder();
    const old = StateDatabase.open({ folder, migrations: migrations.slice(0, 5) });
    old.sqlite.prepare("UPDATE environments SET stopped_ms = 42 WHERE name = 'prod'").run();
    old.close();
    const state = StateDatabase.open({ folder });
    assert.equal(state.schemaVersion, migrations.length);
    assert.deepEqual(state.sqlite.prepare("SELECT stopped_ms, desired_instances FROM environments WHERE name = 'prod'").get(), { stopped_ms: 42, desired_instances: null });
    assert.throws(() => state.sqlite.prepare("UPDATE environments SET desired_instances = 0 WHERE name = 'prod'").run(), /CHECK constraint failed/);
    state.close();
  });
});
