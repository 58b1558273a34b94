// The console lines of ingot's init that tell the host how an instance ended: one parser for every
// place that watches a console (a QEMU ingot started, one it adopted).

/** The line init prints when the app ends (init/app.c). */
const EXIT_LINE = /ingot-init: app (?:exited with status (\d+)|killed by signal (\d+))/;
/** The line init prints when it powers off without starting the app (init/README.md). */
const BOOT_FAILED_LINE = /ingot-init: \[[\d.]+\] boot failed \(status (\d+)\): (.*)$/;

/** The line init prints once it has started the app: health checks begin after it (see run.ts). */
export const APP_STARTED_LINE = /ingot-init: \[[\d.]+\] starting app/;

export type InitEvent =
  | { kind: "app-exited"; status: number }
  | { kind: "boot-failed"; status: number; reason: string };

/**
 * @example
 * initEvent("ingot-init: app killed by signal 15"); // { kind: "app-exited", status: 143 }
 */
export function initEvent(line: string): InitEvent | undefined {
  const exit = EXIT_LINE.exec(line);
  if (exit) return { kind: "app-exited", status: exit[1] !== undefined ? Number(exit[1]) : 128 + Number(exit[2]) };
  const failed = BOOT_FAILED_LINE.exec(line);
  if (failed) return { kind: "boot-failed", status: Number(failed[1]), reason: failed[2]! };
  return undefined;
}

/** SeaBIOS leaves terminal escape sequences on the serial line; a console line is kept without them. */
export function cleanConsoleLine(raw: string): string {
  // eslint-disable-next-line no-control-regex
  return raw.replace(/\x1b\[[0-9;?]*[a-zA-Z]|\x1bc/g, "").replace(/\r/g, "");
}
