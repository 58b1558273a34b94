// Boots an image from the vault as one local instance: ports forwarded to 127.0.0.1, QMP for stop,
// and, given its configuration, the instance's own metadata endpoint.
import { join } from "node:path";
import type { Outbound } from "../config/app-config.ts";
import type { ImageManifest } from "../image/manifest.ts";
import type { InstanceConfig } from "../metadata/instance-config.ts";
import { secretRedactor } from "../metadata/secret-redactor.ts";
import { LOGS_GUEST_ADDRESS, METADATA_GUEST_ADDRESS, type MetadataEndpoint, serveInstanceConfig } from "../metadata/metadata-server.ts";
import type { Closable, InstanceLogSink } from "../logs/instance-logs.ts";
import type { ProcessIdentity } from "../process/process-identity.ts";
import type { Vault } from "../vault/vault.ts";
import { type PortReservation, reservePort } from "./port-reservations.ts";
import { assertMemoryFits } from "./initrd.ts";
import { kernelFile } from "./kernel-file.ts";
import { type GuestLayers, guestLayers } from "./guest-layers.ts";
import { allowOutbound } from "./outbound-firewall.ts";
import { detectAccelerator, type GuestAccess, type GuestEndpoint, type PortForward, type VmSpec } from "./qemu-args.ts";
import { qemuUser } from "./qemu-user.ts";
import { DetachedVm } from "./detached-vm.ts";
import { QemuVm } from "./qemu-vm.ts";
import { assertResources } from "./resources.ts";
import { createRunFolder } from "./run-folder.ts";
import type { VmConsole } from "./vm-console.ts";

export interface BootOptions {
  /** Host ports by guest port; free ports are chosen for the image's others. */
  hostPorts?: Map<number, number>;
  cmdline?: string;
  memoryMiB?: number;
  cpus?: number;
  /** QEMU's machine type; DEFAULT_MACHINE (qemu-args.ts) unless given. */
  machine?: string;
  /** Served to the instance by its own metadata endpoint; without it init fetches nothing. */
  config?: InstanceConfig;
  /** How long init tries to reach the metadata endpoint before it gives up (init's default: 30 s). */
  metadataTimeoutS?: number;
  /** What the guest may reach beyond ingot's endpoints (environmentOutbound() in manifest.ts); none unless given. */
  outbound?: Outbound;
  /** Where the instance's lines go: its app's, shipped by init to a log socket of its own, and its console's. */
  logs?: InstanceLogSink;
  /**
   * More guest addresses leading to host sockets (the environment's accessories, accessories.ts),
   * and the groups QEMU needs to open them (a root ingot only).
   */
  accessories?: GuestAccess;
}

export interface Instance<V = QemuVm> {
  vm: V;
  forwards: PortForward[];
  /** The instance's private folder: QMP and metadata sockets, and the console of a detached one. */
  runFolder: string;
  /** Stops its metadata and log endpoints and removes its sockets after QEMU has exited. */
  dispose: () => Promise<void>;
}

/**
 * @example
 * const instance = await bootImage(vault, digest, manifest);
 * instance.forwards; // [{ guestPort: 8080, hostPort: 41234 }]
 */
export async function bootImage(vault: Vault, digest: string, manifest: ImageManifest, options: BootOptions = {}): Promise<Instance> {
  return bootWith(vault, digest, manifest, options, (spec, redact) => QemuVm.start(spec, { redact }), () => undefined);
}

/**
 * Boots an instance that outlives this process (the control plane's instances): QEMU in its own
 * session with no parent-death signal, its console in the run folder, adopted later by its record.
 *
 * @example
 * const { vm } = await bootDetachedImage(vault, digest, manifest);
 * await saveRecord(vm.record); // … later, in another process: await DetachedVm.adopt(record)
 */
export async function bootDetachedImage(vault: Vault, digest: string, manifest: ImageManifest, options: BootOptions = {}): Promise<Instance<DetachedVm>> {
  return bootWith(vault, digest, manifest, options,
    (spec, redact, runFolder) => DetachedVm.start({ ...spec, qmpSocket: join(runFolder, "qmp.sock"), outlivesIngot: true }, join(runFolder, "console.log"), { redact }),
    // QEMU itself holds its run folder and ports: they stay while it runs, whatever becomes of this process.
    (vm) => vm.record);
}

type StartVm<V extends VmConsole> = (spec: VmSpec, redact: (line: string) => string, runFolder: string) => V | Promise<V>;

