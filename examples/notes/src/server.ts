// Starts the notes service: reads its configuration, listens on PORT, migrates the schema (waiting
// for the database if need be), and stops gracefully on SIGTERM, which ingot's init forwards when an
// instance is stopped or drained: in-flight requests finish, then the pool closes.
import { pino } from "pino";
import { buildApp } from "./app.js";
import { ConfigError, readConfig } from "./config.js";
import { openDatabase } from "./database.js";
import { detectEnvironment } from "./environment.js";
import { migrateWhenReachable, type SchemaState } from "./migrations.js";

// pino's JSON lines: ingot's log store reads `level` (10..60) as the severity and `msg` as the message.
const environment = detectEnvironment();
const log = pino({ level: environment.logLevel });

let config;
try {
  config = readConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  log.fatal({ problems: error.problems }, error.message);
  process.exit(78); // EX_CONFIG
}

const db = openDatabase(config.databaseUrl, log);
const schema: SchemaState = { ready: false, problem: "" };
const app = await buildApp(config, db, schema, log);
const stopping = new AbortController();

async function stop(signal: string): Promise<void> {
  if (stopping.signal.aborted) return;
  log.info(`${signal} received, stopping: finishing requests in flight`);
  stopping.abort();
  await app.close();
  await db.destroy();
  log.info("stopped");
}
for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => void stop(signal));

await app.listen({ port: config.port, host: config.host });
log.info({ environment: environment.name, image: environment.image, instance: environment.instance }, `notes listening on ${config.host}:${config.port} in ${environment.name}`);
// Listening first: /health says why it is not ready while the database is away.
migrateWhenReachable(db, schema, log, stopping.signal).catch((error: Error) => {
  log.fatal({ err: error }, error.message);
  process.exit(1);
});
