// Boots an image from the vault as one local instance: ports forwarded to 127.0.0.1, QMP for stop.
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ImageManifest } from "../image/manifest.ts";
import type { Vault } from "../vault/vault.ts";
import { assertPortFree, freePort } from "./free-port.ts";
import { assembleInitrd, assertMemoryFits, initrdForm } from "./initrd.ts";
import { kernelFile } from "./kernel-file.ts";
import { detectAccelerator, type PortForward } from "./qemu-args.ts";
import { QemuVm } from "./qemu-vm.ts";

export interface BootOptions {
  /** Host ports by guest port; free ports are chosen for the others. */
  hostPorts?: Map<number, number>;
  cmdline?: string;
  memoryMiB?: number;
  cpus?: number;
}

export interface Instance {
  vm: QemuVm;
  forwards: PortForward[];
  /** Removes the instance's QMP socket after QEMU has exited. */
  dispose: () => Promise<void>;
}

/**
 * @example
 * const instance = await bootImage(vault, digest, manifest);
 * instance.forwards; // [{ guestPort: 8080, hostPort: 41234 }]
 */
export async function bootImage(vault: Vault, digest: string, manifest: ImageManifest, options: BootOptions = {}): Promise<Instance> {
  const memoryMiB = options.memoryMiB ?? manifest.resources.memoryMiB;
  assertMemoryFits(manifest, memoryMiB);
  for (const hostPort of options.hostPorts?.values() ?? []) await assertPortFree(hostPort);
  const initrd = await assembleInitrd(vault, digest, manifest, initrdForm(manifest, memoryMiB));
  const forwards = await Promise.all(Object.values(manifest.ports).map(async (guestPort) => ({
    guestPort, hostPort: options.hostPorts?.get(guestPort) ?? (await freePort()),
  })));
  const qmpSocket = join(tmpdir(), `ingot-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 6)}.qmp`);
  const vm = QemuVm.start({
    kernel: await kernelFile(vault, manifest.kernel), initrd,
    cmdline: [manifest.kernel.cmdline, options.cmdline].filter(Boolean).join(" "),
    cpus: options.cpus ?? manifest.resources.cpus,
    memoryMiB,
    forwards, accelerator: detectAccelerator(), qmpSocket,
  });
  return { vm, forwards, dispose: () => rm(qmpSocket, { force: true }) };
}
