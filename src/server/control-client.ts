// The CLI's side of the control plane: a JSON request over the server's unix socket, starting the
// server in the background first when it is not running. The socket must be this user's own.
import { spawn } from "node:child_process";
import { lstat, mkdir, open } from "node:fs/promises";
import { request } from "node:http";
import { fileURLToPath } from "node:url";
import { IngotError } from "../errors.ts";
import { defaultVaultRoot } from "../vault/vault.ts";
import { type ServerPaths, serverPaths } from "./server-paths.ts";

const BIN = fileURLToPath(new URL("../../bin/ingot", import.meta.url));
/** Node, tsx and the state opening on a loaded 2-core host took up to ~5 s: room for a busier one. */
const START_TIMEOUT_MS = 30_000;

/**
 * Calls the control plane of `home`, starting it when needed.
 *
 * @example
 * const status = await callServer<ServerStatus>("GET", "/v1/status");
 */
export async function callServer<T>(method: "GET" | "POST", path: string, body?: unknown, options: { home?: string; autostart?: boolean } = {}): Promise<T> {
  return withServer(options, (paths) => requestServer<T>(paths, method, path, body));
}

/**
 * Calls a streaming route (a deploy): `onEvent` gets each progress event as it happens, the promise
 * the result. The work goes on in the server if this process stops listening.
 *
 * @example
 * const report = await streamServer<DeployReport>("/v1/deploy", { environment: "prod", image: "hello:2" }, (event) => render(event));
 */
export async function streamServer<T>(path: string, body: unknown, onEvent: (event: unknown) => void, options: { home?: string; autostart?: boolean } = {}): Promise<T> {
  return withServer(options, async (paths) => {
    let result: { result?: T; error?: ApiError } | undefined;
    await exchange(paths, "POST", path, body, (line) => {
      const message = JSON.parse(line) as { event?: unknown; result?: T; error?: ApiError };
      if ("event" in message) onEvent(message.event);
      else result = message;
    });
    if (result?.error) throw apiError(result.error);
    if (!result || !("result" in result)) throw new IngotError(`Cannot read the answer of ingot server to ${path} as it ended early`, { code: "server-gone", hint: `The server may have stopped; its log: ${paths.log}` });
    return result.result as T;
  });
}

/**
 * Runs `call` against the server of `home`; when nothing listens (the connection fails before any
 * answer, so nothing was done), starts the server in the background and runs it once more.
 */
async function withServer<T>(options: { home?: string; autostart?: boolean }, call: (paths: ServerPaths) => Promise<T>): Promise<T> {
  const home = options.home ?? defaultVaultRoot();
  const paths = serverPaths(home);
  try {
    return await call(paths);
  } catch (error) {
    if (options.autostart === false || !isNotRunning(error)) throw error;
  }
  await startInBackground(home, paths);
  return call(paths);
}

interface ApiError { code: string; message: string; hint?: string }

function apiError(error: ApiError): IngotError {
  return new IngotError(error.message, { code: error.code, hint: error.hint });
}

/** One request, no start: rejects with the connection's error when nothing listens. */
export async function requestServer<T>(paths: ServerPaths, method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
  const lines: string[] = [];
  const status = await exchange(paths, method, path, body, (line) => lines.push(line));
  const value = JSON.parse(lines.join("\n")) as T & { error?: ApiError };
  if (status !== 200 && value.error) throw apiError(value.error);
  return value;
}

/** Sends one request over the socket and hands each line of the answer to `onLine` as it arrives. */
async function exchange(paths: ServerPaths, method: "GET" | "POST", path: string, body: unknown, onLine: (line: string) => void): Promise<number> {
  await assertOwnSocket(paths);
  const payload = body === undefined ? "" : JSON.stringify(body);
  return new Promise<number>((resolve, reject) => {
    const call = request({ socketPath: paths.socket, method, path, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } }, (response) => {
      let partial = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        const lines = (partial + chunk).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) if (line.trim()) onLine(line);
      }).on("end", () => {
        if (partial.trim()) onLine(partial);
        resolve(response.statusCode ?? 0);
      }).on("error", reject);
    });
    call.on("error", reject);
    call.end(payload);
  });
}

/** `ingot server` as a detached process that outlives this CLI, its output in the server's log. */
async function startInBackground(home: string, paths: ServerPaths): Promise<void> {
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  const log = await open(paths.log, "a", 0o600);
  const child = spawn(BIN, ["server"], { detached: true, stdio: ["ignore", log.fd, log.fd], env: { ...process.env, INGOT_HOME: home } });
  child.unref();
  await log.close();
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await requestServer(paths, "GET", "/v1/status").then(() => true, () => false)) return;
    const code = await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 100, "running"))]);
    if (code !== "running") {
      throw new IngotError(`Cannot start ingot server as it exited with status ${String(code)}`, { code: "server-start-failed", hint: `Its log says why: ${paths.log}` });
    }
  }
  throw new IngotError(`Cannot reach ingot server as it did not answer within ${START_TIMEOUT_MS / 1000} s on ${paths.socket}`, { code: "server-start-timeout", hint: `Its log may say why: ${paths.log}` });
}

/** A socket or folder of another user could be a trap: never send it secrets or commands. */
async function assertOwnSocket(paths: ServerPaths): Promise<void> {
  const uid = process.getuid?.();
  for (const [path, kind] of [[paths.dir, "folder"], [paths.socket, "socket"]] as const) {
    const info = await lstat(path).catch(() => undefined);
    if (!info) return;
    if (info.uid !== uid || (kind === "folder" && (info.mode & 0o077) !== 0)) {
      throw new IngotError(`Cannot talk to ingot server as its ${kind} is not private to this user: ${path}`, {
        code: "server-socket-foreign", hint: `It must be owned by uid ${String(uid)} and closed to others (0700 folder); remove it if it is not yours, or set INGOT_HOME`,
      });
    }
  }
}

function isNotRunning(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ECONNREFUSED";
}
