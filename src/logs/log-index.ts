// The trigram text index, written behind ingest in steps: lines above indexed_upto are grepped by
// a scan until a step adds them. Run by the writer thread when ingest pauses, or by hand (tests).
import type Database from "better-sqlite3";

/** Lines added to the text index per step; a step yields to ingest and queries between batches. */
export const INDEX_BATCH_LINES = 20_000;

/** The id up to which grep uses the text index. */
export function indexedUpto(sqlite: Database.Database): number {
  return sqlite.prepare<[], { indexed_upto: number }>("SELECT indexed_upto FROM text_index").get()!.indexed_upto;
}

/**
 * Adds up to `limit` written lines to the text index; returns how many it added.
 *
 * @example
 * while (indexStep(sqlite) > 0);
 */
export function indexStep(sqlite: Database.Database, limit = INDEX_BATCH_LINES): number {
  return sqlite.transaction(() => {
    const from = indexedUpto(sqlite);
    const upto = sqlite.prepare<[number, number], { upto: number | null }>("SELECT max(id) AS upto FROM (SELECT id FROM lines WHERE id > ? ORDER BY id LIMIT ?)").get(from, limit)!.upto;
    if (upto === null) return 0;
    sqlite.prepare("INSERT INTO lines_text (rowid, message) SELECT id, message FROM lines WHERE id > ? AND id <= ?").run(from, upto);
    sqlite.prepare("UPDATE text_index SET indexed_upto = ?").run(upto);
    return upto - from;
  }).immediate();
}
