// The Fastify app: its logger (one searchable line per request, request-log.ts), form bodies,
// sessions and the routes.
import formBody from "@fastify/formbody";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Kysely } from "kysely";
import type { NotesConfig } from "./config.js";
import type { NotesDatabase } from "./database.js";
import type { SchemaState } from "./migrations.js";
import { apiRoutes } from "./routes/api.js";
import { healthRoutes } from "./routes/health.js";
import { pageRoutes } from "./routes/pages.js";
import { RequestLog } from "./request-log.js";
import { registerSessions } from "./session.js";

export async function buildApp(config: NotesConfig, db: Kysely<NotesDatabase>, schema: SchemaState, logger: FastifyBaseLogger): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: logger, logController: new RequestLog() });
  await app.register(formBody);
  registerSessions(app, config.sessionKey);
  healthRoutes(app, db, schema);
  pageRoutes(app, db, schema, config.environment);
  apiRoutes(app, db, schema);
  return app;
}