async function bootWith<V extends VmConsole>(vault: Vault, digest: string, manifest: ImageManifest, options: BootOptions, startVm: StartVm<V>, ownerOf: (vm: V) => ProcessIdentity | undefined): Promise<Instance<V>> {
  const memoryMiB = options.memoryMiB ?? manifest.resources.memoryMiB;
  const cpus = options.cpus ?? manifest.resources.cpus;
  assertResources({ cpus, memoryMiB });
  assertMemoryFits(manifest, memoryMiB);
  const accelerator = detectAccelerator();
  const drawn = qemuUser(accelerator);
  const user = drawn && options.accessories?.groups.length ? { ...drawn, groups: [...drawn.groups, ...options.accessories.groups] } : drawn;
  // Before anything is reserved: refused here, nothing is left to undo.
  if (options.outbound === "internet") await allowOutbound(user, options.config?.instance ?? manifest.name);
  // Held until the instance is disposed of, so an instance booting beside this one never takes them.
  const reservations: PortReservation[] = [];
  const releasePorts = (): Promise<unknown> => Promise.all(reservations.map((reservation) => reservation.release()));
  let forwards: PortForward[];
  let layers: GuestLayers;
  try {
    // The image's ports, and those `ingot run -p` publishes beyond them (only an image that declares no port has any).
    const guestPorts = [...new Set([...Object.values(manifest.ports), ...(options.hostPorts?.keys() ?? [])])];
    for (const guestPort of guestPorts) reservations.push(await reservePort(options.hostPorts?.get(guestPort)));
    forwards = guestPorts.map((guestPort, index) => ({ guestPort, hostPort: reservations[index]!.port }));
    layers = await guestLayers(vault, digest, manifest, memoryMiB);
  } catch (error) {
    await releasePorts();
    throw error;
  }
  const runFolder = await createRunFolder(options.config?.instance ?? "vm", user).catch(async (error: unknown) => {
    await releasePorts();
    throw error;
  });
  const qmpSocket = join(runFolder.path, "qmp.sock");
  let endpoint: MetadataEndpoint | undefined;
  let logSocket: Closable | undefined;
  const dispose = async (): Promise<void> => {
    await endpoint?.close();
    await logSocket?.close();
    await runFolder.remove();
    await releasePorts();
  };
  const metadataArgs = options.config
    ? [`ingot.metadata=${METADATA_GUEST_ADDRESS.host}:${METADATA_GUEST_ADDRESS.port}`, options.metadataTimeoutS ? `ingot.metadata_timeout=${options.metadataTimeoutS}` : ""]
    : [];
  const guestEndpoints: GuestEndpoint[] = [...(options.accessories?.endpoints ?? [])];
  try {
    let config = options.config;
    if (config && options.logs) {
      const socket = join(runFolder.path, "logs.sock");
      logSocket = await options.logs.serveApp(socket);
      await runFolder.handOver(socket);
      guestEndpoints.push({ guestHost: LOGS_GUEST_ADDRESS.host, guestPort: LOGS_GUEST_ADDRESS.port, socket });
      config = { ...config, logs: { address: `${LOGS_GUEST_ADDRESS.host}:${LOGS_GUEST_ADDRESS.port}`, app: manifest.name } };
    }
    endpoint = config ? await serveInstanceConfig(join(runFolder.path, "metadata.sock"), config) : undefined;
    // QEMU's guestfwd connector runs as QEMU's user and must open the socket.
    if (endpoint) {
      await runFolder.handOver(endpoint.socketPath);
      guestEndpoints.push({ guestHost: METADATA_GUEST_ADDRESS.host, guestPort: METADATA_GUEST_ADDRESS.port, socket: endpoint.socketPath });
    }
    const vm = await startVm({
      kernel: await kernelFile(vault, manifest.kernel), ...layers,
      cmdline: [manifest.kernel.cmdline, layers.cmdline, options.cmdline, ...metadataArgs].filter(Boolean).join(" "),
      cpus,
      memoryMiB,
      forwards, accelerator, qmpSocket,
      ...(user ? { user } : {}),
      ...(options.outbound ? { outbound: options.outbound } : {}),
      ...(options.machine ? { machine: options.machine } : {}),
      guestEndpoints,
    }, options.config ? secretRedactor(options.config) : (line) => line, runFolder.path);
    options.logs?.captureConsole(vm, { resumed: false });
    const owner = ownerOf(vm);
    if (owner) await Promise.all([runFolder.setOwner(owner), ...reservations.map((reservation) => reservation.setOwner(owner))]);
    return { vm, forwards, dispose, runFolder: runFolder.path };
  } catch (error) {
    await dispose();
    throw error;
  }
}
