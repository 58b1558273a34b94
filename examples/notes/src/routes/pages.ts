// The HTML page and its forms. Each form posts and redirects back (303), so a reload never posts twice.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import { describeDatabaseError, type NotesDatabase } from "../database.js";
import type { Environment } from "../environment.js";
import type { SchemaState } from "../migrations.js";
import { addNote, listNotes, noteTextProblem } from "../notes.js";
import { renderPage } from "../page.js";
import { parseName, signedInUser } from "../session.js";

type FormBody = Record<string, string | undefined>;

export function pageRoutes(app: FastifyInstance, db: Kysely<NotesDatabase>, schema: SchemaState, environment: Environment): void {
  /** The page with the notes, or with why there are none to show (503 while the database cannot answer). */
  async function page(request: FastifyRequest, reply: FastifyReply, status: number, problem?: string): Promise<FastifyReply> {
    const user = signedInUser(request);
    reply.type("text/html; charset=utf-8");
    if (!schema.ready) {
      return reply.code(503).send(renderPage({ environment, user, notes: undefined, problem: `The notes cannot be shown: ${schema.problem || "the database schema is not migrated yet"}` }));
    }
    try {
      const notes = await listNotes(db);
      return reply.code(status).send(renderPage({ environment, user, notes, problem }));
    } catch (error) {
      request.log.warn({ err: error }, `cannot list notes: ${describeDatabaseError(error)}`);
      return reply.code(503).send(renderPage({ environment, user, notes: undefined, problem: `The notes cannot be shown: database unreachable: ${describeDatabaseError(error)}` }));
    }
  }

  app.get("/", (request, reply) => page(request, reply, 200));

  app.post<{ Body: FormBody }>("/notes", async (request, reply) => {
    const text = request.body?.text;
    const problem = noteTextProblem(text);
    if (problem) return page(request, reply, 400, problem);
    try {
      const note = await addNote(db, text!, signedInUser(request));
      request.log.info({ note: note.id }, `note ${note.id} added by ${note.author ?? "anonymous"}`);
    } catch (error) {
      request.log.warn({ err: error }, `cannot add a note: ${describeDatabaseError(error)}`);
      return page(request, reply, 503, `The note was not added: ${describeDatabaseError(error)}`);
    }
    return reply.redirect("/", 303);
  });

  app.post<{ Body: FormBody }>("/sign-in", async (request, reply) => {
    const parsed = parseName(request.body?.name);
    if ("problem" in parsed) return page(request, reply, 400, parsed.problem);
    request.session.name = parsed.name;
    await request.session.save();
    request.log.info(`${parsed.name} signed in`);
    return reply.redirect("/", 303);
  });

  app.post("/sign-out", async (request, reply) => {
    request.session.destroy();
    return reply.redirect("/", 303);
  });
}
