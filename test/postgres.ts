// A throwaway PostgreSQL for tests: Debian's server binaries (the newest installed major), a data
// folder of its own in the system's temp folder, a unix socket there and no TCP port, trust
// authentication. PostgreSQL refuses to run as root, so a root test runs it as the `postgres`
// user Debian's package creates (else `nobody`). Stopped by its PID, never by name.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmod, chown } from "node:fs/promises";
import { join } from "node:path";
import { findPostgres } from "../src/accessory/postgres-install.ts";
import { tempDir } from "./helpers.ts";

const START_TIMEOUT_MS = 30_000;

/** Who the server runs as: root may not, so an unprivileged account with a passwd entry (initdb looks itself up). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ["postgres", "nobody"]) {
    try {
      return { uid: Number(execFileSync("id", ["-u", name], { encoding: "utf8" })), gid: Number(execFileSync("id", ["-g", name], { encoding: "utf8" })) };
    } catch {
      // no such account: try the next
    }
  }
  throw new Error("Cannot run PostgreSQL as root and found neither a postgres nor a nobody account to run it as");
}

export class TestPostgres {
  private server: ChildProcess | undefined;
  private serverOutput = "";

  private constructor(readonly bin: string, readonly folder: string, private readonly removeFolder: () => Promise<void>, private readonly user: { uid: number; gid: number } | undefined) {}

  /** A fresh cluster, started; `close()` stops it and removes its folder. */
  static async start(): Promise<TestPostgres> {
    const bin = findPostgres().bindir;
    const folder = await tempDir("ingot-pg-");
    const user = serverUser();
    if (user) await chown(folder.path, user.uid, user.gid);
    await chmod(folder.path, 0o700);
    const postgres = new TestPostgres(bin, folder.path, folder.remove, user);
    try {
      execFileSync(join(bin, "initdb"), ["-D", postgres.dataDir, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"], { stdio: "pipe", ...user });
      await postgres.resume();
    } catch (error) {
      await postgres.close();
      throw error;
    }
    return postgres;
  }

  get dataDir(): string {
    return join(this.folder, "data");
  }

  /** DATABASE_URL of a database here, through the unix socket. */
  url(database: string): string {
    return `postgres://postgres@/${database}?host=${encodeURIComponent(this.folder)}`;
  }

  /** Starts the server (again, after `stopServer`) and waits until it answers. */
  async resume(): Promise<void> {
    this.serverOutput = "";
    const server = spawn(join(this.bin, "postgres"), ["-D", this.dataDir, "-k", this.folder, "-c", "listen_addresses=", "-c", "fsync=off"], { stdio: ["ignore", "pipe", "pipe"], ...this.user });
    this.server = server;
    server.stdout!.on("data", (chunk: Buffer) => (this.serverOutput += chunk.toString()));
    server.stderr!.on("data", (chunk: Buffer) => (this.serverOutput += chunk.toString()));
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (server.exitCode !== null) throw new Error(`PostgreSQL exited (${server.exitCode}) as it started:\n${this.serverOutput}`);
      try {
        this.psql("postgres", "select 1");
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    throw new Error(`PostgreSQL did not answer within ${START_TIMEOUT_MS} ms:\n${this.serverOutput}`);
  }

  /** Runs SQL with psql; its rows as text, one per line, columns joined by |. */
  psql(database: string, sql: string): string {
    return execFileSync(join(this.bin, "psql"), ["-h", this.folder, "-U", "postgres", "-d", database, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  }

  createDatabase(name: string): void {
    this.psql("postgres", `create database "${name}"`);
  }

  /** Fast shutdown (SIGINT: sessions are ended, nothing waits) of the server this fixture started; resolves once it has exited. */
  async stopServer(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server || server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise((resolve) => server.once("exit", resolve));
    process.kill(server.pid!, "SIGINT");
    await exited;
  }

  async close(): Promise<void> {
    await this.stopServer();
    await this.removeFolder();
  }
}
