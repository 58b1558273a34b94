// The boot-to-healthy time of an instance, broken down from its console: QEMU start → kernel →
// init → app started → healthy. Init stamps its lines with the guest's uptime (CLOCK_BOOTTIME).

/** A console line with the host time it arrived at, in ms since QEMU was started. */
export interface TimedLine {
  atMs: number;
  line: string;
}

export interface BootTimeline {
  qemuToKernelMs: number;
  kernelToInitMs: number;
  initToAppMs: number;
  appToHealthyMs: number;
  totalMs: number;
}

const STAMP = /ingot-init: \[(\d+\.\d+)\] (init started|starting app)/;

/**
 * @example
 * bootTimeline([{ atMs: 2600, line: "ingot-init: [2.100] init started …" },
 *               { atMs: 2800, line: "ingot-init: [2.300] starting app: …" }], 5000);
 * // { qemuToKernelMs: 500, kernelToInitMs: 2100, initToAppMs: 200, appToHealthyMs: 2200, totalMs: 5000 }
 */
export function bootTimeline(lines: TimedLine[], healthyAtMs: number): BootTimeline | undefined {
  const marks = new Map<string, { atMs: number; uptimeMs: number }>();
  for (const { atMs, line } of lines) {
    const match = STAMP.exec(line);
    if (match && !marks.has(match[2]!)) marks.set(match[2]!, { atMs, uptimeMs: Math.round(Number(match[1]) * 1000) });
  }
  const init = marks.get("init started");
  const app = marks.get("starting app");
  if (!init || !app) return undefined;
  // The kernel started `uptime` before the line arrived; the serial line's delay is negligible.
  const kernelStartMs = Math.max(0, init.atMs - init.uptimeMs);
  return {
    qemuToKernelMs: Math.round(kernelStartMs),
    kernelToInitMs: init.uptimeMs,
    initToAppMs: app.uptimeMs - init.uptimeMs,
    appToHealthyMs: Math.round(healthyAtMs - (kernelStartMs + app.uptimeMs)),
    totalMs: Math.round(healthyAtMs),
  };
}

/** "QEMU 0.4 s → kernel 2.1 s → init 0.2 s → app 2.3 s = 5.0 s to healthy" */
export function describeTimeline(timeline: BootTimeline): string {
  const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  return `QEMU start ${s(timeline.qemuToKernelMs)} → kernel ${s(timeline.kernelToInitMs)} → init ${s(timeline.initToAppMs)} → app ${s(timeline.appToHealthyMs)} = ${s(timeline.totalMs)} to healthy`;
}
