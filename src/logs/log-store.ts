// The embedded log store: lines in SQLite under $INGOT_HOME/logs, written in batches (one
// transaction per event-loop turn), indexed for grep behind ingest, and followed by in-process
// listeners. A database of its own, not the state's: ingest holds its write lock many times a
// second, and retention deletes millions of rows, which must never delay a deploy's write (nor a
// corrupt log store stop the control plane from opening its state).
import Database from "better-sqlite3";
import { join } from "node:path";
import { IngotError } from "../errors.ts";
import { ownerOnlyDatabaseFile } from "../state/database.ts";
import { migrate } from "../state/migrate.ts";
import type { LogLine, LogSource } from "./log-line.ts";
import { logMigrations } from "./log-migrations.ts";
import { DEFAULT_LIMIT, type LogQuery, MAX_LIMIT, queryPlan, type SqlPlan, type StoredLine } from "./log-query.ts";

/** Lines per write transaction at most; a turn of the event loop with more writes several. */
const BATCH_LINES = 10_000;
/** Lines added to the text index per step; a step yields to ingest and queries between batches. */
const INDEX_BATCH_LINES = 20_000;
/** Rows bound to one INSERT statement (10 columns each; SQLite allows 32,766 parameters). */
const ROWS_PER_INSERT = 100;
/** Lines a grep scans, newest first, before it asks the index (a few milliseconds' work). */
const GREP_SCAN_FIRST_LINES = 50_000;
/** A pause in ingest this long lets the indexer run. */
const INDEX_IDLE_MS = 50;
/** Lines grep may have to scan without the index before the indexer runs despite ingest. */
const MAX_UNINDEXED_LINES = 1_000_000;
/** What a row costs besides its text (ids, times, names, index entries), for the usage estimate. */
export const ROW_OVERHEAD_BYTES = 64;

interface LineRow {
  id: number; time_ms: number; environment: string; app: string; version: string; instance: string;
  source: string; stream: string; severity: number; message: string; fields: string | null;
}

export interface EnvironmentUsage { environment: string; lines: number; bytes: number }
/** indexedUpto: the id up to which grep uses the text index (the lines above it are scanned). */
export interface StoreUsage { fileBytes: number; indexedUpto: number; environments: EnvironmentUsage[] }
export type LineListener = (lines: StoredLine[]) => void;

/**
 * @example
 * const store = LogStore.open(join(home, "logs"));
 * store.append(parseSyslog(bytes, Date.now()));
 * const unsubscribe = store.subscribe((lines) => render(lines));
 * store.query({ environment: "prod", grep: "timeout", limit: 50 });
 */
export class LogStore {
  #queue: LogLine[] = [];
  #flushScheduled = false;
  #indexScheduled = false;
  #lastWriteMs = 0;
  #lastInsertedId = 0;
  #listeners = new Set<LineListener>();
  #closed = false;
  readonly #insert: Database.Statement;
  readonly #insertMany: Database.Statement;
  readonly #usage: Database.Statement;

  private constructor(readonly path: string, readonly sqlite: Database.Database, private readonly grepScanFirstLines: number) {
    this.#insert = sqlite.prepare(insertSql(1));
    this.#insertMany = sqlite.prepare(insertSql(ROWS_PER_INSERT));
    this.#usage = sqlite.prepare("INSERT INTO environment_usage (environment, lines, bytes) VALUES (?, ?, ?) ON CONFLICT (environment) DO UPDATE SET lines = lines + excluded.lines, bytes = bytes + excluded.bytes");
  }

  static open(folder: string, options: { grepScanFirstLines?: number } = {}): LogStore {
    const path = join(folder, "logs.db");
    let sqlite: Database.Database | undefined;
    try {
      // Logs carry what apps print, secrets included by mistake: owner-only like the state.
      ownerOnlyDatabaseFile(folder, path);
      sqlite = new Database(path);
      sqlite.pragma("busy_timeout = 5000");
      sqlite.pragma("journal_mode = WAL");
      // A crash may lose the last transactions of logs, never corrupt the file; fsync per batch would halve ingest.
      sqlite.pragma("synchronous = NORMAL");
      // 64 MiB of page cache keeps the indexes' hot pages (the newest ids) in memory under ingest.
      sqlite.pragma("cache_size = -65536");
      migrate(sqlite, logMigrations, path);
      return new LogStore(path, sqlite, options.grepScanFirstLines ?? GREP_SCAN_FIRST_LINES);
    } catch (error) {
      sqlite?.close();
      throw new IngotError(`Cannot open the log store as ${(error as Error).message}: ${path}`, {
        code: "logs-open", hint: `Check that you own ${folder} and that the disk is not full; moving logs.db aside starts an empty store`, cause: error,
      });
    }
  }

