// A client of HAProxy's runtime API (the admin stats socket): one connection per command, answers as
// text, and HAProxy's error answers turned into IngotErrors.
import { createConnection } from "node:net";
import { IngotError } from "../errors.ts";
import { serverStatuses, type ServerStatus } from "./server-status.ts";

/** Answers HAProxy gives to a command that failed, mapped to a stable code and what to do. */
const FAILURES: { pattern: RegExp; code: string; hint: string }[] = [
  { pattern: /^No such (server|backend)/, code: "entry-server-unknown", hint: "List the entry point's servers; it may have been removed already" },
  { pattern: /^Already exists a server/, code: "entry-server-exists", hint: "Use another instance name, or remove the old server first" },
  { pattern: /still has connections|Only servers in maintenance/, code: "entry-server-busy", hint: "Drain the server and wait until its sessions end before removing it" },
];
const OTHER_FAILURE = { code: "entry-command-failed", hint: "This is a bug in ingot's use of HAProxy's runtime API; please report it" };

/**
 * @example
 * const api = new RuntimeApi("/run/ingot/prod/admin.sock");
 * await api.addServer("prod", "web-1", "127.0.0.1", 41234, ["check", "inter", "1000"]);
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

  /** Adds a dynamic server (created in maintenance, checks off) and enables its health checks. */
  async addServer(backend: string, name: string, address: string, port: number, options: string[]): Promise<void> {
    await this.#expect(`add server ${backend}/${name} ${address}:${port} ${options.join(" ")}`, /^New server registered/);
    if (options.includes("check")) await this.#expect(`enable health ${backend}/${name}`);
  }

  /** ready: takes requests; drain: only those of sessions it already has; maint: none, checks stop. */
  async setServerState(backend: string, name: string, state: "ready" | "drain" | "maint"): Promise<void> {
    await this.#expect(`set server ${backend}/${name} state ${state}`);
  }

  /** Forces the check result to down: the server must pass `rise` checks before it takes requests. */
  async markDown(backend: string, name: string): Promise<void> {
    await this.#expect(`set server ${backend}/${name} health down`);
  }

  /** 0 to 256; 0 keeps it out of the balancing while it stays up. */
  async setWeight(backend: string, name: string, weight: number): Promise<void> {
    await this.#expect(`set weight ${backend}/${name} ${weight}`);
  }

  /**
   * Runs commands whose success is an empty answer as one line (HAProxy runs `a; b; c` back to back
   * in one go), so that no request is balanced between the first and the last.
   */
  async batch(commands: string[]): Promise<void> {
    if (commands.length > 0) await this.#expect(commands.join("; "));
  }

  /** Puts the server in maintenance and deletes it; fails with entry-server-busy while it has connections. */
  async deleteServer(backend: string, name: string): Promise<void> {
    await this.setServerState(backend, name, "maint");
    await this.#expect(`del server ${backend}/${name}`, /^Server deleted/);
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
