// Forwards lines as OTLP/HTTP with JSON encoding (ExportLogsServiceRequest, POST to /v1/logs): what
// an OpenTelemetry Collector's otlp receiver, and through it Loki, Elasticsearch or Datadog, takes.
// Lines are batched, up to 1,000 or 1 s; one request at a time; a batch that fails for a reason that
// may pass (no answer, 429, 5xx, 401/403 while credentials are fixed) is kept and retried with backoff.
import { readFile } from "node:fs/promises";
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import type { LogLine } from "../log-line.ts";
import { DEFAULT_BUFFER_LIMITS, ForwardBuffer } from "./forward-buffer.ts";
import type { OtlpTarget } from "./forward-target.ts";
import { CLOSE_GRACE_MS, doneOrAfter, type ForwarderCounters, ForwarderHealth, type ForwarderOptions, type LogForwarder, PEER_TIMEOUT_MS } from "./log-forwarder.ts";
import { type OtlpItem, otlpEncoder, otlpRequestBody } from "./otlp-record.ts";
import { retryDelayMs } from "./retry-delay.ts";

export const BATCH_LINES = 1000;
export const BATCH_DELAY_MS = 1000;
/** Well below the Collector's default limit on a request body. */
const BATCH_BYTES = 4 * 1024 * 1024;

/** What became of one request: delivered, worth retrying, or refused for good (the batch is dropped). */
export type RequestOutcome = { kind: "delivered"; rejected: number; error?: string } | { kind: "retry" | "refused"; error: string };

/**
 * The outcome of an answer, by the OTLP/HTTP specification's rules on retryable responses.
 *
 * @example
 * requestOutcome(503, ""); // { kind: "retry", error: "HTTP 503" }
 */
export function requestOutcome(status: number, body: string): RequestOutcome {
  const error = `HTTP ${status}${body.trim() ? `: ${body.trim().slice(0, 200)}` : ""}`;
  if (status >= 200 && status < 300) {
    // partialSuccess.rejectedLogRecords: lines the receiver took but will not keep.
    const rejected = /"rejectedLogRecords"\s*:\s*"?(\d+)/.exec(body)?.[1];
    return rejected && Number(rejected) > 0 ? { kind: "delivered", rejected: Number(rejected), error: `${rejected} lines rejected: ${body.slice(0, 200)}` } : { kind: "delivered", rejected: 0 };
  }
  if (status === 408 || status === 429 || status >= 500 || status === 401 || status === 403) return { kind: "retry", error };
  return { kind: "refused", error };
}

/**
 * @example
 * const forwarder = new OtlpForwarder(parseForwardTarget("otlp+http://127.0.0.1:4318").target as OtlpTarget);
 * forwarder.send(line); // posted within a second
 */
export class OtlpForwarder implements LogForwarder {
  private readonly buffer: ForwardBuffer<OtlpItem>;
  private readonly health = new ForwarderHealth();
  private readonly delayOf: (failures: number) => number;
  private readonly agent: HttpAgent;
  private flushTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private closed = false;
  private failures = 0;
  private emptied: (() => void) | undefined;

  constructor(readonly target: OtlpTarget, options: ForwarderOptions = {}) {
    this.buffer = new ForwardBuffer(target.url, otlpEncoder(), options.limits ?? DEFAULT_BUFFER_LIMITS);
    this.delayOf = options.retryDelayMs ?? retryDelayMs;
    this.agent = target.tls ? new HttpsAgent({ keepAlive: true, maxSockets: 1 }) : new HttpAgent({ keepAlive: true, maxSockets: 1 });
  }

  get counters(): ForwarderCounters {
    return this.health.counters(this.buffer);
  }

  send(line: LogLine): void {
    if (this.closed) return;
    try {
      this.buffer.offer(line);
    } catch (error) {
      this.health.failed(error);
      return;
    }
    this.schedule();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.flushTimer);
    // A peer that is up gets what waits; one that is down is not waited for.
    if (this.buffer.lines > 0 && this.retryTimer === undefined) {
      const done = doneOrAfter(CLOSE_GRACE_MS, (resolve) => { this.emptied = resolve; });
      if (!this.inFlight) void this.flush();
      await done;
    }
    clearTimeout(this.retryTimer);
    this.agent.destroy();
  }

  private schedule(): void {
    if (this.inFlight || this.retryTimer !== undefined || this.buffer.lines === 0) return;
    if (this.closed) {
      if (this.emptied) void this.flush();
      return;
    }
    if (this.buffer.lines >= BATCH_LINES) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
      // Not in the caller's turn: building a request is the forwarder's work, not the store's.
      setImmediate(() => void this.flush());
      this.inFlight = true;
    } else if (this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => { this.flushTimer = undefined; void this.flush(); }, BATCH_DELAY_MS).unref();
    }
  }

  private async flush(): Promise<void> {
    this.inFlight = true;
    const batch = this.buffer.take(BATCH_LINES, BATCH_BYTES);
    const outcome = batch.length === 0 ? undefined : await this.post(otlpRequestBody(batch.map((entry) => entry.item)));
    this.inFlight = false;
    if (outcome?.kind === "delivered") {
      this.failures = 0;
      this.health.sent += batch.length;
      if (outcome.error) this.health.failed(outcome.error);
      this.health.connected = true;
      this.buffer.reportDrops();
    } else if (outcome?.kind === "refused") {
      this.health.failed(outcome.error);
      this.buffer.drop(batch.length);
    } else if (outcome?.kind === "retry") {
      this.health.failed(outcome.error);
      this.buffer.putBack(batch);
      if (!this.closed) {
        this.failures++;
        // The kept batch is due already: it goes when the wait is over, not a batch's second later.
        this.retryTimer = setTimeout(() => { this.retryTimer = undefined; if (!this.inFlight) void this.flush(); }, this.delayOf(this.failures)).unref();
      }
    }
    if (this.buffer.lines === 0 || outcome?.kind === "retry") {
      // Once: a closed forwarder whose peer fails makes no further tries.
      this.emptied?.();
      this.emptied = undefined;
    }
    this.schedule();
  }

  private async post(body: string): Promise<RequestOutcome> {
    const { host, port, path, tls, caFile } = this.target;
    let ca: Buffer | undefined;
    try {
      // Read at every request: a renewed CA file is taken without a restart, and a missing one is an error in status.
      ca = caFile === undefined ? undefined : await readFile(caFile);
    } catch (error) {
      return { kind: "retry", error: `Cannot read the CA file ${caFile} as ${error instanceof Error ? error.message : String(error)}` };
    }
    return new Promise((resolve) => {
      const options = {
        host, port, path, method: "POST", agent: this.agent, timeout: PEER_TIMEOUT_MS,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        ...(tls ? { ...(isIP(host) ? {} : { servername: host }), ...(ca ? { ca } : {}) } : {}),
      };
      const request = (tls ? httpsRequest : httpRequest)(options, (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => { if (text.length < 4096) text += chunk; });
        response.on("end", () => resolve(requestOutcome(response.statusCode ?? 0, text)));
        response.on("error", (error) => resolve({ kind: "retry", error: error.message }));
      });
      request.on("timeout", () => request.destroy(new Error(`${host}:${port} did not answer within ${PEER_TIMEOUT_MS} ms`)));
      request.on("error", (error) => resolve({ kind: "retry", error: error.message }));
      request.end(body);
    });
  }
}
