// An instance's lines into the log store, from the two places the host gets them: what init ships
// over the instance's own log socket (source app) and the console the provider captures (source
// console). Both are labelled with what the control plane knows of the instance, never with what
// the guest says of itself: a compromised guest cannot write lines as another instance or another
// environment.
import { unlink } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { APP_STARTED_LINE } from "../vm/init-lines.ts";
import type { VmConsole } from "../vm/vm-console.ts";
import type { LogLine } from "./log-line.ts";
import type { LogStore } from "./log-store.ts";
import type { SyslogListener } from "./syslog-listener.ts";

export interface InstanceLabels {
  instance: string;
  environment: string;
  app: string;
  version: string;
}

export interface Closable {
  close(): Promise<void>;
}

/** What a provider does with one instance's logs; made by InstanceLogs.for(labels). */
export interface InstanceLogSink {
  /** Listens on `socketPath` for the lines init ships (RFC 5424 frames, as on the syslog port). */
  serveApp(socketPath: string): Promise<Closable>;
  /**
   * Stores the console's lines as source console from now on. `resumed`: the console is read again
   * from its start (an instance adopted after a restart), so the lines stored before are skipped.
   */
  captureConsole(vm: VmConsole, options: { resumed: boolean }): void;
}

/** init says this before the app starts when its lines go to a log endpoint (init/logs.c). */
const SHIPPING_LINE = /ingot-init: \[[\d.]+\] shipping logs to /;
/** A kernel line, `[    1.234567] …`, or one of init's own. */
const SYSTEM_LINE = /^(\[\s*\d+\.\d+\]|ingot-init:)/;
/** Console severities: init's warnings and failures stand out from the rest. */
const CONSOLE_SEVERITY: [RegExp, number][] = [[/ingot-init: .*\b(boot failed|killed by signal)\b/, 3], [/ingot-init: .*\b(cannot|warning)\b/i, 4]];

/**
 * @example
 * const logs = new InstanceLogs(store, listener);
 * const sink = logs.for({ instance: "i-1a2b", environment: "prod", app: "shop", version: "1.2.0" });
 * const socket = await sink.serveApp("/tmp/ingot-i-1a2b-Xy/logs.sock"); // QEMU's guestfwd leads here
 * sink.captureConsole(vm, { resumed: false });
 */
export class InstanceLogs {
  constructor(private readonly store: LogStore, private readonly listener: SyslogListener) {}

  for(labels: InstanceLabels): InstanceLogSink {
    return {
      serveApp: (socketPath) => this.#serveApp(socketPath, labels),
      captureConsole: (vm, options) => this.#captureConsole(vm, labels, options.resumed),
    };
  }

  async #serveApp(socketPath: string, labels: InstanceLabels): Promise<Closable> {
    const stamp = (line: LogLine): LogLine => {
      Object.assign(line, labels);
      // The guest's only door is its app's output: whatever source it names, these are app lines.
      line.source = "app";
      return line;
    };
    const server: Server = createServer((socket) => this.listener.serve(socket, stamp));
    // An adopted instance's socket file is left from the server that made it: listen there again.
    await unlink(socketPath).catch(() => {});
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(socketPath, resolve));
    return { close: () => new Promise((resolve) => server.close(() => resolve())) };
  }

  #captureConsole(vm: VmConsole, labels: InstanceLabels, resumed: boolean): void {
    let skip = resumed ? this.store.countLines(labels.environment, labels.instance, "console") : 0;
    let shipping = false;
    let appStarted = false;
    vm.on("line", (text: string) => {
      if (SHIPPING_LINE.test(text)) shipping = true;
      if (APP_STARTED_LINE.test(text)) appStarted = true;
      // Once the app runs, its own lines are mirrored on the console and shipped: store them once.
      if (!consoleOnly(text, shipping && appStarted) || skip-- > 0) return;
      this.store.append({
        timeMs: Date.now(), ...labels, source: "console", stream: "",
        severity: CONSOLE_SEVERITY.find(([pattern]) => pattern.test(text))?.[1] ?? 6, message: text,
      });
    });
  }
}

/** Whether a console line is stored as the console's: all of them, unless the app's lines are shipped. */
function consoleOnly(text: string, appShipped: boolean): boolean {
  return text !== "" && (!appShipped || SYSTEM_LINE.test(text));
}
