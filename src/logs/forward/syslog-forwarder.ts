// Forwards lines as RFC 5424 syslog over TCP or TLS, octet-counted (RFC 6587): what rsyslog's imtcp,
// syslog-ng, Vector and the OpenTelemetry Collector's syslog receiver read. One connection, opened
// when the first line comes, reopened with backoff while the peer is down; lines wait in the bounded
// buffer meanwhile. A line written to a connection that then breaks is lost, as with any syslog sender.
import { readFile } from "node:fs/promises";
import { connect as connectTcp, isIP, type Socket } from "node:net";
import { connect as connectTls } from "node:tls";
import type { LogLine } from "../log-line.ts";
import { formatSyslog, octetCounted } from "../syslog-format.ts";
import { DEFAULT_BUFFER_LIMITS, ForwardBuffer } from "./forward-buffer.ts";
import type { SyslogTarget } from "./forward-target.ts";
import { CLOSE_GRACE_MS, doneOrAfter, type ForwarderCounters, ForwarderHealth, type ForwarderOptions, type LogForwarder, PEER_TIMEOUT_MS } from "./log-forwarder.ts";
import { retryDelayMs } from "./retry-delay.ts";

/** Frames go out in writes of about this size: few syscalls, and little beyond the buffer's bound in the socket. */
const WRITE_CHUNK_BYTES = 64 * 1024;

type ConnectionState = "idle" | "connecting" | "up" | "retrying" | "closed";

/**
 * @example
 * const forwarder = new SyslogForwarder({ kind: "syslog", url: "syslog+tcp://127.0.0.1:514", host: "127.0.0.1", port: 514, tls: false });
 * forwarder.send(line);
 * await forwarder.close();
 */
export class SyslogForwarder implements LogForwarder {
  private readonly buffer: ForwardBuffer<string>;
  private readonly health = new ForwarderHealth();
  private readonly delayOf: (failures: number) => number;
  private state: ConnectionState = "idle";
  private socket: Socket | undefined;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private pumpScheduled = false;
  private closing = false;
  private emptied: (() => void) | undefined;

  constructor(readonly target: SyslogTarget, options: ForwarderOptions = {}) {
    this.buffer = new ForwardBuffer(target.url, (line) => {
      const frame = octetCounted(formatSyslog(line));
      return { item: frame, bytes: Buffer.byteLength(frame) };
    }, options.limits ?? DEFAULT_BUFFER_LIMITS);
    this.delayOf = options.retryDelayMs ?? retryDelayMs;
  }

  get counters(): ForwarderCounters {
    return this.health.counters(this.buffer);
  }

  send(line: LogLine): void {
    if (this.closing) return;
    try {
      this.buffer.offer(line);
    } catch (error) {
      this.health.failed(error);
      return;
    }
    if (this.state === "idle") this.connect();
    else if (this.state === "up") this.schedulePump();
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    // A peer that is up, or being reached, gets what waits; one that is down is not waited for.
    if ((this.state === "up" || this.state === "connecting") && this.buffer.lines > 0) {
      await doneOrAfter(CLOSE_GRACE_MS, (resolve) => { this.emptied = resolve; });
    }
    this.state = "closed";
    clearTimeout(this.retryTimer);
    const socket = this.socket;
    if (!socket) return;
    await new Promise<void>((resolve) => {
      socket.once("close", () => resolve());
      socket.end();
      setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
    });
  }

  private connect(): void {
    this.state = "connecting";
    this.open().then((socket) => this.up(socket), (error: unknown) => this.retry(error));
  }

  private async open(): Promise<Socket> {
    const { host, port, tls, caFile } = this.target;
    // Read at every connection, so a renewed CA file is taken without a restart.
    const ca = caFile === undefined ? undefined : await readFile(caFile).catch((error: unknown) => {
      throw new Error(`Cannot read the CA file ${caFile} as ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    });
    return new Promise((resolve, reject) => {
      // The server name is always verified: against the host's name, or its IP address when it is one (RFC 6066 names only).
      const socket = tls ? connectTls({ host, port, ...(isIP(host) ? {} : { servername: host }), ...(ca ? { ca } : {}) }) : connectTcp({ host, port });
      socket.setTimeout(PEER_TIMEOUT_MS, () => socket.destroy(new Error(`${host}:${port} did not answer within ${PEER_TIMEOUT_MS} ms`)));
      socket.once("error", reject);
      socket.once(tls ? "secureConnect" : "connect", () => {
        socket.off("error", reject);
        socket.setTimeout(0);
        resolve(socket);
      });
    });
  }

  private up(socket: Socket): void {
    if (this.state === "closed") {
      socket.destroy();
      return;
    }
    this.socket = socket;
    this.state = "up";
    this.failures = 0;
    this.health.connected = true;
    // A receiver says nothing back; what it might say is read and thrown away so the socket never stalls.
    socket.resume();
    socket.setKeepAlive(true, 30_000);
    socket.on("drain", () => this.pump());
    socket.on("error", (error) => this.health.failed(error));
    socket.on("close", (hadError) => this.lost(hadError));
    this.pump();
  }

  private lost(hadError: boolean): void {
    this.socket = undefined;
    this.health.connected = false;
    if (this.state === "closed") return;
    // A peer that closed an idle connection is reconnected when the next line comes; one that left lines waiting, after a backoff.
    if (this.buffer.lines > 0) this.retry(new Error(`${this.target.host}:${this.target.port} closed the connection`), hadError);
    else this.state = "idle";
  }

  private retry(error: unknown, counted = false): void {
    if (this.state === "closed") return;
    if (!counted) this.health.failed(error);
    if (this.closing) {
      this.emptied?.();
      return;
    }
    this.failures++;
    this.state = "retrying";
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.state === "retrying") this.connect();
    }, this.delayOf(this.failures)).unref();
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    // Lines that arrive in one turn of the event loop go out in one write.
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    const socket = this.socket;
    if (!socket) return;
    while (this.buffer.lines > 0 && !socket.writableNeedDrain) {
      const batch = this.buffer.take(Number.MAX_SAFE_INTEGER, WRITE_CHUNK_BYTES);
      socket.write(batch.map((entry) => entry.item).join(""));
      this.health.sent += batch.length;
      if (this.buffer.lines === 0) this.buffer.reportDrops();
    }
    if (this.buffer.lines === 0) this.emptied?.();
  }
}