  /** Queues a line; it is written, and listeners see it, at the end of this turn of the event loop. */
  append(line: LogLine): void {
    if (this.#closed) return;
    this.#queue.push(line);
    if (this.#queue.length >= BATCH_LINES) this.flush();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes the queued lines in one transaction and hands them to the listeners. */
  flush(): void {
    this.#flushScheduled = false;
    if (this.#queue.length === 0 || this.#closed) return;
    const lines = this.#queue;
    this.#queue = [];
    // The queued lines become the stored ones (their id set in place): no copy of a batch.
    const stored = lines as StoredLine[];
    this.sqlite.transaction(() => {
      const usage = new Map<string, [number, number]>();
      const values: (string | number | null)[] = [];
      let rows: number;
      for (let start = 0; start < lines.length; start += rows) {
        rows = lines.length - start >= ROWS_PER_INSERT ? ROWS_PER_INSERT : 1;
        values.length = 0;
        for (let index = start; index < start + rows; index++) {
          const line = lines[index]!;
          const fields = line.fields === undefined ? null : JSON.stringify(line.fields);
          values.push(line.timeMs, line.environment, line.app, line.version, line.instance, line.source, line.stream, line.severity, line.message, fields);
          const entry = usage.get(line.environment);
          if (entry) { entry[0]++; entry[1] += rowBytes(line.message, fields); } else usage.set(line.environment, [1, rowBytes(line.message, fields)]);
        }
        // One statement writes many rows: binding them in one call costs far less than a call each.
        // Rows of one statement get consecutive ids (INTEGER PRIMARY KEY takes max + 1, one writer).
        const last = Number((rows === 1 ? this.#insert : this.#insertMany).run(values).lastInsertRowid);
        for (let index = 0; index < rows; index++) stored[start + index]!.id = last - rows + 1 + index;
        this.#lastInsertedId = last;
      }
      for (const [environment, [count, bytes]] of usage) this.#usage.run(environment, count, bytes);
    }).immediate();
    for (const listener of this.#listeners) listener(stored);
    this.#scheduleIndex();
  }

  /**
   * The newest `limit` lines matching, oldest first. A grep first scans the newest lines: text
   * that is common fills the answer there at once, where the index would hand back (and recheck)
   * every line that has it; rare text falls through to the index.
   */
  query(query: LogQuery): StoredLine[] {
    const run = (plan: SqlPlan): LineRow[] => this.sqlite.prepare<[Record<string, string | number>], LineRow>(plan.sql).all(plan.params);
    const limit = Math.min(Math.max(1, query.limit ?? DEFAULT_LIMIT), MAX_LIMIT);
    if (query.grep) {
      const newest = this.sqlite.prepare<[], { id: number | null }>("SELECT max(id) AS id FROM lines").get()!.id ?? 0;
      const recent = run(queryPlan(query, 0, newest - this.grepScanFirstLines));
      if (recent.length >= limit || newest <= this.grepScanFirstLines) return recent.reverse().map(fromRow);
    }
    return run(queryPlan(query, this.indexedUpto)).reverse().map(fromRow);
  }

  /** How many lines an instance has from one source: where a restarted capture of its console resumes. */
  countLines(environment: string, instance: string, source: LogSource): number {
    // The environment's index narrows the scan to that environment's lines.
    return this.sqlite.prepare<[string, string, string], { lines: number }>("SELECT count(*) AS lines FROM lines WHERE environment = ? AND instance = ? AND source = ?")
      .get(environment, instance, source)!.lines;
  }

  /** Calls `listener` with every batch of lines written from now on; returns the unsubscribe. */
  subscribe(listener: LineListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Listeners subscribed now (a follow that ended must not stay here). */
  get followers(): number {
    return this.#listeners.size;
  }

  get indexedUpto(): number {
    return (this.sqlite.prepare<[], { indexed_upto: number }>("SELECT indexed_upto FROM text_index").get()!).indexed_upto;
  }

  /** Adds up to `limit` written lines to the text index; returns how many it added. */
  indexStep(limit = INDEX_BATCH_LINES): number {
    return this.sqlite.transaction(() => {
      const from = this.indexedUpto;
      const upto = this.sqlite.prepare<[number, number], { upto: number | null }>("SELECT max(id) AS upto FROM (SELECT id FROM lines WHERE id > ? ORDER BY id LIMIT ?)").get(from, limit)!.upto;
      if (upto === null) return 0;
      this.sqlite.prepare("INSERT INTO lines_text (rowid, message) SELECT id, message FROM lines WHERE id > ? AND id <= ?").run(from, upto);
      this.sqlite.prepare("UPDATE text_index SET indexed_upto = ?").run(upto);
      return upto - from;
    }).immediate();
  }

  /** Deletes an environment's lines matching `where` (an SQL condition on lines), index entries first. */
  deleteLines(environment: string, where: string, params: Record<string, number>): number {
    return this.sqlite.transaction(() => {
      const args = { ...params, environment, indexed: this.indexedUpto };
      const condition = `environment = @environment AND (${where})`;
      // An external-content FTS5 index forgets a row only when told its old text.
      this.sqlite.prepare(`INSERT INTO lines_text (lines_text, rowid, message) SELECT 'delete', id, message FROM lines WHERE ${condition} AND id <= @indexed`).run(args);
      const gone = this.sqlite.prepare<Record<string, string | number>, { lines: number; bytes: number | null }>(`SELECT count(*) AS lines, sum(length(CAST(message AS BLOB)) + coalesce(length(fields), 0) + ${ROW_OVERHEAD_BYTES}) AS bytes FROM lines WHERE ${condition}`).get(args)!;
      this.sqlite.prepare(`DELETE FROM lines WHERE ${condition}`).run(args);
      this.sqlite.prepare("UPDATE environment_usage SET lines = lines - ?, bytes = bytes - ? WHERE environment = ?").run(gone.lines, gone.bytes ?? 0, environment);
      return gone.lines;
    }).immediate();
  }

  usage(): StoreUsage {
    const pages = this.sqlite.pragma("page_count", { simple: true }) as number;
    const pageSize = this.sqlite.pragma("page_size", { simple: true }) as number;
    const environments = this.sqlite.prepare<[], EnvironmentUsage>("SELECT environment, lines, bytes FROM environment_usage WHERE lines > 0 ORDER BY environment").all();
    return { fileBytes: pages * pageSize, indexedUpto: this.indexedUpto, environments };
  }

  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    this.#listeners.clear();
    this.sqlite.close();
  }

  /**
   * Indexing waits for a pause in ingest (INDEX_IDLE_MS without a write), so a flood delays the
   * index, not the lines; past MAX_UNINDEXED_LINES it indexes anyway, which bounds what grep scans.
   */
  #scheduleIndex(): void {
    this.#lastWriteMs = Date.now();
    if (this.#indexScheduled) return;
    this.#indexScheduled = true;
    const step = (): void => {
      if (this.#closed) return;
      const behind = this.#lastInsertedId - this.indexedUpto;
      if (behind > 0 && behind < MAX_UNINDEXED_LINES && Date.now() - this.#lastWriteMs < INDEX_IDLE_MS) {
        setTimeout(step, INDEX_IDLE_MS).unref();
        return;
      }
      this.#indexScheduled = false;
      if (this.indexStep() > 0) this.#scheduleIndex();
    };
    setTimeout(step, INDEX_IDLE_MS).unref();
  }
}

function insertSql(rows: number): string {
  const row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  return `INSERT INTO lines (time_ms, environment, app, version, instance, source, stream, severity, message, fields) VALUES ${Array(rows).fill(row).join(", ")}`;
}

function rowBytes(message: string, fields: string | null): number {
  return Buffer.byteLength(message) + (fields?.length ?? 0) + ROW_OVERHEAD_BYTES;
}

function fromRow(row: LineRow): StoredLine {
  return {
    id: row.id, timeMs: row.time_ms, environment: row.environment, app: row.app, version: row.version, instance: row.instance,
    source: row.source as LogSource, stream: row.stream, severity: row.severity, message: row.message,
    ...(row.fields === null ? {} : { fields: JSON.parse(row.fields) as Record<string, unknown> }),
  };
}
