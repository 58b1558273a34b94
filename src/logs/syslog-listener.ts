// The log store's door: syslog over TCP (RFC 5424 or 3164 messages, octet-counted or LF-framed,
// RFC 6587) and UDP (one message a datagram, RFC 5426) on one port. It answers whatever comes:
// bad bytes become lines or dropped frames, never an exception; a silent sender is cut off after
// an idle timeout; a flooding one reads one chunk per turn of the event loop, like every other, and
// none reads while the store's backlog is full.
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { createServer, type Server, type Socket } from "node:net";
import { IngotError } from "../errors.ts";
import type { LogLine } from "./log-line.ts";
import { DEFAULT_FRAME_LIMITS, type FrameLimits, SyslogFrameReader } from "./syslog-frame.ts";
import { parseSyslog } from "./syslog-message.ts";

export interface ListenerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** A connection that sends nothing for this long is closed (a sender that connects and never writes). */
  idleTimeoutMs?: number;
  /** Connections at once; more are closed as they come, so a leak in one sender cannot exhaust the host. */
  maxConnections?: number;
  limits?: FrameLimits;
  /**
   * Undefined while the lines' destination has room, else a promise of room (LogStore.whenRoom):
   * TCP connections stop reading until it resolves, so TCP flow control slows the senders instead
   * of the server buffering without bound. UDP cannot be slowed; its datagrams are taken as they come.
   */
  whenRoom?: () => Promise<void> | undefined;
}

export interface ListenerCounters { connections: number; lines: number; brokenFrames: number; truncated: number; refused: number }

const DEFAULTS = { host: "127.0.0.1", port: 0, idleTimeoutMs: 5 * 60_000, maxConnections: 1024, whenRoom: (): Promise<void> | undefined => undefined };

/**
 * @example
 * const listener = await SyslogListener.start((line) => store.append(line), { port: 0 });
 * // logger --server 127.0.0.1 --port ${listener.port} --tcp --rfc5424 hello
 */
export class SyslogListener {
  readonly counters: ListenerCounters = { connections: 0, lines: 0, brokenFrames: 0, truncated: 0, refused: 0 };
  readonly #sockets = new Set<Socket>();

  private constructor(readonly port: number, private readonly tcp: Server, private readonly udp: UdpSocket,
    private readonly onLine: (line: LogLine) => void, private readonly settings: typeof DEFAULTS & { limits: FrameLimits }) {}

  static async start(onLine: (line: LogLine) => void, options: ListenerOptions = {}): Promise<SyslogListener> {
    const settings = { ...DEFAULTS, ...options, limits: options.limits ?? DEFAULT_FRAME_LIMITS };
    const tcp = createServer({ noDelay: true });
    const udp = createSocket("udp4");
    try {
      await new Promise<void>((resolve, reject) => tcp.once("error", reject).listen(settings.port, settings.host, resolve));
      const port = (tcp.address() as { port: number }).port;
      // UDP on the same number: standard senders (logger -d, rsyslog omfwd UDP) need no second setting.
      await new Promise<void>((resolve, reject) => udp.once("error", reject).bind(port, settings.host, resolve));
      const listener = new SyslogListener(port, tcp, udp, onLine, settings);
      tcp.on("connection", (socket) => listener.#accept(socket, onLine, settings));
      udp.on("message", (datagram) => {
        const truncated = datagram.length > settings.limits.maxMessageBytes;
        listener.#deliver(onLine, parseSyslog(truncated ? datagram.subarray(0, settings.limits.maxMessageBytes) : datagram, Date.now(), { truncated }), truncated);
      });
      return listener;
    } catch (error) {
      tcp.close();
      udp.close();
      throw new IngotError(`Cannot listen for logs on ${settings.host}:${settings.port} as ${(error as Error).message}`, {
        code: "logs-listen", hint: "Another process holds the port; remove $INGOT_HOME/server/logs.port to let ingot pick a free one", cause: error,
      });
    }
  }

  /**
   * Reads a connection that arrived at another door (an instance's own log socket) like one of its
   * own, with the same limits and counters; each line passes through `stamp` before it is stored.
   */
  serve(socket: Socket, stamp: (line: LogLine) => LogLine): void {
    this.#accept(socket, (line) => this.onLine(stamp(line)), this.settings);
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await Promise.all([new Promise((resolve) => this.tcp.close(resolve)), new Promise<void>((resolve) => this.udp.close(() => resolve()))]);
  }

  #accept(socket: Socket, onLine: (line: LogLine) => void, settings: typeof DEFAULTS & { limits: FrameLimits }): void {
    if (this.#sockets.size >= settings.maxConnections) {
      this.counters.refused++;
      socket.destroy();
      return;
    }
    this.counters.connections++;
    this.#sockets.add(socket);
    const reader = new SyslogFrameReader(settings.limits);
    socket.setTimeout(settings.idleTimeoutMs, () => socket.destroy());
    socket.on("data", (chunk: Buffer) => {
      const receivedMs = Date.now();
      for (const frame of reader.push(chunk)) this.#deliver(onLine, parseSyslog(frame.bytes, receivedMs, frame), frame.truncated);
      this.counters.brokenFrames += reader.brokenFrames;
      reader.brokenFrames = 0;
      // One chunk per connection per turn: every other sender (and the store posting its batch) gets its turn.
      socket.pause();
      const room = settings.whenRoom();
      if (room) void room.then(() => socket.resume());
      else setImmediate(() => socket.resume());
    });
    socket.on("end", () => {
      for (const frame of reader.end()) this.#deliver(onLine, parseSyslog(frame.bytes, Date.now(), frame), frame.truncated);
      socket.end();
    });
    socket.on("error", () => socket.destroy());
    socket.on("close", () => this.#sockets.delete(socket));
  }

  #deliver(onLine: (line: LogLine) => void, line: LogLine, truncated: boolean): void {
    this.counters.lines++;
    if (truncated) this.counters.truncated++;
    onLine(line);
  }
}
