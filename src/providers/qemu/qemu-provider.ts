// The QEMU provider: instances are detached QEMU processes on this machine, each with its own run
// folder (QMP, metadata socket, console) and host ports on 127.0.0.1, which QEMU itself holds.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { environmentOutbound } from "../../image/manifest.ts";
import { bootDetachedImage } from "../../vm/boot-image.ts";
import { DetachedVm } from "../../vm/detached-vm.ts";
import { releasePort } from "../../vm/port-reservations.ts";
import type { Vault } from "../../vault/vault.ts";
import type { InstanceLocation, InstanceSpec, Provider, RunningInstance } from "../provider.ts";

/**
 * @example
 * const provider = new QemuProvider(vault);
 * const running = await provider.boot({ id: "i-7f3a", environment: "prod", imageDigest, manifest, config, cpus: 1, memoryMiB: 256 });
 * state.update("i-7f3a", running.location); // … after a restart: await provider.adopt(location)
 */
export class QemuProvider implements Provider {
  readonly platform = "qemu";

  constructor(private readonly vault: Vault) {}

  async boot(spec: InstanceSpec): Promise<RunningInstance> {
    const instance = await bootDetachedImage(this.vault, spec.imageDigest, spec.manifest, {
      cmdline: `ingot.env=${spec.environment} ingot.hostname=${spec.id}`,
      config: spec.config,
      cpus: spec.cpus,
      memoryMiB: spec.memoryMiB,
      outbound: environmentOutbound(spec.manifest, spec.environment),
    });
    const { vm } = instance;
    const location: InstanceLocation = {
      pid: vm.record.pid, processStart: Number(vm.record.startTime), qmpSocket: vm.record.qmpSocket,
      ports: Object.fromEntries(instance.forwards.map((forward) => [String(forward.guestPort), forward.hostPort])),
      runDir: instance.runFolder,
    };
    return qemuInstance(vm, location, instance.dispose);
  }

  async adopt(location: InstanceLocation): Promise<RunningInstance> {
    const vm = await DetachedVm.adopt({ pid: location.pid, startTime: String(location.processStart), qmpSocket: location.qmpSocket, consoleFile: join(location.runDir, "console.log") });
    // The metadata endpoint of an adopted instance is gone with the process that served it; init
    // read its configuration once, at boot, so only the folder and the ports are left to free.
    return qemuInstance(vm, location, async () => {
      await rm(location.runDir, { recursive: true, force: true });
      await Promise.all(Object.values(location.ports).map((port) => releasePort(port)));
    });
  }
}

function qemuInstance(vm: DetachedVm, location: InstanceLocation, dispose: () => Promise<void>): RunningInstance {
  let disposed: Promise<void> | undefined;
  // Whoever ends the instance (a stop, a crash of the app, a kill), its folder and ports are freed once.
  const freeOnce = (): Promise<void> => (disposed ??= dispose());
  void vm.exited.then(freeOnce);
  return {
    location,
    vm,
    async stop(timeoutMs) {
      await vm.stop(timeoutMs);
      await freeOnce();
    },
  };
}
