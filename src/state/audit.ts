// The audit trail: every mutating call, who made it, with what arguments (secrets redacted), and how it ended.
import { userInfo } from "node:os";
import type { StateDatabase } from "./database.ts";

/** What a redacted argument is stored as. */
export const REDACTED = "[redacted]";

/** Argument names whose values are never stored, at any depth: `value` covers `secret set`'s input. */
const SECRET_ARGUMENT = /secret|password|passphrase|token|credential|private|^value$|^values$/i;

export interface Caller { userName: string; uid: number }

export interface AuditRecord {
  id: number;
  timeMs: number;
  userName: string;
  uid: number;
  verb: string;
  arguments: unknown;
  outcome: "ok" | "failed";
  error: string | null;
}

/**
 * Append-only record of mutating calls. The caller defaults to this process's OS user; the server
 * passes the peer of the API socket instead.
 *
 * @example
 * const audit = new AuditLog(state);
 * await audit.run("secret set", { environment: "prod", name: "API_TOKEN", value: token }, () => secrets.set("prod", "API_TOKEN", token));
 * audit.list({ limit: 1 })[0].arguments; // → { environment: "prod", name: "API_TOKEN", value: "[redacted]" }
 */
export class AuditLog {
  constructor(private readonly state: StateDatabase) {}

  record(entry: { verb: string; arguments: unknown; outcome: "ok" | "failed"; error?: string; caller?: Caller }): void {
    const caller = entry.caller ?? currentUser();
    this.state.sqlite.prepare("INSERT INTO audit (time_ms, user_name, uid, verb, arguments, outcome, error) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .run(Date.now(), caller.userName, caller.uid, entry.verb, JSON.stringify(redact(entry.arguments) ?? null), entry.outcome, entry.error ?? null);
  }

  /** Runs a mutating call and records it as ok or failed (with the error's message); rethrows. */
  async run<T>(verb: string, args: unknown, work: () => T | Promise<T>, caller?: Caller): Promise<T> {
    try {
      const result = await work();
      this.record({ verb, arguments: args, outcome: "ok", caller });
      return result;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      this.record({ verb, arguments: args, outcome: "failed", error: `${typeof code === "string" ? `${code}: ` : ""}${(error as Error).message}`, caller });
      throw error;
    }
  }

  /** The newest records first. */
  list(options: { limit?: number } = {}): AuditRecord[] {
    const rows = this.state.sqlite.prepare<[number], { id: number; time_ms: number; user_name: string; uid: number; verb: string; arguments: string; outcome: "ok" | "failed"; error: string | null }>(
      "SELECT * FROM audit ORDER BY id DESC LIMIT ?").all(options.limit ?? 100);
    return rows.map((row) => ({ id: row.id, timeMs: row.time_ms, userName: row.user_name, uid: row.uid, verb: row.verb, arguments: JSON.parse(row.arguments), outcome: row.outcome, error: row.error }));
  }
}

/**
 * A copy of `value` in which everything under an argument named like a secret is REDACTED (its
 * shape and keys are kept: they say which variables changed), and binary data is never stored.
 *
 * @example
 * redact({ name: "DB_PASSWORD", value: "hunter2" }); // → { name: "DB_PASSWORD", value: "[redacted]" }
 * redact({ values: { A: "1" } }); // → { values: { A: "[redacted]" } }
 */
export function redact(value: unknown, secret = false): unknown {
  if (Array.isArray(value)) return value.map((inner) => redact(inner, secret));
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return REDACTED;
  if (value === null || typeof value !== "object") return secret && value !== undefined ? REDACTED : value;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, redact(inner, secret || SECRET_ARGUMENT.test(key))]));
}

function currentUser(): Caller {
  const user = userInfo();
  return { userName: user.username, uid: user.uid };
}
