// What the log service sees of a forward target: lines go in and never wait, counters come out for
// status. Each protocol has its forwarder (syslog-forwarder.ts, otlp-forwarder.ts).
import type { LogLine } from "../log-line.ts";
import type { BufferLimits } from "./forward-buffer.ts";
import type { ForwardTarget } from "./forward-target.ts";

export interface ForwarderCounters {
  /** Lines handed to the peer: written to its connection (syslog) or accepted by a 2xx answer (OTLP). */
  sent: number;
  /** Lines waiting in the buffer. */
  queued: number;
  /** Lines dropped because the buffer was full or the peer refused them for good. */
  dropped: number;
  /** Failed connections, writes and requests. */
  errors: number;
  /** True while a connection is up (syslog) or the last request succeeded (OTLP). */
  connected: boolean;
  lastError?: string;
  lastErrorMs?: number;
}

export interface LogForwarder {
  readonly target: ForwardTarget;
  /** Queues the line; returns at once, never throws. */
  send(line: LogLine): void;
  /** Sends what waits for up to a short grace, then lets go of the connection. */
  close(): Promise<void>;
  readonly counters: ForwarderCounters;
}

export interface ForwarderOptions {
  limits?: BufferLimits;
  /** The wait before the next try after this many failures in a row (retry-delay.ts). */
  retryDelayMs?: (failures: number) => number;
}

/** How long close() keeps trying to deliver what still waits. */
export const CLOSE_GRACE_MS = 2000;
/** A connection or request that takes longer has failed (a peer that drops packets never refuses). */
export const PEER_TIMEOUT_MS = 10_000;

/** Resolves when the callback `register` is handed gets called, or after `ms`, and leaves no timer behind. */
export function doneOrAfter(ms: number, register: (done: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    register(() => { clearTimeout(timer); resolve(); });
  });
}

/** The counters a forwarder keeps besides its buffer's, and how an error is recorded. */
export class ForwarderHealth {
  sent = 0;
  errors = 0;
  connected = false;
  lastError: string | undefined;
  lastErrorMs: number | undefined;

  failed(error: unknown): void {
    this.errors++;
    this.connected = false;
    this.lastError = error instanceof Error ? error.message : String(error);
    this.lastErrorMs = Date.now();
  }

  counters(buffer: { lines: number; dropped: number }): ForwarderCounters {
    return {
      sent: this.sent, queued: buffer.lines, dropped: buffer.dropped, errors: this.errors, connected: this.connected,
      ...(this.lastError === undefined ? {} : { lastError: this.lastError, lastErrorMs: this.lastErrorMs }),
    };
  }
}
