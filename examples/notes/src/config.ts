// Everything the app reads from its environment variables, checked at once at start: a missing
// or malformed value stops the app with every problem named, before it listens.
import { detectEnvironment, type Environment } from "./environment.js";
import { parseSessionKey } from "./session-key.js";

export interface NotesConfig {
  /** PORT, which ingot sets (8080 unless ingot.yaml says otherwise). */
  port: number;
  /** 0.0.0.0: a VM's forwards lead to the guest's own address, not to its loopback. */
  host: string;
  databaseUrl: string;
  sessionKey: Buffer;
  environment: Environment;
}

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly problems: string[]) {
    super(`Cannot start as the configuration is incomplete: ${problems.join("; ")}`);
  }
}

/**
 * @example
 * readConfig({ DATABASE_URL: "postgres://notes@db/notes", SESSION_KEY: "…64 hex digits…" }).port; // 8080
 */
export function readConfig(env: NodeJS.ProcessEnv = process.env): NotesConfig {
  const problems: string[] = [];
  const port = Number(env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`PORT must be a port number, got ${JSON.stringify(env.PORT)}`);
  const databaseUrl = env.DATABASE_URL ?? "";
  if (databaseUrl === "") problems.push("DATABASE_URL is not set: give the PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE), the environment's database accessory passes it");
  else if (!/^postgres(ql)?:\/\//.test(databaseUrl)) problems.push("DATABASE_URL must start with postgres:// or postgresql://");
  let sessionKey: Buffer = Buffer.alloc(0);
  try {
    sessionKey = parseSessionKey(env.SESSION_KEY);
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { port, host: env.HOST || "0.0.0.0", databaseUrl, sessionKey, environment: detectEnvironment(env) };
}
