// One connection to the log store's file, set up alike for the store's readers (the main thread)
// and its writer (a worker thread): both open the same WAL database, each with its own settings.
import Database from "better-sqlite3";

/** How long a statement waits for the other connection's write lock (retention, the indexer). */
const BUSY_TIMEOUT_MS = 5000;

/**
 * @example
 * const sqlite = openLogDatabase(join(home, "logs", "logs.db"), 64);
 */
export function openLogDatabase(path: string, cacheMiB: number): Database.Database {
  const sqlite = new Database(path);
  try {
    sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // WAL: the writer thread commits while queries read the last committed lines.
    sqlite.pragma("journal_mode = WAL");
    // A crash may lose the last transactions of logs, never corrupt the file; fsync per batch would halve ingest.
    // Per connection, like the cache: the writer's own connection must set it too.
    sqlite.pragma("synchronous = NORMAL");
    sqlite.pragma(`cache_size = -${cacheMiB * 1024}`);
    return sqlite;
  } catch (error) {
    sqlite.close();
    throw error;
  }
}
