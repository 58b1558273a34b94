// The embedded log store: lines in SQLite under $INGOT_HOME/logs, written in batches by a writer
// thread (log-writer.ts) while the main thread parses and answers queries, indexed for grep behind
// ingest, and followed by in-process listeners. A database of its own, not the state's: ingest
// holds its write lock many times a second, and retention deletes millions of rows, which must
// never delay a deploy's write (nor a corrupt log store stop the control plane from opening its state).
import type Database from "better-sqlite3";
import { join } from "node:path";
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads";
import { IngotError } from "../errors.ts";
import { ownerOnlyDatabaseFile } from "../state/database.ts";
import { migrate } from "../state/migrate.ts";
import { batchTransfers, encodeBatch } from "./log-batch.ts";
import { openLogDatabase } from "./log-database.ts";
import { indexedUpto, indexStep } from "./log-index.ts";
import type { LogLine, LogSource } from "./log-line.ts";
import { logMigrations } from "./log-migrations.ts";
import { DEFAULT_LIMIT, type LogQuery, MAX_LIMIT, queryPlan, type SqlPlan, type StoredLine } from "./log-query.ts";
import { ROW_OVERHEAD_BYTES, type WriterData, type WriterRequest, type WriterResult } from "./log-writer.ts";

export { ROW_OVERHEAD_BYTES };

/** Lines per batch posted to the writer at most; a turn of the event loop with more posts several. */
const BATCH_LINES = 10_000;
/** Lines appended and not yet written past which append() asks its callers to wait (~20 MB of lines). */
const MAX_BACKLOG_LINES = 50_000;
/** Lines a grep scans, newest first, before it asks the index (a few milliseconds' work). */
const GREP_SCAN_FIRST_LINES = 50_000;
/** Page caches: the readers' keeps grep's pages, the writer's the indexes' newest pages (the ones inserts touch). */
const READER_CACHE_MIB = 64;
const WRITER_CACHE_MIB = 32;
/** A flush that waits longer than this for the writer reports it stuck rather than hang the server. */
const FLUSH_TIMEOUT_MS = 60_000;
// Node does not hand its --import loaders (tsx) to a worker: the writer thread registers tsx itself.
const WRITER_THREAD = `import { register } from ${JSON.stringify(import.meta.resolve("tsx/esm/api"))}; register(); await import(${JSON.stringify(new URL("./log-writer-thread.ts", import.meta.url).href)});`;

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
 * if (!store.append(parseSyslog(bytes, Date.now()))) await store.whenRoom();
 * const unsubscribe = store.subscribe((lines) => render(lines));
 * store.query({ environment: "prod", grep: "timeout", limit: 50 });
 */
export class LogStore {
  #queue: LogLine[] = [];
  #postScheduled = false;
  /**
   * Batches posted and not yet answered, oldest first: their lines, which get ids when the answer
   * comes, or only their count when nobody listened as they were posted (the lines are not kept).
   */
  #inFlight: { seq: number; lines: LogLine[] | number }[] = [];
  /** Lines appended and not yet written (queued or in flight). */
  #backlog = 0;
  #room: { promise: Promise<void>; resolve: () => void } | undefined;
  #sentSeq = 0;
  #failures: { lines: number; error: string }[] = [];
  /** written() calls waiting for the batch of this sequence number, in order. */
  #waiters: { seq: number; resolve: () => void }[] = [];
  #listeners = new Set<LineListener>();
  #closed = false;
  /** Why the writer thread is gone (it failed): lines posted since fail at once rather than wait forever. */
  #writerGone: string | undefined;
  readonly #writer: Worker;
  readonly #port: MessagePort;
  /** [last batch settled, closed]: what flush() and close() wait on while they block. */
  readonly #signal = new Int32Array(new SharedArrayBuffer(8));

