// Schema migrations, run by every instance as it starts, through Kysely's Migrator: it applies in
// name order those not yet in its table (kysely_migration), each in a transaction, under a
// PostgreSQL advisory lock, so two instances that start together (blue and green, or a scaled-up
// environment) apply each migration once; the second waits for the lock and finds nothing to do.
import { Migrator, type Kysely, type Migration } from "kysely";
import type { FastifyBaseLogger } from "fastify";
import { describeDatabaseError, type NotesDatabase } from "./database.js";
import * as createNote from "./migrations/0001-create-note.js";
import * as indexNoteCreatedAt from "./migrations/0002-index-note-created-at.js";

/** Listed here rather than read from a folder: the image holds exactly these, found without globbing. */
export const MIGRATIONS: Record<string, Migration> = {
  "0001-create-note": createNote,
  "0002-index-note-created-at": indexNoteCreatedAt,
};

/** Where the schema stands; /health and the page read it. */
export interface SchemaState {
  ready: boolean;
  /** Why it is not ready yet, for /health and the page. */
  problem: string;
}

const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 5000;

/**
 * Migrates to the latest schema, waiting for the database as long as it is unreachable (an
 * accessory that starts after the app, a network that comes up late): /health answers 503
 * meanwhile, so a deploy never sends traffic to an instance without its schema. A migration that
 * fails in the database itself is not retried: it rejects, and the app stops.
 */
export async function migrateWhenReachable(db: Kysely<NotesDatabase>, schema: SchemaState, log: FastifyBaseLogger, signal: AbortSignal): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => MIGRATIONS } });
  let delayMs = RETRY_FIRST_MS;
  while (!signal.aborted) {
    const { error, results = [] } = await migrator.migrateToLatest();
    // Stopping closes the pool under a running try: its error says nothing about the schema.
    if (signal.aborted) return;
    for (const result of results) {
      if (result.status === "Success") log.info({ migration: result.migrationName }, `migration ${result.migrationName} applied`);
      if (result.status === "Error") log.error({ migration: result.migrationName }, `migration ${result.migrationName} failed`);
    }
    if (error === undefined) {
      if (!results.some((result) => result.status === "Success")) log.info(`database schema up to date (${Object.keys(MIGRATIONS).length} migrations)`);
      schema.ready = true;
      schema.problem = "";
      return;
    }
    if (!isUnreachable(error)) throw new Error(`Cannot migrate the database schema: ${describeDatabaseError(error)}`, { cause: error });
    schema.problem = `database unreachable: ${describeDatabaseError(error)}`;
    log.warn(`${schema.problem}; migrations wait, next try in ${delayMs} ms`);
    await sleep(delayMs, signal);
    delayMs = Math.min(delayMs * 2, RETRY_MAX_MS);
  }
}

/**
 * True for errors of reaching the server (refused, timed out, no route, a server still starting:
 * SQLSTATE class 08 and 57P), false for an error PostgreSQL answered about the SQL itself.
 */
function isUnreachable(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code.startsWith("08") || code.startsWith("57P");
  return true;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
