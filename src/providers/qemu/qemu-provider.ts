// The QEMU provider: instances are QEMU processes on this machine, each with its own run folder
// (QMP, metadata socket, console) and host ports on 127.0.0.1. The control plane's instances are
// detached (they outlive ingot and hold their own folder and ports); `ingot run`'s die with it.
import { chown, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { environmentOutbound } from "../../image/manifest.ts";
import { processStartTime } from "../../process/process-identity.ts";
import { bootDetachedImage, bootImage, type BootOptions, type Instance as BootedInstance } from "../../vm/boot-image.ts";
import { DetachedVm } from "../../vm/detached-vm.ts";
import type { VmConsole } from "../../vm/vm-console.ts";
import { releasePort } from "../../vm/port-reservations.ts";
import { leadForward } from "../../vm/qmp.ts";
import type { Vault } from "../../vault/vault.ts";
import type { InstanceLogs, InstanceLogSink } from "../../logs/instance-logs.ts";
import type { InstanceIdentity, InstanceLocation, InstanceSpec, Provider, RunningInstance } from "../provider.ts";

/**
 * @example
 * const provider = new QemuProvider(vault);
 * const running = await provider.boot({ id: "i-7f3a", environment: "prod", imageDigest, manifest, config, cpus: 1, memoryMiB: 256 });
 * state.update("i-7f3a", running.location); // … after a restart: await provider.adopt(location)
 */
export class QemuProvider implements Provider {
  readonly platform = "qemu";

  /**
   * `outlivesIngot: false` ties each instance to this process (ingot run): killed with it, never
   * adopted. `logs`: where instances' lines are stored; without it init ships nothing.
   */
  constructor(private readonly vault: Vault, private readonly options: { outlivesIngot: boolean; logs?: InstanceLogs } = { outlivesIngot: true }) {}

  async boot(spec: InstanceSpec): Promise<RunningInstance> {
    const options: BootOptions = {
      cmdline: `ingot.env=${spec.environment} ingot.hostname=${spec.id}`,
      config: spec.config,
      cpus: spec.cpus,
      memoryMiB: spec.memoryMiB,
      outbound: environmentOutbound(spec.manifest, spec.environment),
      ...(this.options.logs ? { logs: this.#logSink(spec) } : {}),
      ...(spec.hostPorts ? { hostPorts: spec.hostPorts } : {}),
      ...(spec.accessories ? { accessories: spec.accessories } : {}),
    };
    if (this.options.outlivesIngot) {
      const instance = await bootDetachedImage(this.vault, spec.imageDigest, spec.manifest, options);
      return qemuInstance(instance.vm, locationOf(instance, instance.vm.record.pid, Number(instance.vm.record.startTime), instance.vm.record.qmpSocket), instance.dispose);
    }
    const instance = await bootImage(this.vault, spec.imageDigest, spec.manifest, options);
    const pid = instance.vm.pid ?? 0;
    return qemuInstance(instance.vm, locationOf(instance, pid, Number(await processStartTime(pid) ?? 0), instance.vm.spec.qmpSocket ?? ""), instance.dispose);
  }

  async adopt(location: InstanceLocation, identity: InstanceIdentity): Promise<RunningInstance> {
    const vm = await DetachedVm.adopt({ pid: location.pid, startTime: String(location.processStart), qmpSocket: location.qmpSocket, consoleFile: join(location.runDir, "console.log") });
    // The metadata endpoint of an adopted instance is gone with the process that served it; init
    // read its configuration once, at boot. Its log endpoint is served again where QEMU's guestfwd
    // leads (init reconnects, and keeps what it could not send meanwhile in its buffer).
    const sink = this.options.logs ? this.#logSink(identity) : undefined;
    // An instance whose log socket cannot be served again still serves its requests: adopted, not
    // replaced; init keeps its lines in its buffer (and counts what it drops) until one answers.
    const logSocket = sink ? await serveAgain(sink, location.runDir).catch(() => undefined) : undefined;
    sink?.captureConsole(vm, { resumed: true });
    return qemuInstance(vm, location, async () => {
      await logSocket?.close();
      await rm(location.runDir, { recursive: true, force: true });
      await Promise.all(Object.values(location.ports).map((port) => releasePort(port)));
    });
  }

  #logSink(identity: InstanceIdentity): InstanceLogSink {
    return this.options.logs!.for({ instance: identity.id, environment: identity.environment, app: identity.manifest.name, version: identity.manifest.version });
  }
}

/** The log socket of an adopted instance, owned like its run folder by the QEMU user whose connector opens it. */
async function serveAgain(sink: InstanceLogSink, runDir: string): Promise<{ close(): Promise<void> }> {
  const socket = join(runDir, "logs.sock");
  const served = await sink.serveApp(socket);
  const owner = await stat(runDir);
  await chown(socket, owner.uid, owner.gid);
  return served;
}

function locationOf(instance: BootedInstance<unknown>, pid: number, processStart: number, qmpSocket: string): InstanceLocation {
  return { pid, processStart, qmpSocket, ports: Object.fromEntries(instance.forwards.map((forward) => [String(forward.guestPort), forward.hostPort])), runDir: instance.runFolder };
}

function qemuInstance(vm: VmConsole & { stop: (timeoutMs: number) => Promise<void> }, location: InstanceLocation, dispose: () => Promise<void>): RunningInstance {
  let disposed: Promise<void> | undefined;
  // Whoever ends the instance (a stop, a crash of the app, a kill), its folder and ports are freed once.
  const freeOnce = (): Promise<void> => (disposed ??= dispose());
  void vm.exited.then(freeOnce, freeOnce);
  return {
    location,
    vm,
    async stop(timeoutMs) {
      await vm.stop(timeoutMs);
      await freeOnce();
    },
    leadPort: (hostPort, guestPort) => leadForward(location.qmpSocket, { hostPort, guestPort }),
  };
}
