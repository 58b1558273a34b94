// The writer thread's body: batches come in on the store's port, each batch's ids go back in order
// (then signal[0] wakes a store waiting in flush), and the text index is written when ingest pauses.
import { receiveMessageOnPort, workerData } from "node:worker_threads";
import type { LogBatch } from "./log-batch.ts";
import { openLogDatabase } from "./log-database.ts";
import { indexedUpto, indexStep } from "./log-index.ts";
import { LogWriter, type WriterData, type WriterRequest, type WriterResult } from "./log-writer.ts";

/** Lines per transaction at most when batches queue up: more amortizes the commit, less keeps the lock short. */
const MAX_TRANSACTION_LINES = 20_000;
/** A pause in ingest this long lets the indexer run. */
const INDEX_IDLE_MS = 50;
/** Lines grep may have to scan without the index before the indexer runs despite ingest. */
const MAX_UNINDEXED_LINES = 1_000_000;
/** Retention on the main thread may hold the write lock past busy_timeout: wait again rather than drop lines. */
const BUSY_RETRIES = 12;

const { path, cacheMiB, port, signal } = workerData as WriterData;
let writer: LogWriter | Error;
try {
  writer = new LogWriter(openLogDatabase(path, cacheMiB));
} catch (error) {
  writer = error as Error;
}
let lastWriteMs = 0;
let lastId = 0;
let indexTimer: NodeJS.Timeout | undefined;

port.on("message", (first: WriterRequest) => {
  const requests = [first];
  let lines = first.kind === "batch" ? first.batch.count : 0;
  // Whatever queued while the last transaction ran goes into this one: batches grow as ingest outruns the disk.
  while (lines < MAX_TRANSACTION_LINES && requests.at(-1)!.kind === "batch") {
    const next = receiveMessageOnPort(port)?.message as WriterRequest | undefined;
    if (!next) break;
    requests.push(next);
    if (next.kind === "batch") lines += next.batch.count;
  }
  const batches = requests.filter((request) => request.kind === "batch");
  if (batches.length > 0) settle(batches, write(batches.map((request) => request.batch)));
  if (requests.at(-1)!.kind === "close") close();
});

function write(batches: LogBatch[]): number[] | string {
  if (writer instanceof Error) return `the writer could not open the store: ${writer.message}`;
  for (let attempt = 0; ; attempt++) {
    try {
      return writer.write(batches);
    } catch (error) {
      if ((error as { code?: string }).code !== "SQLITE_BUSY" || attempt >= BUSY_RETRIES) return (error as Error).message;
    }
  }
}

function settle(batches: { seq: number }[], written: number[] | string): void {
  batches.forEach((request, index) => {
    const result: WriterResult = typeof written === "string" ? { seq: request.seq, error: written } : { seq: request.seq, lastId: written[index]! };
    port.postMessage(result);
  });
  // After the results are on the port: a store woken by this finds them all there.
  Atomics.store(signal, 0, batches.at(-1)!.seq);
  Atomics.notify(signal, 0);
  if (typeof written === "string") return;
  lastId = written.at(-1)!;
  lastWriteMs = Date.now();
  scheduleIndex();
}

/**
 * Indexing waits for a pause in ingest (INDEX_IDLE_MS without a write), so a flood delays the
 * index, not the lines; past MAX_UNINDEXED_LINES it indexes anyway, which bounds what grep scans.
 */
function scheduleIndex(): void {
  if (indexTimer || writer instanceof Error) return;
  const sqlite = writer.sqlite;
  const step = (): void => {
    const behind = lastId - indexedUpto(sqlite);
    if (behind > 0 && behind < MAX_UNINDEXED_LINES && Date.now() - lastWriteMs < INDEX_IDLE_MS) {
      indexTimer = setTimeout(step, INDEX_IDLE_MS);
      return;
    }
    indexTimer = undefined;
    try {
      if (indexStep(sqlite) > 0) scheduleIndex();
    } catch {
      // The write lock stayed busy past the timeout (retention), or the disk is full: the lines are
      // stored and grepped by a scan meanwhile, and the next write schedules the index again.
    }
  };
  indexTimer = setTimeout(step, INDEX_IDLE_MS);
}

function close(): void {
  clearTimeout(indexTimer);
  if (!(writer instanceof Error)) writer.sqlite.close();
  Atomics.store(signal, 1, 1);
  Atomics.notify(signal, 1);
  port.close();
}
