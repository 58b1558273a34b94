// What a deploy of one image to one environment uses: capacity, resources, entry port and timeouts,
// from the image's environments.<name> settings with the defaults filled in. Plain data, computed
// before anything starts, so a typo or an impossible value costs nothing.
import { DEFAULT_START_TIMEOUT_MS } from "../config/app-config.ts";
import type { ImageManifest } from "../image/manifest.ts";
import { assertMemoryFits } from "../vm/initrd.ts";
import { assertResources } from "../vm/resources.ts";
import { type CrashLoopRule, DEFAULT_CRASH_LOOP } from "./crash-loop.ts";
import type { DeployTimeouts } from "./deploy-plan.ts";

/** In-flight requests of a replaced instance get this long unless ingot.yaml says otherwise. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
/** After QEMU's stop timeout for the app, this long for the guest to power off. */
const POWER_OFF_MARGIN_MS = 5_000;

export interface DeploySettings {
  instances: number;
  cpus: number;
  memoryMiB: number;
  /** The entry point's port when ingot.yaml fixes one; otherwise the recorded one, or a free one. */
  port: number | undefined;
  timeouts: DeployTimeouts;
  /** When the capacity keeper stops replacing instances of the image and marks the environment degraded. */
  crashLoop: CrashLoopRule;
}

/**
 * @example
 * deploySettings(manifest, "prod");
 * // { instances: 2, cpus: 1, memoryMiB: 256, port: 8080, timeouts: { healthyMs: 120000, upMs: 13000, drainMs: 30000, stopMs: 15000 }, crashLoop: { failures: 3, windowMs: 300000 } }
 */
export function deploySettings(manifest: ImageManifest, environment: string): DeploySettings {
  const settings = manifest.environments[environment];
  const check = manifest.healthcheck;
  const cpus = settings?.cpus ?? manifest.resources.cpus;
  const memoryMiB = settings?.memoryMiB ?? manifest.resources.memoryMiB;
  assertResources({ cpus, memoryMiB });
  assertMemoryFits(manifest, memoryMiB);
  return {
    instances: settings?.instances ?? 1,
    cpus,
    memoryMiB,
    port: settings?.port,
    timeouts: {
      healthyMs: settings?.startTimeoutMs ?? (check ? check.startTimeoutMs : DEFAULT_START_TIMEOUT_MS),
      // HAProxy counts an instance UP after `healthy` checks in a row, one per interval; the rest is slack for a busy host.
      upMs: check ? check.intervalMs * (check.healthyThreshold + 1) + check.timeoutMs + 10_000 : 10_000,
      drainMs: settings?.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS,
      stopMs: manifest.stopTimeoutMs + POWER_OFF_MARGIN_MS,
    },
    crashLoop: { failures: settings?.crashLoop?.failures ?? DEFAULT_CRASH_LOOP.failures, windowMs: settings?.crashLoop?.windowMs ?? DEFAULT_CRASH_LOOP.windowMs },
  };
}
