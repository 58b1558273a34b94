// The HAProxy process behind an entry point: started as a daemon so that it outlives ingot, and
// recognized again later by its command line and start time, so a reused pid is never mistaken for it.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";
import { IngotError } from "../errors.ts";
import { processStartTime } from "../process/process-identity.ts";

/** HAProxy on PATH, else Debian's /usr/sbin/haproxy: /usr/sbin is often missing from a user's PATH. */
export function haproxyBinary(): string {
  const folders = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), "/usr/sbin", "/usr/local/sbin"];
  return folders.map((folder) => join(folder, "haproxy")).find((path) => existsSync(path)) ?? "haproxy";
}

/**
 * Runs `haproxy -f CONFIG -D`: the foreground process checks the config, binds, forks the daemon
 * (its own session, reparented to init) and exits, so its status says whether the start worked.
 *
 * @example
 * await startHaproxy("/run/ingot/prod/haproxy.cfg", "prod"); // then read the pid file the config names
 */
export async function startHaproxy(configPath: string, environment: string, binary = haproxyBinary()): Promise<void> {
  const child = spawn(binary, ["-f", configPath, "-D"], { stdio: ["ignore", "ignore", "pipe"], detached: true });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString(); });
  const status = await new Promise<number | null>((resolve, reject) => {
    child.on("error", (error: NodeJS.ErrnoException) => reject(error.code === "ENOENT"
      ? new IngotError(`Cannot start the entry point of ${environment} as HAProxy is not installed: ${binary}`, {
        code: "haproxy-missing", hint: "Install it with scripts/setup.sh, or apt-get install haproxy", cause: error,
      })
      : error));
    // "exit", not "close": the daemon may hold the inherited stderr open for its whole life.
    child.on("exit", resolve);
  });
  child.stderr.destroy();
  if (status !== 0) {
    const alerts = stderr.split("\n").filter((line) => line.includes("[ALERT]")).join("\n") || stderr.trim();
    throw new IngotError(`Cannot start the entry point of ${environment} as HAProxy refused to start (status ${status}): ${alerts}`, {
      code: "entry-start-failed", hint: `Check ${configPath} with: haproxy -c -f ${configPath}`,
    });
  }
}

/** True when pid is an HAProxy run with this config file and started at startTime. */
export async function isHaproxyOf(pid: number, configPath: string, startTime: string): Promise<boolean> {
  const argv = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0");
  return /(^|\/)haproxy$/.test(argv[0] ?? "") && argv.includes(configPath) && (await processStartTime(pid)) === startTime;
}

/** Refuses, before HAProxy starts, an address it could not bind: one in use, or a privileged port. */
export async function assertBindable(environment: string, address: string, port: number): Promise<void> {
  const failure = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const server = createServer();
    server.once("error", resolve);
    server.listen(port, address, () => server.close(() => resolve(undefined)));
  });
  if (!failure) return;
  const where = `${address}:${port}`;
  const reason = failure.code === "EADDRINUSE" ? "it is in use"
    : failure.code === "EACCES" ? "ports below 1024 need privileges"
      : failure.code === "EADDRNOTAVAIL" ? "no interface of this machine has that address" : failure.message;
  throw new IngotError(`Cannot bind the entry point of ${environment} to ${where} as ${reason}`, {
    code: failure.code === "EADDRINUSE" ? "entry-port-in-use" : failure.code === "EACCES" ? "entry-port-privileged" : "entry-bind-failed",
    hint: failure.code === "EACCES"
      ? "Pick a port of 1024 or above in ingot.yaml (environments.<name>.port), or grant CAP_NET_BIND_SERVICE"
      : "Stop what listens there, or pick another port in ingot.yaml (environments.<name>.port)",
    cause: failure,
  });
}
