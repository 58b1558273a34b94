// A client of HAProxy's runtime API (the admin stats socket): one connection per command, answers as
// text, and HAProxy's error answers turned into IngotErrors.
import { createConnection } from "node:net";
import { IngotError } from "../errors.ts";
import { serverStatuses, type ServerStatus } from "./server-status.ts";

/** Answers HAProxy gives to a command that failed, mapped to a stable code and what to do. */
const FAILURES: { pattern: RegExp; code: string; hint: string }[] = [
  { pattern: /^No such (server|backend)/, code: "entry-server-unknown", hint: "List the entry point's servers; it may have been removed already" },
  { pattern: /^Already exists a server/, code: "entry-server-exists", hint: "Use another instance name, or remove the old server first" },
];
const OTHER_FAILURE = { code: "entry-command-failed", hint: "This is a bug in ingot's use of HAProxy's runtime API; please report it" };

/**
 * @example
 * const api = new RuntimeApi("/run/ingot/prod/admin.sock");
 * await api.batch(["set server prod/slot1 state ready", "set weight prod/slot1 1"]);
 * (await api.servers("prod"))[0].state; // "DOWN" until its checks pass
 */
export class RuntimeApi {
  constructor(readonly socketPath: string) {}

  /** Sends one command and resolves with HAProxy's whole answer, trimmed. */
  command(text: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = createConnection(this.socketPath, () => socket.end(`${text}\n`));
      socket.setTimeout(10_000, () => socket.destroy(new Error("no answer within 10 s")));
      socket.on("data", (chunk) => chunks.push(chunk));
      socket.on("end", () => resolve(Buffer.concat(chunks).toString("utf8").trim()));
      socket.on("error", (error) => reject(new IngotError(`Cannot reach the entry point's runtime API as ${error.message}: ${this.socketPath}`, {
        code: "entry-not-running", hint: "The entry point's HAProxy is not running; start it again (its run folder is kept)", cause: error,
      })));
    });
  }

  /** ready: takes requests; drain: only those of sessions it already has; maint: none, checks stop. */
  async setServerState(backend: string, name: string, state: "ready" | "drain" | "maint"): Promise<void> {
    await this.#expect(`set server ${backend}/${name} state ${state}`);
  }

  /**
   * Runs commands whose success is an empty answer as one line (HAProxy runs `a; b; c` back to back
   * in one go), so that no request is balanced between the first and the last.
   */
  async batch(commands: string[]): Promise<void> {
    if (commands.length > 0) await this.#expect(commands.join("; "));
  }

  /** Ends the sessions still open on a server: the last resort after a drain timed out. */
  async shutdownSessions(backend: string, name: string): Promise<void> {
    await this.#expect(`shutdown sessions server ${backend}/${name}`);
  }

  async servers(backend: string): Promise<ServerStatus[]> {
    return serverStatuses(await this.command("show stat"), backend);
  }

  /** Runs a command whose success is an empty answer (or one matching `success`); anything else throws. */
  async #expect(text: string, success?: RegExp): Promise<void> {
    const answer = await this.command(text);
    if (success ? success.test(answer) : answer === "") return;
    const failure = FAILURES.find(({ pattern }) => pattern.test(answer)) ?? OTHER_FAILURE;
    throw new IngotError(`Cannot run "${text}" on the entry point as HAProxy answered: ${answer.split("\n")[0]}`, {
      code: failure.code, hint: failure.hint,
    });
  }
}
