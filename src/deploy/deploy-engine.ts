// The deploy engine: checks a deploy before any work, records it, runs its blue/green plan through
// the provider and the entry point, and records how it ended. One deploy per environment at a time
// (the state refuses a second); progress goes out as typed events and into the event log.
import { IngotError } from "../errors.ts";
import type { EntryPoint } from "../entry/entry-point.ts";
import { type EntryPoints, entryHealthcheck } from "../entry/entry-points.ts";
import type { ImageManifest } from "../image/manifest.ts";
import { BootSlots, bootParallelism } from "../instance/boot-slots.ts";
import type { Instance } from "../instance/instance.ts";
import { type InstanceChange, LiveInstances } from "../instance/live-instances.ts";
import { instanceConfig } from "../metadata/instance-config.ts";
import type { StateDatabase } from "../state/database.ts";
import { type Deployment, Deployments } from "../state/deployments.ts";
import { type EnvironmentConfig, environmentConfig } from "../state/environment-config.ts";
import { type Environment, Environments } from "../state/environments.ts";
import { EventLog } from "../state/events.ts";
import type { SecretStore } from "../state/secret-store.ts";
import { resolveImage } from "../vault/image-ref.ts";
import type { Vault } from "../vault/vault.ts";
import { freePort } from "../vm/free-port.ts";
import { blueGreenPlan } from "./deploy-plan.ts";
import { type DeployActions, type DeployEvent, runDeploy } from "./deploy-runner.ts";
import { withCapacity } from "./capacity.ts";
import { type DeploySettings, deploySettings } from "./deploy-settings.ts";
import { assertMemoryForInstances } from "./host-memory.ts";

export type DeployStrategy = "blue-green" | "rollback" | "promote";

/** What a deploy tells whoever follows it, in order; the same records go to the event log. */
export type ProgressEvent =
  | { type: "deploy"; deployment: number; environment: string; imageRef: string; imageDigest: string; configVersion: number; blue: string[]; green: string[]; entryUrl: string }
  | DeployEvent
  | ({ type: "instance" } & InstanceChange)
  | { type: "console"; instance: string; lines: string[] };

export interface DeployRequest {
  environment: string;
  /** NAME:VERSION, NAME (its latest), or a digest. */
  image: string;
  strategy?: DeployStrategy;
  /** Where the entry point listens: 127.0.0.1 unless given (then recorded). */
  bindAddress?: string;
}

export interface DeployReport {
  deployment: Deployment;
  entryUrl: string;
  failedInstance?: string;
  lastLines?: string[];
}

export interface EngineParts {
  state: StateDatabase;
  vault: Vault;
  secrets: SecretStore;
  entryPoints: EntryPoints;
  live: LiveInstances;
}

/**
 * @example
 * const engine = new DeployEngine({ state, vault, secrets, entryPoints, live });
 * const report = await engine.deploy({ environment: "prod", image: "hello:2" }, (event) => console.log(event));
 * report.deployment.state; // "succeeded" or "failed" (with the reason and the failing instance's last console lines)
 */
export class DeployEngine {
  readonly environments: Environments;
  readonly deployments: Deployments;
  readonly events: EventLog;
  /** Boots at once, across deploys, scale and replacements: one per core (boot-slots.ts). */
  readonly bootSlots = new BootSlots(bootParallelism());

  constructor(readonly parts: EngineParts) {
    this.environments = new Environments(parts.state);
    this.deployments = new Deployments(parts.state);
    this.events = new EventLog(parts.state);
  }

