// `ingot server [status|stop]`: runs the control plane in the foreground (for a service manager),
// or tells whether it runs, or stops it. Other verbs start it in the background when needed.
import { IngotError } from "../errors.ts";
import { assertNotRunning, ControlServer, type ServerStatus } from "../server/control-server.ts";
import { requestServer } from "../server/control-client.ts";
import { openControlPlane } from "../server/control-plane.ts";
import { serverPaths } from "../server/server-paths.ts";
import { defaultVaultRoot } from "../vault/vault.ts";
import type { Parsed } from "./args.ts";

/**
 * @example
 * // $ ingot server status
 * // running, pid 4242, up 3m12s, socket /root/.local/share/ingot/server/api.sock
 */
export const serverVerb = {
  async run(args: Parsed): Promise<number> {
    const [action, ...extra] = args.positionals;
    if (extra.length > 0 || (action !== undefined && action !== "status" && action !== "stop")) {
      throw new IngotError(`Cannot run ingot server ${args.positionals.join(" ")} as it takes status, stop or nothing`, { code: "cli-unknown-command", hint: "Write ingot server, ingot server status or ingot server stop" });
    }
    const paths = serverPaths();
    if (action === undefined) {
      const home = defaultVaultRoot();
      // A second server must be refused before this one adopts (and so touches) anything.
      await assertNotRunning(paths);
      const plane = await openControlPlane(home, (line) => console.error(`ingot server: ${line}`));
      const server = await ControlServer.start({ home, routes: plane.routes }).catch((error: unknown) => { plane.close(); throw error; });
      console.error(`ingot server: listening on ${paths.socket} (pid ${process.pid})`);
      const stop = (): void => void server.close();
      process.once("SIGTERM", stop).once("SIGINT", stop);
      await server.closed;
      plane.close();
      console.error("ingot server: stopped");
      return 0;
    }
    const status = await requestServer<ServerStatus>(paths, "GET", "/v1/status").catch(() => undefined);
    if (!status) {
      console.log("ingot server is not running");
      return action === "status" ? 3 : 0;
    }
    if (action === "status") {
      console.log(`running, pid ${status.pid}, since ${status.startedAt}, socket ${status.socket}`);
      return 0;
    }
    await requestServer(paths, "POST", "/v1/stop");
    await waitForExit(status.pid);
    console.log(`stopped ingot server (pid ${status.pid})`);
    return 0;
  },
};

async function waitForExit(pid: number): Promise<void> {
  for (let tries = 0; tries < 100; tries++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
