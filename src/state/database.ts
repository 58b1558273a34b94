// The control plane's state: one SQLite database under $INGOT_HOME/state, owner-only, migrated on open.
import Database from "better-sqlite3";
import { chmodSync, closeSync, mkdirSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { IngotError } from "../errors.ts";
import { defaultVaultRoot } from "../vault/vault.ts";
import { checkSchema, migrate } from "./migrate.ts";
import { type Migration, migrations } from "./migrations.ts";

/** Every SQLite file starts with these 16 bytes (https://sqlite.org/fileformat.html#the_database_header). */
const SQLITE_HEADER = Buffer.from("SQLite format 3\0", "latin1");

/** How long a statement waits for another process's write lock before failing with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

/** The state folder: $INGOT_HOME/state (the vault's root, see defaultVaultRoot). */
export function defaultStateFolder(): string {
  return join(defaultVaultRoot(), "state");
}

/**
 * The open state database. WAL lets readers (status, history) run while a deploy writes; foreign
 * keys are on; a corrupt or foreign file is refused and left as it is, never reset.
 *
 * @example
 * const state = StateDatabase.open();
 * const environments = new Environments(state);
 * state.close();
 */
export class StateDatabase {
  private constructor(readonly folder: string, readonly path: string, readonly sqlite: Database.Database, readonly schemaVersion: number) {}

  static open(options: { folder?: string; migrations?: readonly Migration[] } = {}): StateDatabase {
    const folder = options.folder ?? defaultStateFolder();
    const path = join(folder, "ingot.db");
    createOwnerOnly(folder, path);
    checkHeader(path);
    let sqlite: Database.Database | undefined;
    try {
      sqlite = new Database(path);
      sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      // Before anything writes (journal_mode rewrites the header): a refused file stays byte-identical.
      const check = sqlite.pragma("quick_check", { simple: true });
      if (check !== "ok") throw corrupt(path, String(check));
      checkSchema(sqlite, options.migrations ?? migrations, path);
      sqlite.pragma("journal_mode = WAL");
      sqlite.pragma("synchronous = NORMAL");
      sqlite.pragma("foreign_keys = ON");
      const schemaVersion = migrate(sqlite, options.migrations ?? migrations, path);
      return new StateDatabase(folder, path, sqlite, schemaVersion);
    } catch (error) {
      sqlite?.close();
      const code = (error as { code?: string }).code;
      if (code === "SQLITE_NOTADB" || code?.startsWith("SQLITE_CORRUPT")) throw corrupt(path, (error as Error).message, error);
      if (!code?.startsWith("SQLITE_")) throw error;
      throw new IngotError(`Cannot open the state database as ${(error as Error).message}: ${path}`, {
        code: "state-open",
        hint: "Check that you own INGOT_HOME/state and its files, and that the disk is not full",
        cause: error,
      });
    }
  }

  /**
   * Runs `work` in one IMMEDIATE transaction: it takes the write lock up front, so a read-then-write
   * (bump a version, then store with it) cannot interleave with another writer. Nests as a savepoint.
   */
  transaction<T>(work: () => T): T {
    return this.sqlite.inTransaction ? this.sqlite.transaction(work)() : this.sqlite.transaction(work).immediate();
  }

  /** Runs `work` in one deferred transaction: a consistent snapshot of several reads, no write lock. */
  read<T>(work: () => T): T {
    return this.sqlite.transaction(work)();
  }

  close(): void {
    this.sqlite.close();
  }
}

/**
 * A folder only its owner can enter, and a database file only its owner can read, created so (the
 * state's and the log store's). SQLite would create the file 0644, and its -wal and -shm files copy
 * the database's mode.
 */
export function ownerOnlyDatabaseFile(folder: string, path: string): void {
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  chmodSync(folder, 0o700);
  closeSync(openSync(path, "a", 0o600));
  chmodSync(path, 0o600);
}

function createOwnerOnly(folder: string, path: string): void {
  try {
    ownerOnlyDatabaseFile(folder, path);
  } catch (error) {
    throw new IngotError(`Cannot create the state database as ${(error as Error).message}: ${path}`, {
      code: "state-create",
      hint: "Check that INGOT_HOME is a folder you own and can write",
      cause: error,
    });
  }
}

/** A non-empty file that does not start like SQLite is refused before SQLite ever opens it. */
function checkHeader(path: string): void {
  if (statSync(path).size === 0) return;
  const header = Buffer.alloc(SQLITE_HEADER.length);
  const file = openSync(path, "r");
  try {
    readSync(file, header, 0, header.length, 0);
  } finally {
    closeSync(file);
  }
  if (!header.equals(SQLITE_HEADER)) throw corrupt(path, "it is not an SQLite database");
}

function corrupt(path: string, reason: string, cause?: unknown): IngotError {
  return new IngotError(`Cannot open the state database as it is damaged (${reason}): ${path}`, {
    code: "state-corrupt",
    hint: `Nothing was changed. Restore it from a backup, or move it aside (mv ${path} ${path}.damaged) to start with an empty state`,
    cause,
  });
}