  async deploy(request: DeployRequest, emit: (event: ProgressEvent) => void = () => {}): Promise<DeployReport> {
    // Everything that can be refused is refused here, before an instance boots or a record is written.
    const { digest, manifest } = await resolveImage(this.parts.vault, request.image);
    // Beyond dev, test and prod, an environment exists once an image declares it in ingot.yaml.
    const environment = manifest.environments[request.environment] ? this.environments.ensure(request.environment) : this.environments.get(request.environment);
    const settings = withCapacity(deploySettings(manifest, environment.name), environment);
    assertServes(manifest);
    this.deployments.assertNoneRunning(environment.name);
    // Green boots beside blue, whose memory the host already counts as used.
    assertMemoryForInstances(`deploy ${manifest.name}:${manifest.version} to ${environment.name}`, settings);
    const entry = await this.#entryPoint(environment, manifest, settings, request.bindAddress);
    const config = environmentConfig(this.parts.state, this.parts.secrets, environment.name);
    const deployment = this.deployments.begin({
      environment: environment.name, imageRef: `${manifest.name}:${manifest.version}`, imageDigest: digest, strategy: request.strategy ?? "blue-green", configVersion: config.version,
    });
    const entryUrl = urlOf(entry);
    const progress = (event: ProgressEvent): void => {
      this.events.append({ kind: `deploy-${event.type}`, environment: environment.name, deployment: deployment.id, data: { ...event } });
      emit(event);
    };
    const unsubscribe = this.#followInstances(environment.name, emit);
    const greens = new Map<string, Instance>();
    try {
      const blue = this.parts.live.in(environment.name).map((instance) => instance.id);
      const green = Array.from({ length: settings.instances }, () => LiveInstances.newId());
      progress({ type: "deploy", deployment: deployment.id, environment: environment.name, imageRef: deployment.imageRef, imageDigest: digest, configVersion: config.version, blue, green, entryUrl });
      const actions: DeployActions = {
        boot: async (id) => { greens.set(id, await this.bootInstance(id, { environment: environment.name, digest, manifest, settings, config, deployment: deployment.id })); },
        waitHealthy: (id, timeoutMs, signal) => this.#instance(id).waitHealthy(timeoutMs, signal),
        // At weight 0: up and checked, but no request reaches it before the switch.
        addToEntry: (id) => entry.add({ name: id, address: "127.0.0.1", port: this.#instance(id).servicePort, weight: 0 }),
        waitUp: (id, timeoutMs, signal) => entry.waitUp(id, timeoutMs, signal),
        switchTraffic: async (serve, replace) => {
          await entry.switchTraffic(serve, replace);
          for (const id of replace) this.parts.live.get(id)?.markDraining();
        },
        drain: (id, timeoutMs) => this.drain(entry, id, timeoutMs),
        stop: (id, timeoutMs) => this.parts.live.stop(id, timeoutMs),
      };
      const outcome = await runDeploy(blueGreenPlan({ blue, green, timeouts: settings.timeouts }), actions, { timeouts: settings.timeouts, emit: progress });
      const failed = outcome.outcome === "failed" ? outcome.failedInstance : undefined;
      const lastLines = failed ? greens.get(failed)?.lastLines() : undefined;
      if (failed && lastLines) progress({ type: "console", instance: failed, lines: lastLines });
      const finished = this.deployments.finish(deployment.id, outcome.outcome, outcome.reason && reasonOf(outcome.reason, outcome.failedInstance));
      if (outcome.outcome === "succeeded") {
        this.environments.setStopped(environment.name, false);
        this.#degradedCleared(environment, `deploy ${deployment.id} of ${deployment.imageRef} succeeded`, deployment.id);
      }
      return { deployment: finished, entryUrl, ...(failed ? { failedInstance: failed } : {}), ...(lastLines ? { lastLines } : {}) };
    } catch (error) {
      this.deployments.finish(deployment.id, "failed", (error as Error).message);
      throw error;
    } finally {
      unsubscribe();
    }
  }

  /** Boots one instance of a deploy (or a replacement), configured with the environment's configuration. */
  bootInstance(id: string, of: { environment: string; digest: string; manifest: ImageManifest; settings: DeploySettings; config: EnvironmentConfig; deployment: number }): Promise<Instance> {
    const { environment, digest, manifest, settings, config } = of;
    return this.bootSlots.boot(() => this.parts.live.boot({
      id, environment, imageDigest: digest, manifest, cpus: settings.cpus, memoryMiB: settings.memoryMiB,
      config: instanceConfig({ instanceId: id, image: { name: manifest.name, version: manifest.version, digest }, platform: this.parts.live.platform, runtimeEnv: config.runtimeEnv, secrets: config.secrets }),
    }, { deployment: of.deployment }), { subscribe: (listener) => this.parts.live.subscribe(listener), healthyMs: settings.timeouts.healthyMs });
  }

  /** Takes an instance out of its entry point: no new requests, in-flight ones finish up to the timeout. */
  async drain(entry: EntryPoint, id: string, timeoutMs: number): Promise<void> {
    this.parts.live.get(id)?.markDraining();
    const inEntry = (await entry.servers()).some((server) => server.name === id);
    if (inEntry) await entry.remove(id, timeoutMs);
  }

  /** Drains and stops every instance of the environment; its entry point stays and answers 503. */
  async stopEnvironment(name: string, emit: (event: ProgressEvent) => void = () => {}): Promise<string[]> {
    const environment = this.environments.get(name);
    this.deployments.assertNoneRunning(environment.name, `stop ${environment.name}`);
    // First, so that nothing replaces the instances about to stop.
    this.environments.setStopped(environment.name, true);
    this.#degradedCleared(environment, "ingot stop");
    const entry = this.parts.entryPoints.get(environment.name);
    const instances = this.parts.live.in(environment.name);
    const unsubscribe = this.#followInstances(environment.name, emit);
    try {
      await Promise.all(instances.map(async (instance) => {
        const { timeouts } = deploySettings(instance.manifest, environment.name);
        if (entry) await this.drain(entry, instance.id, timeouts.drainMs);
        await this.parts.live.stop(instance.id, timeouts.stopMs);
      }));
    } finally {
      unsubscribe();
    }
    return instances.map((instance) => instance.id);
  }

  /** Records that a deploy or a stop cleared the environment's degraded mark (setStopped clears it). */
  #degradedCleared(environment: Environment, why: string, deployment?: number): void {
    if (!environment.degraded) return;
    this.events.append({ kind: "degraded-cleared", environment: environment.name, ...(deployment === undefined ? {} : { deployment }), data: { reason: why, was: { ...environment.degraded } } });
  }

  /** Instance changes of the environment go out with the command's own progress, until unsubscribed. */
  #followInstances(environment: string, emit: (event: ProgressEvent) => void): () => void {
    return this.parts.live.subscribe((change) => { if (change.environment === environment) emit({ type: "instance", ...change }); });
  }

