// The metadata service as one instance sees it: an HTTP server on a unix socket that only that
// instance's QEMU can reach (a guestfwd runs a connector to it per guest connection), so an instance
// can read only its own configuration and no port on the host carries it.
import { createServer, type Server } from "node:http";
import { chmod } from "node:fs/promises";
import type { InstanceConfig } from "./instance-config.ts";

/** The address init is given on the kernel command line; inside QEMU's user network (10.0.2.0/24). */
export const METADATA_GUEST_ADDRESS = { host: "10.0.2.100", port: 80 };

export interface MetadataEndpoint {
  socketPath: string;
  /** How many times the configuration was served; init fetches it once per boot. */
  readonly served: number;
  close: () => Promise<void>;
}

/** Where the guest reaches its log endpoint (logs.sock in its run folder) inside QEMU's user network. */
export const LOGS_GUEST_ADDRESS = { host: "10.0.2.101", port: 601 };

/** Where the guest reaches its environment's accessories (a PostgreSQL), one guest port each (accessory-kind.ts). */
export const ACCESSORY_GUEST_HOST = "10.0.2.102";

/**
 * Serves `GET /v1/config` → `{ "instance": "i-…", "logs": { "address": …, "app": … }, "env": { … } }`
 * (the contract in init/README.md).
 *
 * @example
 * const endpoint = await serveInstanceConfig("/run/ingot/i-1/metadata.sock", config);
 * await endpoint.close();
 */
export async function serveInstanceConfig(socketPath: string, config: InstanceConfig): Promise<MetadataEndpoint> {
  let served = 0;
  const body = JSON.stringify({ instance: config.instance, ...(config.logs ? { logs: config.logs } : {}), env: config.env });
  const server: Server = createServer((request, response) => {
    response.setHeader("Connection", "close");
    if (request.method === "GET" && request.url === "/v1/config") {
      served++;
      response.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
      response.end(body);
      return;
    }
    response.writeHead(404, { "Content-Type": "application/json" });
    response.end(JSON.stringify({ error: `no ${request.method} ${request.url} here; init reads GET /v1/config` }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => resolve());
  });
  await chmod(socketPath, 0o600);
  return {
    socketPath,
    get served() { return served; },
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
