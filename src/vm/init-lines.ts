// The console lines of ingot's init that tell the host how an instance ended and where its app
// listens: one parser for every place that watches a console (a QEMU ingot started, one it adopted).

/** The line init prints when the app ends (init/app.c). */
const EXIT_LINE = /ingot-init: app (?:exited with status (\d+)|killed by signal (\d+))/;
/** The line init prints when it powers off without starting the app (init/README.md). */
const BOOT_FAILED_LINE = /ingot-init: \[[\d.]+\] boot failed \(status (\d+)\): (.*)$/;

/** The line init prints once it has started the app: health checks begin after it (see run.ts). */
export const APP_STARTED_LINE = /ingot-init: \[[\d.]+\] starting app/;

/** The line init prints when the ports the app listens on change (init/listen.c). */
const LISTENS_LINE = /ingot-init: \[[\d.]+\] app listens on (?:tcp (.+)|no tcp port)$/;

/** A TCP port the app listens on; `address` only when it listens on one address, not on all. */
export interface ListeningSocket {
  port: number;
  address?: string;
  /** False for loopback: QEMU's forwards lead to the guest's own address, so nothing reaches it from outside. */
  reachable: boolean;
}

export type InitEvent =
  | { kind: "app-exited"; status: number }
  | { kind: "boot-failed"; status: number; reason: string }
  | { kind: "app-listens"; sockets: ListeningSocket[] };

/**
 * @example
 * initEvent("ingot-init: app killed by signal 15"); // { kind: "app-exited", status: 143 }
 * initEvent("ingot-init: [7.412] app listens on tcp 3000, 127.0.0.1:9229");
 * // { kind: "app-listens", sockets: [{ port: 3000, reachable: true }, { port: 9229, address: "127.0.0.1", reachable: false }] }
 */
export function initEvent(line: string): InitEvent | undefined {
  const exit = EXIT_LINE.exec(line);
  if (exit) return { kind: "app-exited", status: exit[1] !== undefined ? Number(exit[1]) : 128 + Number(exit[2]) };
  const failed = BOOT_FAILED_LINE.exec(line);
  if (failed) return { kind: "boot-failed", status: Number(failed[1]), reason: failed[2]! };
  const listens = LISTENS_LINE.exec(line);
  if (listens) return { kind: "app-listens", sockets: listens[1] === undefined ? [] : listens[1].split(", ").flatMap(listeningSocket) };
  return undefined;
}

/** "3000" (every address), "127.0.0.1:9229", "[::1]:5000", "10.0.2.15:3000" */
function listeningSocket(text: string): ListeningSocket[] {
  const match = /^(?:(.+):)?(\d{1,5})$/.exec(text);
  if (!match) return [];
  const address = match[1];
  const reachable = address === undefined || !(address.startsWith("127.") || address === "[::1]");
  return [{ port: Number(match[2]), ...(address === undefined ? {} : { address }), reachable }];
}

/** "3000", "127.0.0.1:9229": as init wrote it. */
export function describeSocket(socket: ListeningSocket): string {
  return socket.address === undefined ? String(socket.port) : `${socket.address}:${socket.port}`;
}

/** SeaBIOS leaves terminal escape sequences on the serial line; a console line is kept without them. */
export function cleanConsoleLine(raw: string): string {
  // eslint-disable-next-line no-control-regex
  return raw.replace(/\x1b\[[0-9;?]*[a-zA-Z]|\x1bc/g, "").replace(/\r/g, "");
}