  private constructor(readonly path: string, readonly sqlite: Database.Database, private readonly grepScanFirstLines: number) {
    const channel = new MessageChannel();
    this.#port = channel.port1;
    const data: WriterData = { path, cacheMiB: WRITER_CACHE_MIB, port: channel.port2, signal: this.#signal };
    this.#writer = new Worker(WRITER_THREAD, { eval: true, workerData: data, transferList: [channel.port2] });
    this.#writer.on("error", (error) => this.#failWriter(`the writer thread failed: ${error.message}`));
    this.#writer.on("exit", (code) => this.#failWriter(`the writer thread exited with status ${code}`));
    this.#writer.unref();
    this.#port.on("message", (result: WriterResult) => this.#settle(result));
    // Held only while batches are in flight: they keep the process alive, an idle store does not.
    this.#port.unref();
  }

  static open(folder: string, options: { grepScanFirstLines?: number } = {}): LogStore {
    const path = join(folder, "logs.db");
    let sqlite: Database.Database | undefined;
    try {
      // Logs carry what apps print, secrets included by mistake: owner-only like the state.
      ownerOnlyDatabaseFile(folder, path);
      sqlite = openLogDatabase(path, READER_CACHE_MIB);
      migrate(sqlite, logMigrations, path);
      return new LogStore(path, sqlite, options.grepScanFirstLines ?? GREP_SCAN_FIRST_LINES);
    } catch (error) {
      sqlite?.close();
      throw new IngotError(`Cannot open the log store as ${(error as Error).message}: ${path}`, {
        code: "logs-open", hint: `Check that you own ${folder} and that the disk is not full; moving logs.db aside starts an empty store`, cause: error,
      });
    }
  }

  /**
   * Queues a line; it goes to the writer at the end of this turn of the event loop, and listeners
   * see it once written. Returns false when the backlog is full: a caller that can wait (a TCP
   * sender) waits for whenRoom() before it appends more; a line appended anyway is still written.
   */
  append(line: LogLine): boolean {
    if (this.#closed) return false;
    this.#queue.push(line);
    this.#backlog++;
    if (this.#queue.length >= BATCH_LINES) this.#post();
    else if (!this.#postScheduled) {
      this.#postScheduled = true;
      setImmediate(() => this.#post());
    }
    return this.#backlog < MAX_BACKLOG_LINES;
  }

  /** Undefined while the backlog has room; else a promise that resolves once the writer has caught up halfway. */
  whenRoom(): Promise<void> | undefined {
    if (this.#backlog < MAX_BACKLOG_LINES || this.#closed) return undefined;
    if (!this.#room) {
      let resolve!: () => void;
      const promise = new Promise<void>((done) => { resolve = done; });
      this.#room = { promise, resolve };
    }
    return this.#room.promise;
  }

  /**
   * Writes every line appended so far and hands them to the listeners before it returns (it blocks
   * until the writer thread has committed them); throws when lines could not be stored since the last call.
   */
  flush(): void {
    if (this.#closed) return;
    this.#post();
    if (this.#inFlight.length > 0) {
      const deadline = Date.now() + FLUSH_TIMEOUT_MS;
      for (let settled = Atomics.load(this.#signal, 0); settled !== this.#sentSeq; settled = Atomics.load(this.#signal, 0)) {
        if (Date.now() > deadline) {
          throw new IngotError(`Cannot write the logs as the log writer thread did not answer within ${FLUSH_TIMEOUT_MS / 1000} s`, { code: "logs-write", hint: "Restart the server with ingot server stop; its log says why" });
        }
        Atomics.wait(this.#signal, 0, settled, 100);
      }
      for (let result = receiveMessageOnPort(this.#port); result; result = receiveMessageOnPort(this.#port)) this.#settle(result.message as WriterResult);
    }
    this.#throwFailures();
  }

  /**
   * Resolves once every line appended so far is written and handed to the listeners, like flush()
   * but without blocking the event loop (a query during a flood waits, ingest does not); rejects
   * like flush() when lines could not be stored.
   */
  async written(): Promise<void> {
    this.#post();
    if (this.#inFlight.length > 0 && !this.#closed) {
      const seq = this.#sentSeq;
      await new Promise<void>((resolve) => this.#waiters.push({ seq, resolve }));
    }
    this.#throwFailures();
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
    return indexedUpto(this.sqlite);
  }

  /** Adds up to `limit` written lines to the text index; returns how many it added (the writer thread does this by itself). */
  indexStep(limit?: number): number {
    return indexStep(this.sqlite, limit);
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

  /** Writes every line appended before it (see flush), then stops the writer thread. */
  close(): void {
    if (this.#closed) return;
    try {
      this.flush();
    } finally {
      this.#closed = true;
      this.#listeners.clear();
      this.#room?.resolve();
      for (const waiter of this.#waiters.splice(0)) waiter.resolve();
      this.#port.postMessage({ kind: "close" } satisfies WriterRequest);
      const deadline = Date.now() + FLUSH_TIMEOUT_MS;
      while (Atomics.load(this.#signal, 1) === 0 && Date.now() < deadline) Atomics.wait(this.#signal, 1, 0, 100);
      this.#port.close();
      this.sqlite.close();
    }
  }

  #throwFailures(): void {
    const failures = this.#failures;
    if (failures.length === 0) return;
    this.#failures = [];
    const lost = failures.reduce((sum, failure) => sum + failure.lines, 0);
    throw new IngotError(`Cannot store ${lost} log lines as ${failures[0]!.error}`, { code: "logs-write", hint: "Check that the disk is not full and that you own $INGOT_HOME/logs" });
  }

  /** Posts the queued lines to the writer as one batch. */
  #post(): void {
    this.#postScheduled = false;
    if (this.#queue.length === 0 || this.#closed) return;
    const lines = this.#queue;
    this.#queue = [];
    // Sequence numbers wrap at 2^31 (years of batches); the writer answers in order, so equality is enough.
    this.#sentSeq = (this.#sentSeq + 1) | 0;
    const batch = encodeBatch(lines);
    this.#port.postMessage({ kind: "batch", seq: this.#sentSeq, batch } satisfies WriterRequest, batchTransfers(batch));
    // Lines kept until written live past a few collections: kept only for listeners, so a flood
    // nobody follows costs the garbage collector nothing more (a follower that comes meanwhile reads them back).
    this.#inFlight.push({ seq: this.#sentSeq, lines: this.#listeners.size > 0 ? lines : lines.length });
    if (this.#inFlight.length === 1) this.#port.ref();
    if (this.#writerGone) this.#failWriter(this.#writerGone);
  }

  /** The writer thread is gone: every batch in flight, and each posted from now on, fails with `why`. */
  #failWriter(why: string): void {
    if (this.#closed) return;
    this.#writerGone = why;
    for (const { seq } of [...this.#inFlight]) this.#settle({ seq, error: why });
  }

  /** The writer's answer for the oldest batch in flight: its lines get their ids and go to the listeners. */
  #settle(result: WriterResult): void {
    const batch = this.#inFlight.shift();
    if (batch === undefined) return;
    const { lines } = batch;
    const count = typeof lines === "number" ? lines : lines.length;
    this.#backlog -= count;
    if (this.#inFlight.length === 0) this.#port.unref();
    if (this.#room && this.#backlog <= MAX_BACKLOG_LINES / 2) {
      this.#room.resolve();
      this.#room = undefined;
    }
    if ("error" in result) this.#failures.push({ lines: count, error: result.error });
    else if (this.#listeners.size > 0) {
      const firstId = result.lastId - count + 1;
      // Lines not kept (nobody listened when they were posted) are read back: a follower that came since gets them all.
      const stored = typeof lines === "number" ? this.#linesBetween(firstId, result.lastId) : lines as StoredLine[];
      // The queued lines become the stored ones (their id set in place): no copy of a batch.
      if (typeof lines !== "number") for (let index = 0; index < stored.length; index++) stored[index]!.id = firstId + index;
      for (const listener of this.#listeners) listener(stored);
    }
    while (this.#waiters[0]?.seq === result.seq) this.#waiters.shift()!.resolve();
  }

  #linesBetween(firstId: number, lastId: number): StoredLine[] {
    return this.sqlite.prepare<[number, number], LineRow>("SELECT * FROM lines WHERE id BETWEEN ? AND ? ORDER BY id").all(firstId, lastId).map(fromRow);
  }
}

function fromRow(row: LineRow): StoredLine {
  return {
    id: row.id, timeMs: row.time_ms, environment: row.environment, app: row.app, version: row.version, instance: row.instance,
    source: row.source as LogSource, stream: row.stream, severity: row.severity, message: row.message,
    ...(row.fields === null ? {} : { fields: JSON.parse(row.fields) as Record<string, unknown> }),
  };
}
