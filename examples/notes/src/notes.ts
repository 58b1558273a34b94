// Notes: what the page and the API read and write. All of it lives in PostgreSQL; an instance keeps
// nothing, so any instance answers any request and a deploy loses nothing.
import type { Kysely } from "kysely";
import type { NotesDatabase } from "./database.js";

export interface Note {
  id: number;
  text: string;
  author: string | null;
  createdAt: string;
}

export const NOTE_MAX_LENGTH = 1000;
const PAGE_SIZE = 100;

/** The newest notes first. */
export async function listNotes(db: Kysely<NotesDatabase>): Promise<Note[]> {
  const rows = await db.selectFrom("note").selectAll().orderBy("created_at", "desc").orderBy("id", "desc").limit(PAGE_SIZE).execute();
  return rows.map(toNote);
}

/** Adds a note; the caller has checked its text with noteTextProblem. */
export async function addNote(db: Kysely<NotesDatabase>, text: string, author: string | undefined): Promise<Note> {
  const row = await db.insertInto("note").values({ text, author: author ?? null }).returningAll().executeTakeFirstOrThrow();
  return toNote(row);
}

/** Why a note's text cannot be stored, or undefined when it can. */
export function noteTextProblem(text: unknown): string | undefined {
  if (typeof text !== "string" || text.trim() === "") return "A note needs some text";
  if (text.length > NOTE_MAX_LENGTH) return `A note holds at most ${NOTE_MAX_LENGTH} characters, this one has ${text.length}`;
  return undefined;
}

function toNote(row: { id: number | string; text: string; author: string | null; created_at: Date }): Note {
  // bigint ids arrive as strings from pg; a notes table stays far below 2^53.
  return { id: Number(row.id), text: row.text, author: row.author, createdAt: row.created_at.toISOString() };
}
