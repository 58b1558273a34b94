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
const START_TIMEOUT_MS = 15_000;

/**
 * Calls the control plane of `home`, starting it when needed.
 *
 * @example
 * const status = await callServer<ServerStatus>("GET", "/v1/status");
 */
export async function callServer<T>(method: "GET" | "POST", path: string, body?: unknown, options: { home?: string; autostart?: boolean } = {}): Promise<T> {
  const home = options.home ?? defaultVaultRoot();
  const paths = serverPaths(home);
  try {
    return await requestServer<T>(paths, method, path, body);
  } catch (error) {
    if (options.autostart === false || !isNotRunning(error)) throw error;
  }
  await startInBackground(home, paths);
  return requestServer<T>(paths, method, path, body);
}

/** One request, no start: rejects with the connection's error when nothing listens. */
export async function requestServer<T>(paths: ServerPaths, method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
  await assertOwnSocket(paths);
  const payload = body === undefined ? "" : JSON.stringify(body);
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const call = request({ socketPath: paths.socket, method, path, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk)).on("end", () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") })).on("error", reject);
    });
    call.on("error", reject);
    call.end(payload);
  });
  const value = JSON.parse(text) as T & { error?: { code: string; message: string; hint?: string } };
  if (status !== 200 && value.error) throw new IngotError(value.error.message, { code: value.error.code, hint: value.error.hint });
  return value;
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