  #instance(id: string): Instance {
    const instance = this.parts.live.get(id);
    if (!instance) throw new IngotError(`Cannot find instance ${id} as it no longer runs`, { code: "instance-gone", hint: "See ingot ps" });
    return instance;
  }

  /** The environment's entry point, started on its first deploy at its port: ingot.yaml's, the recorded one, or a free one. */
  async #entryPoint(environment: Environment, manifest: ImageManifest, settings: DeploySettings, bindAddress: string | undefined): Promise<EntryPoint> {
    const port = settings.port ?? environment.entryPort ?? (await freePort());
    const address = bindAddress ?? environment.bindAddress;
    const holder = this.environments.list().find((other) => other.name !== environment.name && other.entryPort === port);
    if (holder) {
      throw new IngotError(`Cannot give environment ${environment.name} entry port ${port} as environment ${holder.name} has it`, {
        code: "entry-port-taken", hint: `Choose another port under environments.${environment.name}.port in ingot.yaml`,
      });
    }
    const entry = await this.parts.entryPoints.ensure({
      environment: environment.name, bind: { address, port }, healthcheck: entryHealthcheck(manifest.healthcheck), drainTimeoutMs: settings.timeouts.drainMs,
    });
    if (environment.entryPort !== port || environment.bindAddress !== address) this.environments.setEntryPoint(environment.name, { port, bindAddress: address });
    return entry;
  }
}

/** "instance i-3f2a: GET /health did not pass within 8 s", from the error "Cannot call the instance healthy as GET …". */
function reasonOf(message: string, instance: string | undefined): string {
  const why = message.split("\n")[0]!.replace(/^Cannot .+? as /, "");
  return instance && !why.includes(instance) ? `instance ${instance}: ${why}` : why;
}

/** An entry point forwards to a port: an image that declares none cannot be deployed behind one. */
function assertServes(manifest: ImageManifest): void {
  if (Object.keys(manifest.ports).length === 0) {
    throw new IngotError(`Cannot deploy ${manifest.name}:${manifest.version} as its image declares no port for the entry point to forward to`, {
      code: "deploy-no-port", hint: "Declare the port the app listens on under ports: in ingot.yaml (e.g. http: 8080) and build again",
    });
  }
}

export function urlOf(entry: EntryPoint): string {
  const { address, port } = entry.spec.bind;
  const host = address === "0.0.0.0" || address === "::" ? "127.0.0.1" : address.includes(":") ? `[${address}]` : address;
  return `http://${host}:${port}/`;
}
