// GET /health: 200 when the schema is migrated and the database answers SELECT 1, else 503 with
// the reason. ingot's health check (ingot.yaml) asks it, so a deploy sends traffic only to
// instances that can serve it.
import type { FastifyInstance } from "fastify";
import type { Kysely } from "kysely";
import { databaseProblem, type NotesDatabase } from "../database.js";
import type { SchemaState } from "../migrations.js";

export function healthRoutes(app: FastifyInstance, db: Kysely<NotesDatabase>, schema: SchemaState): void {
  app.get("/health", async (request, reply) => {
    if (!schema.ready) return reply.code(503).send({ status: "unavailable", reason: schema.problem || "database schema not migrated yet" });
    const problem = await databaseProblem(db);
    if (problem) {
      // Not while the app starts (the migrations report that): a lost database is worth a warning.
      request.log.warn(`health check failed: database unreachable: ${problem}`);
      return reply.code(503).send({ status: "unavailable", reason: `database unreachable: ${problem}` });
    }
    return { status: "ok" };
  });
}
