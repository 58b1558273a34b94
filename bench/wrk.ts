// wrk (Debian's /usr/bin/wrk) for the benchmarks: a timed run's figures, and a paced load that runs
// until it is told to stop and counts every answer by status and body (a Lua script in the run).
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface WrkFigures { requestsPerSecond: number; latencyP50Ms: number; latencyP99Ms: number; errors: number }

/** wrk's figures: Requests/sec, the 50% and 99% latency lines, socket errors and non-2xx answers. */
export function parseWrk(output: string): WrkFigures {
  const milliseconds = (text: string): number => {
    const match = /([\d.]+)(us|ms|s)/.exec(text)!;
    return Number(match[1]) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[match[2]!]!;
  };
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output)?.slice(1).reduce((sum, count) => sum + Number(count), 0) ?? 0;
  return {
    requestsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(output)![1]),
    latencyP50Ms: milliseconds(/ 50%\s+(\S+)/.exec(output)![1]!),
    latencyP99Ms: milliseconds(/ 99%\s+(\S+)/.exec(output)![1]!),
    errors: errors + Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0),
  };
}

/** `wrk ARGS URL` to the end; its figures. */
export async function runWrk(args: string[], url: string): Promise<WrkFigures> {
  return parseWrk(await wrk([...args, url]).finished);
}

export interface LoadCount {
  /** Answers of any status. */
  answered: number;
  /** Socket errors (connect, read, write, timeout) and answers other than 200. */
  failed: number;
  statuses: Record<string, number>;
  /** Answers by the first line of their body. */
  bodies: Record<string, number>;
  /** Socket errors by kind, as wrk counts them. */
  socketErrors: Record<"connect" | "read" | "write" | "timeout", number>;
  /** Per connection, the bodies in the order they came, a repeat left out: ["1", "2"] is one clean switch. */
  sequences: string[][];
}

// One line per answer ("ANSWER <connection> <status> <first line of the body>") and wrk's socket
// errors at the end; the counting happens here.
const LOAD_SCRIPT = `
local count = 0
function setup(thread)
  count = count + 1
  thread:set("id", count)
end
function init(args) pace = tonumber(args[1]) or 0 end
function delay() return pace end
function response(status, headers, body)
  io.write("ANSWER ", id, " ", status, " ", string.sub(string.match(body or "", "^[^\\r\\n]*") or "", 1, 60), "\\n")
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write("ERRORS ", e.connect, " ", e.read, " ", e.write, " ", e.timeout, "\\n")
end
`;

/**
 * Requests `url` on `connections` connections, each waiting `paceMs` between its requests, over
 * kept-alive connections or a fresh one per request (`Connection: close`), until stop() is called.
 *
 * @example
 * const load = await startLoad(scriptFolder, "http://127.0.0.1:8080/env/VERSION", { connections: 2, paceMs: 20, fresh: true });
 * await deploy();
 * await load.stop(); // { answered: 812, failed: 0, statuses: { "200": 812 }, bodies: { "1": 400, "2": 412 }, sequences: [["1", "2"], ["1", "2"]], … }
 */
export async function startLoad(scriptFolder: string, url: string, options: { connections: number; paceMs: number; fresh: boolean }): Promise<{ stop: () => Promise<LoadCount> }> {
  // A file per load: wrk reads its script as it starts, so another load must not rewrite it meanwhile.
  const script = join(scriptFolder, `load-${randomUUID()}.lua`);
  await writeFile(script, LOAD_SCRIPT);
  const run = wrk([
    // A thread per connection: each thread's sequence of bodies is then one connection's.
    `-t${options.connections}`, `-c${options.connections}`, "-d1h", "--timeout", "10s", "-s", script,
    ...(options.fresh ? ["-H", "Connection: close"] : []), url, "--", String(options.paceMs),
  ]);
  return {
    async stop() {
      // wrk ends its run on SIGINT and still calls done().
      run.interrupt();
      const output = await run.finished;
      return loadCount(output);
    },
  };
}

function loadCount(output: string): LoadCount {
  const statuses: Record<string, number> = {};
  const bodies: Record<string, number> = {};
  const byConnection = new Map<string, string[]>();
  let errorLine: string[] | undefined;
  for (const line of output.split("\n")) {
    if (line.startsWith("ERRORS ")) errorLine = line.split(" ").slice(1);
    const answer = /^ANSWER (\d+) (\d+) ?(.*)$/.exec(line);
    if (!answer) continue;
    const [, connection, status, body] = answer as unknown as [string, string, string, string];
    statuses[status] = (statuses[status] ?? 0) + 1;
    bodies[body] = (bodies[body] ?? 0) + 1;
    const sequence = byConnection.get(connection) ?? [];
    if (sequence.at(-1) !== body) sequence.push(body);
    byConnection.set(connection, sequence);
  }
  if (!errorLine) throw new Error(`wrk printed no error counts:\n${output.slice(-2000)}`);
  const [connect, read, write, timeout] = errorLine.map(Number) as [number, number, number, number];
  const answered = Object.values(statuses).reduce((sum, count) => sum + count, 0);
  return {
    answered, failed: connect + read + write + timeout + answered - (statuses["200"] ?? 0), statuses, bodies,
    socketErrors: { connect, read, write, timeout }, sequences: [...byConnection.values()],
  };
}

/** wrk as a child process: its stdout once it exits (rejects on a non-zero exit), and a way to end it early. */
function wrk(args: string[]): { finished: Promise<string>; interrupt: () => void } {
  const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "", stderr = "";
  child.stdout.on("data", (chunk: Buffer) => { stdout += chunk.toString(); });
  child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString(); });
  const finished = new Promise<string>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => (code === 0 ? resolve(stdout) : reject(new Error(`wrk ${args.join(" ")} ended with ${code ?? signal}:\n${stderr}${stdout}`))));
  });
  return { finished, interrupt: () => child.kill("SIGINT") };
}
