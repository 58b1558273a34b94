// Where the control plane listens: a unix socket only its owner can open, in a 0700 folder.
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultVaultRoot } from "../vault/vault.ts";

export interface ServerPaths {
  /** The server's folder (0700): socket, pid file, log. */
  dir: string;
  socket: string;
  pidFile: string;
  log: string;
}

// sun_path holds 108 bytes with its NUL; keep a margin.
const MAX_SOCKET_PATH = 100;

/**
 * The server of $INGOT_HOME lives in $INGOT_HOME/server; when that path is too long for a unix
 * socket, in a short folder of the temp dir named after the home, so each home has its own server.
 *
 * @example
 * serverPaths("/root/.local/share/ingot").socket; // "/root/.local/share/ingot/server/api.sock"
 */
export function serverPaths(home = defaultVaultRoot()): ServerPaths {
  let dir = join(home, "server");
  if (join(dir, "api.sock").length > MAX_SOCKET_PATH) {
    const id = createHash("sha256").update(home).digest("hex").slice(0, 12);
    dir = join(tmpdir(), `ingot-${process.getuid?.() ?? 0}-${id}`);
  }
  return { dir, socket: join(dir, "api.sock"), pidFile: join(dir, "server.pid"), log: join(dir, "server.log") };
}
