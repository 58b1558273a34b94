// The PostgreSQL connection pool, seen through Kysely, and the one question /health asks of it.
import { Kysely, PostgresDialect, sql, type Generated } from "kysely";
import pg from "pg";
import type { FastifyBaseLogger } from "fastify";

export interface NoteTable {
  id: Generated<number>;
  text: string;
  author: string | null;
  created_at: Generated<Date>;
}

export interface NotesDatabase {
  note: NoteTable;
}

/** A health check answers within ingot's 2 s timeout, also when the database host drops packets. */
const CONNECT_TIMEOUT_MS = 1500;

/**
 * A small pool: an instance gets 256 MiB, and PostgreSQL's connections are the scarcer resource
 * when a deploy runs blue and green side by side.
 */
export function openDatabase(url: string, log: FastifyBaseLogger): Kysely<NotesDatabase> {
  const pool = new pg.Pool({ connectionString: url, max: 5, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, idleTimeoutMillis: 30_000 });
  // An idle connection the server ends (a restart, a failover) is reported here; unheard, it would crash the app.
  pool.on("error", (error) => log.warn({ err: error }, `database connection lost: ${error.message}`));
  return new Kysely<NotesDatabase>({ dialect: new PostgresDialect({ pool }) });
}

/** SELECT 1 within the health check's time: undefined when it answered, else why not. */
export async function databaseProblem(db: Kysely<NotesDatabase>): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
  });
  try {
    await Promise.race([sql`select 1`.execute(db), timeout]);
    return undefined;
  } catch (error) {
    return describeDatabaseError(error);
  } finally {
    clearTimeout(timer);
  }
}

/** "connect ECONNREFUSED 10.0.2.2:5432", or the first error of an AggregateError (pg tries IPv4 and IPv6). */
export function describeDatabaseError(error: unknown): string {
  const first = error instanceof AggregateError && error.errors.length > 0 ? error.errors[0] : error;
  return first instanceof Error ? first.message || first.name : String(first);
}
