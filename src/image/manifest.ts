// The image manifest: one canonical JSON document whose sha256 is the image id.
import type { AppConfig, Healthcheck, Outbound, RuntimeSpec } from "../config/app-config.ts";
import { type ForwardTarget, parseForwardTarget } from "../logs/forward/forward-target.ts";
import type { Compression } from "./compression.ts";
import type { KernelFormat } from "./kernel-blob.ts";
import type { LayerFilesystem, LayerForm, LayerName } from "./layer-plan.ts";
import type { VerityInfo } from "./verity.ts";

export const MANIFEST_MEDIA_TYPE = "application/vnd.ingot.image.v1+json";

export interface LayerDescriptor {
  name: LayerName;
  digest: string;
  size: number;
  uncompressedSize: number;
  compression: Compression;
  /** Digest of the layer's file list ({path, type, mode, size}[]), for inspect and audit without unpacking. */
  files: string;
  /** Disk-form layers: the filesystem the blob unpacks to (the host appends its dm-verity tree); absent for an initrd layer (cpio). */
  filesystem?: LayerFilesystem;
  /** Disk-form layers: what the guest checks every block it reads against. */
  verity?: VerityInfo;
}

export interface ImageManifest {
  mediaType: typeof MANIFEST_MEDIA_TYPE;
  name: string;
  version: string;
  /** vmlinux.xz: unpack on the host and boot through PVH; bzImage: boot as is. */
  /** uncompressedSize is absent in images built before it was recorded. */
  kernel: { digest: string; size: number; uncompressedSize?: number; format: KernelFormat; version: string; cmdline: string };
  layers: LayerDescriptor[];
  runtime: (RuntimeSpec & { kind: "node"; version: string; integrity: string }) | { kind: "elf" };
  command: string[];
  /** How the command was derived when ingot.yaml did not give it ("scripts.start: fastify start app.js"); absent otherwise. */
  commandSource?: string;
  user: { name: string; uid: number; gid: number };
  workdir: string;
  ports: Record<string, number>;
  /** Only when ingot.yaml declares no port (AppConfig.portSource): instances follow the port the app listens on. */
  portSource?: string;
  healthcheck: Healthcheck | false;
  resources: AppConfig["resources"];
  stopTimeoutMs: number;
  env: Record<string, string>;
  /** Only when ingot.yaml sets it, as environments.<name>.outbound: an older image's digest stays. */
  outbound?: Outbound;
  /** Only when ingot.yaml sets it, like outbound: environments.<name>.logs replaces it. */
  logs?: AppConfig["logs"];
  environments: AppConfig["environments"];
  sbom: string;
}

/**
 * What an environment's instances may reach: its own outbound, else the image's, else none.
 *
 * @example
 * environmentOutbound({ outbound: "internet", environments: { test: { env: {}, outbound: "none" } } }, "test"); // "none"
 */
export function environmentOutbound(manifest: Pick<ImageManifest, "outbound" | "environments">, environment: string): Outbound {
  return manifest.environments[environment]?.outbound ?? manifest.outbound ?? "none";
}

/**
 * Where an environment's log lines are also sent: its own logs.forward, else the image's, else
 * nowhere. A URL that no longer parses (an image built by a later ingot) is left out rather than
 * stopping the others.
 *
 * @example
 * logForwardTargets({ logs: { forward: ["syslog+tcp://logs:514"] }, environments: { test: { env: {}, logs: { forward: [] } } } }, "prod");
 * // [{ kind: "syslog", url: "syslog+tcp://logs:514", host: "logs", port: 514, tls: false }]
 */
export function logForwardTargets(manifest: Pick<ImageManifest, "logs" | "environments">, environment: string): ForwardTarget[] {
  const urls = manifest.environments[environment]?.logs?.forward ?? manifest.logs?.forward ?? [];
  return urls.flatMap((url) => parseForwardTarget(url).target ?? []);
}

/**
 * Kernel arguments every instance gets; instance-specific ones (network, metadata, a disk-form
 * image's layer devices) are added at boot.
 * rootfstype=ramfs: the initramfs root is otherwise a tmpfs capped at half the memory, too small
 * for a ~125 MiB Node runtime in a 256 MiB instance ("Initramfs unpacking failed: write error").
 * A disk-form image's root is its base layer, read-only, and the kernel runs /init from it.
 * cryptomgr.notests, no_timer_check, tsc=reliable, audit=0: skip self-tests, timer and clocksource
 * checks and auditing that cost a few hundred milliseconds of boot under software emulation.
 */
export function defaultCmdline(config: AppConfig, form: LayerForm): string {
  const root = form === "disk" ? ["rootfstype=erofs", "ro", "init=/init"] : ["rootfstype=ramfs"];
  return ["console=ttyS0", "quiet", "panic=-1", ...root, "cryptomgr.notests", "no_timer_check", "tsc=reliable", "audit=0", `ingot.stop_timeout=${Math.ceil(config.stopTimeoutMs / 1000)}`].join(" ");
}
