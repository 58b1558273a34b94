// A JSON API over the same notes, for tests, scripts and load generators: GET and POST /api/notes,
// GET /api/session (who the cookie says is signed in).
import type { FastifyInstance } from "fastify";
import type { Kysely } from "kysely";
import { describeDatabaseError, type NotesDatabase } from "../database.js";
import type { SchemaState } from "../migrations.js";
import { addNote, listNotes, NOTE_MAX_LENGTH } from "../notes.js";
import { signedInUser } from "../session.js";

const NOTE_BODY = {
  type: "object",
  required: ["text"],
  additionalProperties: false,
  properties: { text: { type: "string", minLength: 1, maxLength: NOTE_MAX_LENGTH, pattern: "\\S" } },
} as const;

export function apiRoutes(app: FastifyInstance, db: Kysely<NotesDatabase>, schema: SchemaState): void {
  app.get("/api/session", async (request) => ({ user: signedInUser(request) ?? null }));

  app.get("/api/notes", async (request, reply) => {
    if (!schema.ready) return reply.code(503).send({ error: schema.problem || "database schema not migrated yet" });
    try {
      return { notes: await listNotes(db) };
    } catch (error) {
      request.log.warn({ err: error }, `cannot list notes: ${describeDatabaseError(error)}`);
      return reply.code(503).send({ error: `database unreachable: ${describeDatabaseError(error)}` });
    }
  });

  app.post<{ Body: { text: string } }>("/api/notes", { schema: { body: NOTE_BODY } }, async (request, reply) => {
    if (!schema.ready) return reply.code(503).send({ error: schema.problem || "database schema not migrated yet" });
    try {
      const note = await addNote(db, request.body.text, signedInUser(request));
      request.log.info({ note: note.id }, `note ${note.id} added by ${note.author ?? "anonymous"}`);
      return reply.code(201).send(note);
    } catch (error) {
      request.log.warn({ err: error }, `cannot add a note: ${describeDatabaseError(error)}`);
      return reply.code(503).send({ error: `database unreachable: ${describeDatabaseError(error)}` });
    }
  });
}
