// The bounded queue in front of a forward target: lines wait here while the peer is down or slow, and
// past the bound they are dropped and counted, never waited for, so the store is never slowed. Once
// the peer takes lines again, one notice says how many are missing, where they are missing (as init
// does for its own buffer, init/logs.c).
import type { LogLine } from "../log-line.ts";

export interface BufferLimits {
  lines: number;
  bytes: number;
}

/** About a minute of a busy app's lines, and little memory next to the control plane's. */
export const DEFAULT_BUFFER_LIMITS: BufferLimits = { lines: 10_000, bytes: 8 * 1024 * 1024 };

/** One line as its forwarder will send it, and its size against the byte bound. */
export interface Encoded<T> {
  item: T;
  bytes: number;
}

/**
 * The line that says lines were dropped: a warning from ingot itself, in the stream it is missing from.
 *
 * @example
 * dropNotice("syslog+tcp://logs:514", 42, Date.now()).message; // "ingot: dropped 42 log lines for syslog+tcp://logs:514 as it was unreachable or too slow"
 */
export function dropNotice(url: string, dropped: number, timeMs: number): LogLine {
  return {
    timeMs, environment: "", app: "ingot", version: "", instance: "", source: "console", stream: "", severity: 4,
    message: `ingot: dropped ${dropped} log lines for ${url} as it was unreachable or too slow`,
  };
}

/**
 * @example
 * const buffer = new ForwardBuffer(target.url, (line) => ({ item: formatSyslog(line), bytes: line.message.length }));
 * buffer.offer(line);
 * const batch = buffer.take(1000, 64 * 1024); // [{ item, bytes }, …]
 */
export class ForwardBuffer<T> {
  /** Lines dropped since the forwarder started. */
  dropped = 0;
  private unreported = 0;
  private entries: Encoded<T>[] = [];
  private head = 0;
  private queuedBytes = 0;

  constructor(
    private readonly url: string,
    private readonly encode: (line: LogLine) => Encoded<T>,
    private readonly limits: BufferLimits = DEFAULT_BUFFER_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  get lines(): number {
    return this.entries.length - this.head;
  }

  get bytes(): number {
    return this.queuedBytes;
  }

  /** Queues the line, or drops and counts it when the bound is reached; never waits. */
  offer(line: LogLine): void {
    // A full buffer costs no encoding: a flood against a dead peer stays cheap.
    if (this.lines >= this.limits.lines || this.queuedBytes >= this.limits.bytes) return this.drop(1);
    const encoded = this.encode(line);
    if (this.unreported > 0) {
      const notice = this.encode(dropNotice(this.url, this.unreported, this.now()));
      if (!this.fits(notice.bytes + encoded.bytes, 2)) return this.drop(1);
      this.unreported = 0;
      this.push(notice);
    }
    if (!this.fits(encoded.bytes, 1)) return this.drop(1);
    this.push(encoded);
  }

  /** Up to maxLines lines (at least one when any wait) of at most maxBytes together, oldest first. */
  take(maxLines: number, maxBytes: number): Encoded<T>[] {
    const batch: Encoded<T>[] = [];
    let bytes = 0;
    while (this.head < this.entries.length && batch.length < maxLines) {
      const entry = this.entries[this.head]!;
      if (batch.length > 0 && bytes + entry.bytes > maxBytes) break;
      batch.push(entry);
      bytes += entry.bytes;
      this.queuedBytes -= entry.bytes;
      this.head++;
    }
    // Compacts once the taken half dominates, so a long-lived queue neither leaks nor shifts per line.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return batch;
  }

  /** Puts a batch that could not be delivered back in front, to be sent first once the peer is back. */
  putBack(batch: Encoded<T>[]): void {
    this.entries = [...batch, ...this.entries.slice(this.head)];
    this.head = 0;
    for (const entry of batch) this.queuedBytes += entry.bytes;
  }

  /** Counts lines lost after they left the buffer (a batch the peer refused for good). */
  drop(count: number): void {
    this.dropped += count;
    this.unreported += count;
  }

  /** After a delivery, with nothing else waiting: the notice goes now rather than with the next line. */
  reportDrops(): void {
    if (this.unreported === 0 || this.lines > 0) return;
    const notice = this.encode(dropNotice(this.url, this.unreported, this.now()));
    this.unreported = 0;
    this.push(notice);
  }

  private fits(bytes: number, lines: number): boolean {
    return this.lines + lines <= this.limits.lines && this.queuedBytes + bytes <= this.limits.bytes;
  }

  private push(entry: Encoded<T>): void {
    this.entries.push(entry);
    this.queuedBytes += entry.bytes;
  }
}
