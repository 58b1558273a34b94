// `ingot server`: the control plane's JSON API over HTTP on a unix socket. One server per $INGOT_HOME;
// it refuses to start beside a running one, and takes over a socket a crashed one left behind.
import { chmod, lstat, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { IngotError } from "../errors.ts";
import { BUILDER_VERSION } from "../image/builder.ts";
import { defaultVaultRoot } from "../vault/vault.ts";
import { requestServer } from "./control-client.ts";
import { type ServerPaths, serverPaths } from "./server-paths.ts";

/**
 * One API route: plans and state live elsewhere; a route only decodes, calls and encodes. A route
 * that streams (a deploy) sends each `emit`ted event as one JSON line before its result; `signal`
 * aborts when the client goes away before the answer ends (a follow ends then; a deploy goes on).
 */
export interface Route {
  method: "GET" | "POST";
  path: string;
  stream?: boolean;
  /** `emit` returns the bytes the client has not read yet, so a route can stop a reader that lags. */
  handle: (body: unknown, emit: (event: unknown) => number, signal: AbortSignal) => Promise<unknown>;
}

export interface ServerStatus {
  pid: number;
  version: string;
  home: string;
  socket: string;
  startedAt: string;
}

/**
 * @example
 * const server = await ControlServer.start({ home });
 * await server.closed; // until POST /v1/stop or close()
 */
export class ControlServer {
  readonly closed: Promise<void>;
  #markClosed: () => void = () => {};

  private constructor(readonly paths: ServerPaths, readonly status: ServerStatus, private readonly http: Server) {
    this.closed = new Promise((resolve) => { this.#markClosed = resolve; });
  }

  static async start(options: { home?: string; routes?: Route[] } = {}): Promise<ControlServer> {
    const home = options.home ?? defaultVaultRoot();
    const paths = serverPaths(home);
    await privateFolder(paths.dir);
    await takeOverSocket(paths);
    const status: ServerStatus = { pid: process.pid, version: BUILDER_VERSION, home, socket: paths.socket, startedAt: new Date().toISOString() };
    const http = createServer();
    const server = new ControlServer(paths, status, http);
    const routes: Route[] = [
      { method: "GET", path: "/v1/status", handle: async () => status },
      { method: "POST", path: "/v1/stop", handle: async () => { setImmediate(() => void server.close()); return { stopping: true }; } },
      ...(options.routes ?? []),
    ];
    http.on("request", (request: IncomingMessage, response: ServerResponse) => void answer(routes, request, response));
    await new Promise<void>((resolve, reject) => http.once("error", reject).listen(paths.socket, resolve));
    // Only the owner may talk to the control plane: it can boot VMs and read secrets.
    await chmod(paths.socket, 0o600);
    await writeFile(paths.pidFile, `${JSON.stringify({ pid: process.pid, startedAt: status.startedAt })}\n`, { mode: 0o600 });
    return server;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeAllConnections();
    await rm(this.paths.pidFile, { force: true });
    this.#markClosed();
  }
}

async function answer(routes: Route[], request: IncomingMessage, response: ServerResponse): Promise<void> {
  const route = routes.find((candidate) => candidate.method === request.method && candidate.path === request.url);
  const send = (status: number, value: unknown): void => {
    if (response.headersSent) response.end(`${JSON.stringify(value)}\n`);
    else response.writeHead(status, { "content-type": route?.stream ? "application/x-ndjson" : "application/json" }).end(`${JSON.stringify(value)}\n`);
  };
  if (!route) return send(404, { error: { code: "api-unknown-route", message: `No route ${request.method} ${request.url}` } });
  // A streamed answer is 200 from its first event on; its last line is the result or the error.
  const emit = (event: unknown): number => {
    if (!route.stream || response.writableEnded) return 0;
    if (!response.headersSent) response.writeHead(200, { "content-type": "application/x-ndjson" });
    response.write(`${JSON.stringify({ event })}\n`);
    return response.writableLength;
  };
  const gone = new AbortController();
  response.once("close", () => { if (!response.writableFinished) gone.abort(); });
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const result = await route.handle(text === "" ? undefined : JSON.parse(text), emit, gone.signal);
    send(200, route.stream ? { result } : result);
  } catch (error) {
    const failure = error instanceof IngotError
      ? { code: error.code, message: error.message, hint: error.hint }
      : { code: "server-bug", message: (error as Error).message, hint: "This is a bug in ingot; the server's log has the stack trace" };
    if (!(error instanceof IngotError)) console.error((error as Error).stack);
    send(error instanceof IngotError ? 400 : 500, { error: failure });
  }
}

/** The server's folder exists, is ours and is closed to everyone else. */
async function privateFolder(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await lstat(dir);
  if (!info.isDirectory() || info.uid !== process.getuid?.()) {
    throw new IngotError(`Cannot start ingot server as its folder is not a folder of this user: ${dir}`, {
      code: "server-folder-foreign", hint: "Use your own INGOT_HOME, or remove the folder if it is a leftover",
    });
  }
  await chmod(dir, 0o700);
}

/** Refuses to start beside a server that answers on the socket. */
export async function assertNotRunning(paths: ServerPaths): Promise<void> {
  const running = await requestServer<ServerStatus>(paths, "GET", "/v1/status").catch(() => undefined);
  if (running) {
    throw new IngotError(`Cannot start ingot server as one is already running (pid ${running.pid}) on ${paths.socket}`, {
      code: "server-running", hint: "Use it, or stop it first with ingot server stop",
    });
  }
}

/** A socket that answers belongs to a running server: refuse. One that does not is a crash's leftover: remove it. */
async function takeOverSocket(paths: ServerPaths): Promise<void> {
  await assertNotRunning(paths);
  await rm(paths.socket, { force: true });
  await readFile(paths.pidFile).then(() => rm(paths.pidFile, { force: true }), () => {});
}
