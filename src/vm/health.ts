// Health checks from the host: an HTTP path answering 2xx, or a TCP port accepting a connection.
// A checker only reports ok or not; it does not know what an instance is.
import { createConnection } from "node:net";
import type { Healthcheck } from "../config/app-config.ts";

/** How long a TCP connection must stay open to count as accepted by the guest. */
const TCP_SETTLE_MS = 300;

/**
 * @example
 * await checkHealth({ type: "http", path: "/health", … }, "127.0.0.1", 41234); // true when 2xx
 */
export async function checkHealth(check: Exclude<Healthcheck, false>, host: string, port: number): Promise<boolean> {
  if (check.type === "http") {
    try {
      const response = await fetch(`http://${host}:${port}${check.path}`, { signal: AbortSignal.timeout(check.timeoutMs) });
      await response.arrayBuffer();
      return response.status >= 200 && response.status < 300;
    } catch {
      return false;
    }
  }
  return new Promise((resolve) => {
    const socket = createConnection({ host, port, timeout: check.timeoutMs });
    let timer: NodeJS.Timeout | undefined;
    const done = (ok: boolean): void => { clearTimeout(timer); socket.destroy(); resolve(ok); };
    // QEMU's user network accepts on the host side before it knows whether the guest listens, and
    // closes the connection when the guest refuses: only a connection that stays open (or talks) counts.
    socket.on("connect", () => { timer = setTimeout(() => done(true), Math.min(TCP_SETTLE_MS, check.timeoutMs)); });
    socket.on("data", () => done(true)).on("end", () => done(false)).on("close", () => done(false));
    socket.on("error", () => done(false)).on("timeout", () => done(false));
  });
}

/** Resolves once `healthyThreshold` checks in a row pass; rejects when the signal aborts. */
export async function waitHealthy(check: Exclude<Healthcheck, false>, host: string, port: number, signal: AbortSignal): Promise<void> {
  let passed = 0;
  while (!signal.aborted) {
    passed = (await checkHealth(check, host, port)) ? passed + 1 : 0;
    if (passed >= check.healthyThreshold) return;
    await new Promise((resolve) => setTimeout(resolve, passed > 0 ? check.intervalMs : Math.min(check.intervalMs, 250)));
  }
  throw signal.reason ?? new Error("aborted");
}
