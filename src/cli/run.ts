// `ingot run IMAGE|DIR [-p HOST:GUEST] [-e KEY=VALUE] [--secret NAME] [--secret-file PATH] [--env NAME]
// [--memory SIZE] [--cpus N]`: boots one instance in the foreground, serves it its configuration,
// streams its console, waits until healthy and prints the URL; Ctrl-C stops it gracefully.
import { stat } from "node:fs/promises";
import { parseSizeMiB } from "../config/schema.ts";
import { IngotError } from "../errors.ts";
import { buildImage } from "../image/build.ts";
import type { ImageManifest } from "../image/manifest.ts";
import { runtimeVariables, secretValues } from "../metadata/config-sources.ts";
import { describeConfig, instanceConfig } from "../metadata/instance-config.ts";
import { resolveImage } from "../vault/image-ref.ts";
import { Vault } from "../vault/vault.ts";
import { Instance } from "../instance/instance.ts";
import { LiveInstances } from "../instance/live-instances.ts";
import { QemuProvider } from "../providers/qemu/qemu-provider.ts";
import { detectAccelerator } from "../vm/qemu-args.ts";
import { assertResources } from "../vm/resources.ts";
import type { ListeningSocket } from "../vm/init-lines.ts";
import { listenAdvice } from "../instance/listening-port.ts";
import { bootTimeline, describeTimeline, type TimedLine } from "../vm/boot-timeline.ts";
import { flag, type Parsed } from "./args.ts";
import { assertDeclared, publishedPorts } from "./publish.ts";

