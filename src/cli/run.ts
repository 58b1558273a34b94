// `ingot run IMAGE|DIR [-p HOST:GUEST] [-e KEY=VALUE] [--secret NAME] [--secret-file PATH] [--env NAME]
// [--memory SIZE] [--cpus N]`: boots one instance in the foreground, serves it its configuration,
// streams its console, waits until healthy and prints the URL; Ctrl-C stops it gracefully.
import { randomBytes } from "node:crypto";
import { stat } from "node:fs/promises";
import { parseSizeMiB } from "../config/schema.ts";
import { IngotError } from "../errors.ts";
import { buildImage } from "../image/build.ts";
import { environmentOutbound, type ImageManifest } from "../image/manifest.ts";
import { runtimeVariables, secretValues } from "../metadata/config-sources.ts";
import { describeConfig, instanceConfig } from "../metadata/instance-config.ts";
import { resolveImage } from "../vault/image-ref.ts";
import { Vault } from "../vault/vault.ts";
import { bootImage } from "../vm/boot-image.ts";
import { assertResources } from "../vm/resources.ts";
import { waitHealthy } from "../vm/health.ts";
import { APP_STARTED_LINE } from "../vm/init-lines.ts";
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
      instanceId: `i-${randomBytes(4).toString("hex")}`, image: { name: manifest.name, version: manifest.version, digest },
      platform: "qemu", runtimeEnv, secrets,
    });
    console.error(`instance ${config.instance} of ${manifest.name}:${manifest.version} (${digest.slice(0, 19)}), env ${environment}`);
    console.error(`config  ${describeConfig(config)}`);
    const instance = await bootImage(vault, digest, manifest, {
      cmdline: `ingot.env=${environment} ingot.hostname=${config.instance}`, config,
      hostPorts,
      memoryMiB, cpus,
      outbound: environmentOutbound(manifest, environment),
    });
    const { vm } = instance;
    const elapsed = (): string => `${((performance.now() - vm.startedAt) / 1000).toFixed(1).padStart(5)}s`;
    const lines: TimedLine[] = [];
    vm.on("line", (line: string) => {
      lines.push({ atMs: performance.now() - vm.startedAt, line });
      if (line.trim()) console.log(`${elapsed()} | ${line}`);
    });
    let stopping = false;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      console.error(`${elapsed()} stopping (graceful, up to ${manifest.stopTimeoutMs / 1000} s)`);
      void vm.stop(manifest.stopTimeoutMs + 5000);
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
    const first = instance.forwards[0];
    if (manifest.healthcheck && first) {
      const port = instance.forwards.find((forward) => forward.guestPort === manifest.ports[(manifest.healthcheck as { port: string }).port]) ?? first;
      // Checks start once init has started the app: before the guest's network is up, QEMU's user
      // network holds host connections open, which would pass a TCP check.
      const check = manifest.healthcheck;
      vm.waitForLine(APP_STARTED_LINE, 10 * 60_000)
        .then(() => waitHealthy(check, "127.0.0.1", port.hostPort, healthy.signal)).then(() => {
        const timeline = bootTimeline(lines, performance.now() - vm.startedAt);
        console.log(`${elapsed()} healthy: ${instance.forwards.map((forward) => `http://127.0.0.1:${forward.hostPort}`).join(" ")}`);
        if (timeline) console.log(`${elapsed()} boot: ${describeTimeline(timeline)} (${vm.spec.accelerator === "kvm" ? "KVM" : "software emulation"})`);
      }, (error: unknown) => {
        // Never healthy: say why, then stop it as Ctrl-C would; the exit status says it failed.
        if (!(error instanceof IngotError)) return;
        unhealthy = error;
        stop();
      });
    }
    await vm.exited;
    await instance.dispose();
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
