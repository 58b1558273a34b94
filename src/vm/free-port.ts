// Host ports for port forwards on 127.0.0.1: a free one, or a check that a chosen one is free.
import { createServer } from "node:net";
import { IngotError } from "../errors.ts";

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Fails, naming the port and a free one, when something on this machine already listens on it. */
export async function assertPortFree(port: number): Promise<void> {
  const free = await new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
  if (!free) {
    throw new IngotError(`Cannot forward host port ${port} as it is already in use on 127.0.0.1`, {
      code: "port-in-use", hint: `Stop what listens there, or pick another port, e.g. -p ${await freePort()}:GUEST`,
    });
  }
}
