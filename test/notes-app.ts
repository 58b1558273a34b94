// Fixtures for examples/notes: a copy of it (src/demo/demo-app.ts makes it) installed and built on
// the host, and its server run as a process whose JSON log lines the test reads. Each process is
// stopped by its PID.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { freePort } from "../src/vm/free-port.ts";

/**
 * The copy installed from its lock file and built (`npm run build`, tsc), as a developer or CI
 * would before running it: the test owns its install instead of depending on the checkout's.
 */
export function installAndBuild(folder: string): void {
  for (const args of [["ci", "--no-audit", "--no-fund", "--loglevel=error"], ["run", "build"]]) {
    try {
      execFileSync("npm", args, { cwd: folder, stdio: "pipe", encoding: "utf8" });
    } catch (error) {
      const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
      throw new Error(`npm ${args.join(" ")} failed in ${folder}:\n${stdout}${stderr}`, { cause: error });
    }
  }
}

/** One pino line of the app: level 10..60, msg, and whatever else it logged. */
export interface LogRecord {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export class NotesProcess {
  readonly lines: LogRecord[] = [];
  /** Output that was not a JSON line (a crash's stack, a warning of node's). */
  readonly otherOutput: string[] = [];
  readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcess, readonly port: number) {
    let pending = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      pending += chunk.toString();
      const complete = pending.split("\n");
      pending = complete.pop()!;
      for (const line of complete) this.take(line);
    });
    child.stderr!.on("data", (chunk: Buffer) => this.otherOutput.push(chunk.toString()));
    this.exited = new Promise((resolve) => child.once("exit", (code) => { this.take(pending); resolve(code); }));
  }

  /** Starts `node dist/server.js` in the built folder with `env` (and PATH) only, on a free port. */
  static async start(folder: string, env: Record<string, string>): Promise<NotesProcess> {
    const port = await freePort();
    const child = spawn(process.execPath, ["dist/server.js"], { cwd: folder, env: { PATH: process.env.PATH ?? "", PORT: String(port), ...env }, stdio: ["ignore", "pipe", "pipe"] });
    return new NotesProcess(child, port);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Resolves once /health answers 200; rejects with the process's output when it exits or the time is up. */
  async waitUntilHealthy(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "no answer";
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`The notes app exited (${this.child.exitCode}) before it was healthy:\n${this.output()}`);
      try {
        const response = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(2000) });
        last = `${response.status} ${await response.text()}`;
        if (response.status === 200) return;
      } catch (error) {
        last = (error as Error).message;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`The notes app was not healthy within ${timeoutMs} ms (last answer: ${last}):\n${this.output()}`);
  }

  /** SIGTERM by PID, as init forwards it; resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) process.kill(this.child.pid!, "SIGTERM");
    return this.exited;
  }

  output(): string {
    return [...this.lines.map((line) => JSON.stringify(line)), ...this.otherOutput].join("\n");
  }

  private take(line: string): void {
    if (line.trim() === "") return;
    try {
      this.lines.push(JSON.parse(line) as LogRecord);
    } catch {
      this.otherOutput.push(line);
    }
  }
}
