// The embedded log store: lines in SQLite under $INGOT_HOME/logs, written in batches (one
// transaction per event-loop turn), indexed for grep behind ingest, and followed by in-process
// listeners. A database of its own, not the state's: ingest holds its write lock many times a
// second, and retention deletes millions of rows, which must never delay a deploy's write (nor a
// corrupt log store stop the control plane from opening its state).
import Database from "better-sqlite3";
import { chmodSync, closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { IngotError } from "../errors.ts";
import { migrate } from "../state/migrate.ts";
import type { LogLine, LogSource } from "./log-line.ts";
import { logMigrations } from "./log-migrations.ts";
import { type LogQuery, queryPlan, type StoredLine } from "./log-query.ts";

/** Lines per write transaction at most; a turn of the event loop with more writes several. */
const BATCH_LINES = 10_000;
/** Lines added to the text index per step; a step yields to ingest and queries between batches. */
const INDEX_BATCH_LINES = 20_000;
/** What a row costs besides its text (ids, times, names, index entries), for the usage estimate. */
export const ROW_OVERHEAD_BYTES = 64;

interface LineRow {
  id: number; time_ms: number; environment: string; app: string; version: string; instance: string;
  source: string; stream: string; severity: number; message: string; fields: string | null;
}

export interface EnvironmentUsage { environment: string; lines: number; bytes: number }
export interface StoreUsage { fileBytes: number; environments: EnvironmentUsage[] }
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
  #listeners = new Set<LineListener>();
  #closed = false;
  readonly #insert: Database.Statement;
  readonly #usage: Database.Statement;

  private constructor(readonly path: string, readonly sqlite: Database.Database) {
    this.#insert = sqlite.prepare("INSERT INTO lines (time_ms, environment, app, version, instance, source, stream, severity, message, fields) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    this.#usage = sqlite.prepare("INSERT INTO environment_usage (environment, lines, bytes) VALUES (?, ?, ?) ON CONFLICT (environment) DO UPDATE SET lines = lines + excluded.lines, bytes = bytes + excluded.bytes");
  }

  static open(folder: string): LogStore {
    const path = join(folder, "logs.db");
    let sqlite: Database.Database | undefined;
    try {
      mkdirSync(folder, { recursive: true, mode: 0o700 });
      chmodSync(folder, 0o700);
      // Logs carry what apps print, secrets included by mistake: owner-only like the state.
      closeSync(openSync(path, "a", 0o600));
      sqlite = new Database(path);
      sqlite.pragma("busy_timeout = 5000");
      sqlite.pragma("journal_mode = WAL");
      // A crash may lose the last transactions of logs, never corrupt the file; fsync per batch would halve ingest.
      sqlite.pragma("synchronous = NORMAL");
      migrate(sqlite, logMigrations, path);
      return new LogStore(path, sqlite);
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
    const stored = this.sqlite.transaction(() => {
      const usage = new Map<string, [number, number]>();
      const result = lines.map((line): StoredLine => {
        const fields = line.fields === undefined ? null : JSON.stringify(line.fields);
        const { lastInsertRowid } = this.#insert.run(line.timeMs, line.environment, line.app, line.version, line.instance, line.source, line.stream, line.severity, line.message, fields);
        const entry = usage.get(line.environment) ?? [0, 0];
        usage.set(line.environment, [entry[0] + 1, entry[1] + rowBytes(line.message, fields)]);
        return { ...line, id: Number(lastInsertRowid) };
      });
      for (const [environment, [count, bytes]] of usage) this.#usage.run(environment, count, bytes);
      return result;
    }).immediate();
    for (const listener of this.#listeners) listener(stored);
    this.#scheduleIndex();
  }

  /** The newest `limit` lines matching, oldest first. */
  query(query: LogQuery): StoredLine[] {
    const plan = queryPlan(query, this.indexedUpto);
    return (this.sqlite.prepare<[Record<string, string | number>], LineRow>(plan.sql).all(plan.params)).reverse().map(fromRow);
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
    return { fileBytes: pages * pageSize, environments };
  }

  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    this.#listeners.clear();
    this.sqlite.close();
  }

  /** Indexing runs in its own turns, after ingest's, so a flood delays the index, not the lines. */
  #scheduleIndex(): void {
    if (this.#indexScheduled) return;
    this.#indexScheduled = true;
    setTimeout(() => {
      this.#indexScheduled = false;
      if (this.#closed) return;
      if (this.indexStep() > 0) this.#scheduleIndex();
    }, 0);
  }
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
