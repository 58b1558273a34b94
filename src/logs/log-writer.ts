// The log store's writer: the one connection that inserts lines, run in a worker thread of its own
// (log-writer-thread.ts) so that parsing, on the main thread, and SQLite's inserts and commits run
// on two cores. It writes what the store posts, many batches to a transaction when it falls behind.
import type Database from "better-sqlite3";
import type { MessagePort } from "node:worker_threads";
import { environmentOf, LABEL_COLUMNS, labelsOf, type LogBatch, pushLineValues, pushRowValues, sameLabels } from "./log-batch.ts";

/** Rows bound to one INSERT statement (10 columns each; SQLite allows 32,766 parameters). */
const ROWS_PER_INSERT = 100;
/** Lines in a row with the same names, from this many on, go in a statement that binds the names once. */
const MIN_SHARED_ROWS = 8;
/** Pages of WAL (4 KiB each) after which a commit checkpoints. */
const WAL_CHECKPOINT_PAGES = 10_000;
/** What a row costs besides its text (ids, times, names, index entries), for the usage estimate. */
export const ROW_OVERHEAD_BYTES = 64;

/** What the writer thread is started with. `signal[0]` is the last batch settled, `signal[1]` 1 once closed. */
export interface WriterData { path: string; cacheMiB: number; port: MessagePort; signal: Int32Array }
export type WriterRequest = { kind: "batch"; seq: number; batch: LogBatch } | { kind: "close" };
/** Each batch's answer, in the order posted: the id of its last line (its lines have the ids before), or why it failed. */
export type WriterResult = { seq: number; lastId: number } | { seq: number; error: string };

/**
 * @example
 * const writer = new LogWriter(openLogDatabase(path, 32));
 * const [lastId] = writer.write([encodeBatch(lines)]);
 */
export class LogWriter {
  readonly #inserts = new Map<number, Database.Statement>();
  readonly #usage: Database.Statement;

  constructor(readonly sqlite: Database.Database) {
    // The writer's commits checkpoint the WAL into the file: every 40 MB rather than SQLite's 4 MB
    // writes the pages that every batch touches (indexes' newest leaves, usage) once, not ten times
    // (measured: +20 % inserts a second); the file keeps 64 MiB of WAL at most between checkpoints.
    sqlite.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
    sqlite.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
    this.#usage = sqlite.prepare("INSERT INTO environment_usage (environment, lines, bytes) VALUES (?, ?, ?) ON CONFLICT (environment) DO UPDATE SET lines = lines + excluded.lines, bytes = bytes + excluded.bytes");
  }

  /** Writes the batches in one transaction; returns the id of each batch's last line. */
  write(batches: readonly LogBatch[]): number[] {
    return this.sqlite.transaction(() => {
      const usage = new Map<string, [number, number]>();
      const values: (string | number | null)[] = [];
      const lastIds: number[] = [];
      for (const batch of batches) {
        let lastId = 0;
        let start = 0;
        while (start < batch.count) {
          let run = 1;
          while (run < ROWS_PER_INSERT && start + run < batch.count && sameLabels(batch, start, start + run)) run++;
          // A sender's lines come in runs with one environment, app, instance...: binding those six
          // names once a statement, not once a row, measured 1.4-1.6x the rows a second.
          const shared = run >= MIN_SHARED_ROWS;
          const rows = shared ? run : Math.min(ROWS_PER_INSERT, batch.count - start);
          values.length = 0;
          for (let index = start; index < start + rows; index++) {
            if (shared) pushLineValues(batch, index, values);
            else pushRowValues(batch, index, values);
          }
          accountUsage(usage, batch, start, rows);
          // One statement writes many rows: binding them in one call costs far less than a call each.
          // Rows of one transaction get consecutive ids (INTEGER PRIMARY KEY takes max + 1, one writer).
          const statement = this.#insert(rows, shared);
          lastId = Number((shared ? statement.run(values, labelsOf(batch, start)) : statement.run(values)).lastInsertRowid);
          start += rows;
        }
        lastIds.push(lastId);
      }
      for (const [environment, [count, bytes]] of usage) this.#usage.run(environment, count, bytes);
      return lastIds;
    }).immediate();
  }

  /** INSERT of `rows` rows, cached; `shared`: the names are the named parameters, bound once for all rows. */
  #insert(rows: number, shared: boolean): Database.Statement {
    const key = shared ? -rows : rows;
    let statement = this.#inserts.get(key);
    if (!statement) {
      const row = shared ? `(?, ${LABEL_COLUMNS.map((column) => `@${column}`).join(", ")}, ?, ?, ?)` : "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
      statement = this.sqlite.prepare(`INSERT INTO lines (time_ms, ${LABEL_COLUMNS.join(", ")}, severity, message, fields) VALUES ${Array(rows).fill(row).join(", ")}`);
      this.#inserts.set(key, statement);
    }
    return statement;
  }
}

/** Adds rows start.. start + rows - 1 to their environments' counts and sizes. */
function accountUsage(usage: Map<string, [number, number]>, batch: LogBatch, start: number, rows: number): void {
  for (let index = start; index < start + rows; index++) {
    const environment = environmentOf(batch, index);
    const bytes = rowBytes(batch.messages[index]!, batch.fields[index]!);
    const entry = usage.get(environment);
    if (entry) { entry[0]++; entry[1] += bytes; } else usage.set(environment, [1, bytes]);
  }
}

function rowBytes(message: string, fields: string | null): number {
  return Buffer.byteLength(message) + (fields?.length ?? 0) + ROW_OVERHEAD_BYTES;
}
