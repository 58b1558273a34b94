// Brings a state database up to the schema this ingot knows, one recorded migration at a time.
import type Database from "better-sqlite3";
import { IngotError } from "../errors.ts";
import type { Migration } from "./migrations.ts";

/**
 * Refuses, without writing anything, a database this ingot must not migrate: one a newer ingot
 * wrote (a downgrade would lose what it knows), one migrated by a build whose migrations differ,
 * or one that is not ingot's at all.
 *
 * @example
 * checkSchema(sqlite, migrations, path); // throws IngotError state-newer on a newer database
 */
export function checkSchema(sqlite: Database.Database, known: readonly Migration[], path: string): void {
  checkOrder(known);
  const latest = known.at(-1)?.version ?? 0;
  const applied = appliedMigrations(sqlite, path);
  const newest = Math.max(0, ...applied.keys());
  if (newest > latest) {
    throw new IngotError(`Cannot open the state database as a newer ingot wrote it (schema ${newest}, this ingot knows up to ${latest}): ${path}`, {
      code: "state-newer",
      hint: "Upgrade ingot to the version that last used this database; it is left unchanged",
    });
  }
  for (const migration of known) {
    const name = applied.get(migration.version);
    if (name !== undefined && name !== migration.name) {
      throw new IngotError(`Cannot open the state database as its migration ${migration.version} is "${name}", not "${migration.name}": ${path}`, {
        code: "state-migration-mismatch",
        hint: "This database was migrated by a different build of ingot; use that build, or restore a backup",
      });
    }
  }
}

/**
 * Applies the migrations a database lacks, each in its own IMMEDIATE transaction (so two processes
 * opening the same database apply each one once), and returns the schema version it ends at.
 *
 * @example
 * migrate(sqlite, migrations, "/home/me/.local/share/ingot/state/ingot.db"); // → 2
 */
export function migrate(sqlite: Database.Database, known: readonly Migration[], path: string): number {
  checkSchema(sqlite, known, path);
  sqlite.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL) STRICT");
  const isApplied = sqlite.prepare<[number], { version: number }>("SELECT version FROM schema_migrations WHERE version = ?");
  const record = sqlite.prepare("INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?, ?, ?)");
  for (const migration of known) {
    sqlite.transaction(() => {
      // Another process may have applied it between our read and this transaction's lock.
      if (isApplied.get(migration.version)) return;
      sqlite.exec(migration.sql);
      record.run(migration.version, migration.name, Date.now());
    }).immediate();
  }
  return known.at(-1)?.version ?? 0;
}

/** version → name of every migration recorded; refuses a database ingot did not create. */
function appliedMigrations(sqlite: Database.Database, path: string): Map<number, string> {
  const tables = sqlite.prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table'").all().map((row) => row.name);
  if (!tables.includes("schema_migrations")) {
    if (tables.length > 0) {
      throw new IngotError(`Cannot use the state database as it has tables but no schema_migrations (${tables.slice(0, 3).join(", ")}): ${path}`, {
        code: "state-corrupt",
        hint: `This is not ingot's database; move it aside (mv ${path} ${path}.foreign) and ingot starts a new one`,
      });
    }
    return new Map();
  }
  const rows = sqlite.prepare<[], { version: number; name: string }>("SELECT version, name FROM schema_migrations").all();
  return new Map(rows.map((row) => [row.version, row.name]));
}

/** A list with a gap or a repeat is a programming error: two branches numbered a migration alike. */
function checkOrder(known: readonly Migration[]): void {
  known.forEach((migration, index) => {
    if (migration.version !== index + 1) throw new Error(`Migration "${migration.name}" has version ${migration.version}, expected ${index + 1}`);
  });
}