export const runVerb = {
  async run(args: Parsed): Promise<number> {
    const ref = args.positionals[0]!; // declared <IMAGE|DIR>: the parser made sure there is exactly one
    // Read before any build or boot, so a missing secret or a typo costs nothing.
    const runtimeEnv = runtimeVariables(args.flags.get("e") ?? []);
    const secrets = await secretValues(args.flags.get("secret") ?? [], args.flags.get("secret-file") ?? []);
    const memory = flag(args, "memory");
    const memoryMiB = memory === undefined ? undefined : parseSizeMiB(memory);
    if (memory !== undefined && memoryMiB === undefined) throw new IngotError(`Cannot use --memory ${memory} as it is not a size`, { code: "cli-bad-value", hint: "For example --memory 512M" });
    const hostPorts = publishedPorts(args.flags.get("publish") ?? []);
    const cpusFlag = flag(args, "cpus");
    const cpus = cpusFlag === undefined ? undefined : Number(cpusFlag);
    if (cpusFlag !== undefined && !/^\d+$/.test(cpusFlag)) throw new IngotError(`Cannot use --cpus ${cpusFlag} as it is not a whole number`, { code: "cli-bad-value", hint: "For example --cpus 2" });
    // The image's own values are checked against the same bounds at boot.
    assertResources({ cpus, memoryMiB });
    const vault = await Vault.open();
    const isFolder = await stat(ref).then((info) => info.isDirectory(), () => false);
    const imageRef = isFolder ? (await buildImage(ref, { vault, log: (line) => console.error(line) })).digest : ref;
    const { digest, manifest } = await resolveImage(vault, imageRef);
    const environment = flag(args, "env") ?? "dev";
    assertEnvironment(manifest, environment);
    assertDeclared(hostPorts, manifest);
    const config = instanceConfig({
      instanceId: LiveInstances.newId(), image: { name: manifest.name, version: manifest.version, digest },
      platform: "qemu", runtimeEnv, secrets,
    });
    console.error(`instance ${config.instance} of ${manifest.name}:${manifest.version} (${digest.slice(0, 19)}), env ${environment}`);
    console.error(`config  ${describeConfig(config)}`);
    const instance = await Instance.boot(new QemuProvider(vault, { outlivesIngot: false }), {
      id: config.instance, environment, imageDigest: digest, manifest, config,
      cpus: cpus ?? manifest.resources.cpus, memoryMiB: memoryMiB ?? manifest.resources.memoryMiB, hostPorts,
    }, { onChange: () => {} });
    const { vm } = instance.running;
    const urls = Object.values(instance.running.location.ports).map((port) => `http://127.0.0.1:${port}`);
    const elapsed = (): string => `${((performance.now() - vm.startedAt) / 1000).toFixed(1).padStart(5)}s`;
    const lines: TimedLine[] = [];
    vm.on("line", (line: string) => {
      lines.push({ atMs: performance.now() - vm.startedAt, line });
      if (line.trim()) console.log(`${elapsed()} | ${line}`);
    });
    // Where the app listens, when that is not where it is expected: said once per change (listening-port.ts).
    let advised: string | undefined;
    const expected = instance.expectedGuestPort;
    const expectedHostPort = expected === undefined ? undefined : instance.running.location.ports[String(expected)];
    vm.on("listening", (listening: ListeningSocket[]) => {
      const advice = listenAdvice({ expected, follows: manifest.portSource !== undefined, published: [...hostPorts.keys()], hostPort: expectedHostPort, listening });
      if (advice && advice !== advised) console.log(`${elapsed()} ${advice}`);
      advised = advice;
    });
    let stopping = false;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      console.error(`${elapsed()} stopping (graceful, up to ${manifest.stopTimeoutMs / 1000} s)`);
      void instance.stop(manifest.stopTimeoutMs + 5000);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    // `ingot run … | head -1`: once the reader is gone, stop the instance as Ctrl-C would, and clean
    // up, instead of dying of EPIPE with the run folder left behind. Later writes fail quietly.
    for (const stream of [process.stdout, process.stderr]) {
      stream.on("error", (error: NodeJS.ErrnoException) => {
        if (error.code !== "EPIPE") throw error;
        stop();
      });
    }

    const healthy = new AbortController();
    let unhealthy: IngotError | undefined;
    vm.exited.finally(() => healthy.abort(new Error("stopped"))).catch(() => {});
    if (manifest.healthcheck && urls.length > 0) {
      // The instance checks once init has started the app: before the guest's network is up, QEMU's
      // user network holds host connections open, which would pass a TCP check.
      instance.waitHealthy(manifest.healthcheck.startTimeoutMs, healthy.signal).then(() => {
        const timeline = bootTimeline(lines, performance.now() - vm.startedAt);
        console.log(`${elapsed()} healthy: ${urls.join(" ")}`);
        if (timeline) console.log(`${elapsed()} boot: ${describeTimeline(timeline)} (${detectAccelerator() === "kvm" ? "KVM" : "software emulation"})`);
      }, (error: unknown) => {
        // Never healthy: say why, then stop it as Ctrl-C would; the exit status says it failed. An
        // instance that ended on its own says so through its app's status below.
        if (!(error instanceof IngotError) || error.code === "instance-exited") return;
        unhealthy = error;
        stop();
      });
    }
    await vm.exited.catch(() => {});
    // Frees the run folder and the ports, whoever ended the instance.
    await instance.stop(0);
    if (unhealthy) throw unhealthy;
    if (vm.bootFailure) {
      throw new IngotError(`Cannot start ${manifest.name} as the instance failed to boot: ${vm.bootFailure.reason}`, {
        code: "boot-failed", exitCode: vm.bootFailure.status,
        hint: "The console above shows where it stopped; init fetches its configuration from ingot's metadata endpoint before it starts the app",
      });
    }
    return vm.appStatus ?? 1;
  },
};

/** Any name is an environment; one that ingot.yaml does not mention is most likely a typo. */
function assertEnvironment(manifest: ImageManifest, environment: string): void {
  const known = ["dev", ...Object.keys(manifest.environments)];
  if (!/^[a-z0-9][a-z0-9._-]{0,62}$/.test(environment) || !known.includes(environment)) {
    throw new IngotError(`Cannot run in environment ${environment} as ${manifest.name}'s ingot.yaml does not define it`, {
      code: "environment-unknown", hint: `Environments: ${known.join(", ")}`,
    });
  }
}
