// The page lists the newest notes first; this keeps that a short index scan as notes pile up.
import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex("note_created_at").on("note").columns(["created_at desc", "id desc"]).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("note_created_at").execute();
}
