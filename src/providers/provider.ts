// Where instances run, behind one narrow interface: boot from a spec, adopt from what the state
// recorded. QEMU on this machine today; libvirt and a cloud later stand behind the same interface.
import type { ImageManifest } from "../image/manifest.ts";
import type { InstanceConfig } from "../metadata/instance-config.ts";
import type { GuestAccess } from "../vm/qemu-args.ts";
import type { VmConsole } from "../vm/vm-console.ts";

export interface InstanceSpec {
  id: string;
  environment: string;
  imageDigest: string;
  manifest: ImageManifest;
  /** Served to the instance at boot by its metadata endpoint. */
  config: InstanceConfig;
  cpus: number;
  memoryMiB: number;
  /** Host ports asked for by guest port (ingot run -p); free ports are chosen for the others. */
  hostPorts?: Map<number, number>;
  /** The environment's accessories, reached from the guest (accessories.ts guestAccess). */
  accessories?: GuestAccess;
}

/** Who an instance is: what its log lines are labelled with. */
export type InstanceIdentity = Pick<InstanceSpec, "id" | "environment" | "manifest">;

/** What the state keeps of a running instance, so that a restarted control plane finds it again. */
export interface InstanceLocation {
  pid: number;
  /** The process's start time in clock ticks: a pid with another start time is a stranger. */
  processStart: number;
  qmpSocket: string;
  /** Guest port → host port on 127.0.0.1, e.g. { "8080": 41234 }. */
  ports: Record<string, number>;
  runDir: string;
}

export interface RunningInstance {
  readonly location: InstanceLocation;
  /** Console lines, init's verdict on the app, and waits on lines; `exited` settles when it is gone. */
  readonly vm: VmConsole;
  /** Graceful stop (SIGTERM to the app), killed past `timeoutMs`; its run folder and ports are freed. */
  stop(timeoutMs: number): Promise<void>;
  /** Makes one of its host ports lead to another guest port while it runs (the app listens elsewhere). */
  leadPort(hostPort: number, guestPort: number): Promise<void>;
}

export interface Provider {
  /** What the app sees as INGOT_PLATFORM. */
  readonly platform: string;
  boot(spec: InstanceSpec): Promise<RunningInstance>;
  /**
   * Takes over an instance from its location; refused (code instance-gone) when it no longer runs.
   * `identity` labels its logs, which the provider takes in again.
   */
  adopt(location: InstanceLocation, identity: InstanceIdentity): Promise<RunningInstance>;
}
