// Health checks from the host: an HTTP path answering 2xx, or a TCP port accepting a connection.
// A checker only reports ok or not, and what it saw; it does not know what an instance is.
import { createConnection } from "node:net";
import type { Healthcheck } from "../config/app-config.ts";
import { IngotError } from "../errors.ts";

/** How long a TCP connection must stay open to count as accepted by the guest. */
const TCP_SETTLE_MS = 300;

/** One check's outcome, with what was seen: "HTTP 500", "connection refused", "no answer within 2 s". */
export interface HealthAnswer {
  ok: boolean;
  answer: string;
}

/**
 * @example
 * await checkHealth({ type: "http", path: "/health", … }, "127.0.0.1", 41234); // { ok: false, answer: "HTTP 500" }
 */
export async function checkHealth(check: Exclude<Healthcheck, false>, host: string, port: number): Promise<HealthAnswer> {
  if (check.type === "http") {
    try {
      const response = await fetch(`http://${host}:${port}${check.path}`, { signal: AbortSignal.timeout(check.timeoutMs) });
      await response.arrayBuffer();
      return { ok: response.status >= 200 && response.status < 300, answer: `HTTP ${response.status}` };
    } catch (error) {
      return { ok: false, answer: failureOf(error, check.timeoutMs) };
    }
  }
  return new Promise((resolve) => {
    const socket = createConnection({ host, port, timeout: check.timeoutMs });
    let timer: NodeJS.Timeout | undefined;
    const done = (ok: boolean, answer: string): void => { clearTimeout(timer); socket.destroy(); resolve({ ok, answer }); };
    // QEMU's user network accepts on the host side before it knows whether the guest listens, and
    // closes the connection when the guest refuses: only a connection that stays open (or talks) counts.
    socket.on("connect", () => { timer = setTimeout(() => done(true, "connection accepted"), Math.min(TCP_SETTLE_MS, check.timeoutMs)); });
    socket.on("data", () => done(true, "connection accepted")).on("end", () => done(false, "connection closed: nothing listens on the port in the guest"));
    socket.on("close", () => done(false, "connection closed: nothing listens on the port in the guest"));
    socket.on("error", (error) => done(false, failureOf(error, check.timeoutMs))).on("timeout", () => done(false, `no answer within ${check.timeoutMs / 1000} s`));
  });
}

/**
 * Resolves once `healthyThreshold` checks in a row pass. Gives up after `check.startTimeoutMs`
 * with an IngotError that says what the last check saw; rejects when the signal aborts.
 */
export async function waitHealthy(check: Exclude<Healthcheck, false>, host: string, port: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + check.startTimeoutMs;
  let passed = 0;
  while (!signal.aborted) {
    const last = await checkHealth(check, host, port);
    passed = last.ok ? passed + 1 : 0;
    if (passed >= check.healthyThreshold) return;
    if (Date.now() >= deadline) {
      const what = check.type === "http" ? `GET ${check.path}` : "a TCP connection";
      throw new IngotError(`Cannot call the instance healthy as ${what} did not pass within ${check.startTimeoutMs / 1000} s: last answer ${last.answer}`, {
        code: "health-timeout", hint: "The console lines above show what the app did; fix the health path or raise healthcheck.startTimeout in ingot.yaml",
      });
    }
    await new Promise((resolve) => setTimeout(resolve, passed > 0 ? check.intervalMs : Math.min(check.intervalMs, 250)));
  }
  throw signal.reason ?? new Error("aborted");
}

function failureOf(error: unknown, timeoutMs: number): string {
  const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as NodeJS.ErrnoException).code;
  if ((error as Error).name === "TimeoutError") return `no answer within ${timeoutMs / 1000} s`;
  if (cause === "ECONNREFUSED") return "connection refused";
  if (cause === "ECONNRESET" || cause === "UND_ERR_SOCKET") return "connection closed: nothing listens on the port in the guest";
  return (error as Error).message;
}
