// What every running instance has, whoever started it: its console as lines, what init said about
// the app's end, and a wait for a line. QemuVm (a child of ingot) and DetachedVm (one that outlives
// it, or was adopted) both are one.
import { EventEmitter } from "node:events";
import { cleanConsoleLine, initEvent, type ListeningSocket } from "./init-lines.ts";

export type VmState = "booting" | "running" | "stopping" | "stopped";

export abstract class VmConsole extends EventEmitter {
  state: VmState = "booting";
  readonly console: string[] = [];
  /** The app's exit status as init reported it; 128 + signal when it was killed. */
  appStatus: number | undefined;
  /**
   * The TCP ports the app listens on, as init last reported them (first opened first); undefined
   * until init reports any (it says "no tcp port" once the app ran 10 s without listening).
   */
  listening: ListeningSocket[] | undefined;
  /** Why init powered off without starting the app, when it did. */
  bootFailure: { status: number; reason: string } | undefined;
  /** performance.now() when QEMU was started (or adopted): the zero of boot timings. */
  readonly startedAt = performance.now();
  abstract readonly exited: Promise<number | null>;

  constructor(private readonly redact: (line: string) => string) {
    super();
  }

  /** Keeps one raw console line: cleaned, redacted, read for init's verdict, then announced. */
  protected acceptLine(raw: string): void {
    const line = this.redact(cleanConsoleLine(raw));
    this.console.push(line);
    const event = initEvent(line);
    if (event?.kind === "app-exited") this.appStatus = event.status;
    if (event?.kind === "boot-failed") this.bootFailure = { status: event.status, reason: event.reason };
    if (event?.kind === "app-listens") this.listening = event.sockets;
    this.emit("line", line);
    if (event?.kind === "app-listens") this.emit("listening", event.sockets);
  }

  /** Resolves with the first console line matching `pattern`; rejects on timeout or when QEMU exits first. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string> {
    const seen = this.console.find((line) => pattern.test(line));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        this.off("line", onLine);
        this.off("exit", onExit);
      };
      const onLine = (line: string): void => {
        if (pattern.test(line)) { cleanup(); resolve(line); }
      };
      const onExit = (): void => { cleanup(); reject(new Error(`QEMU exited before printing ${pattern}:\n${this.console.slice(-15).join("\n")}`)); };
      const timer = setTimeout(() => { cleanup(); reject(new Error(`QEMU did not print ${pattern} within ${timeoutMs} ms:\n${this.console.slice(-15).join("\n")}`)); }, timeoutMs);
      this.on("line", onLine);
      this.on("exit", onExit);
    });
  }
}
