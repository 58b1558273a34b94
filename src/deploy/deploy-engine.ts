// The deploy engine: checks a deploy before any work, records it, runs its plan (blue/green,
// rolling or a canary's split) through the provider and the entry point, and records how it ended.
// A canary stays running until it is promoted or aborted. One deploy per environment at a time
// (the state refuses a second); progress goes out as typed events and into the event log.
import type { Accessories } from "../accessory/accessories.ts";
import { IngotError } from "../errors.ts";
import type { EntryPoint } from "../entry/entry-point.ts";
import { type EntryPoints, entryHealthcheck } from "../entry/entry-points.ts";
import type { ImageManifest } from "../image/manifest.ts";
import { BootSlots, bootParallelism } from "../instance/boot-slots.ts";
import type { Instance } from "../instance/instance.ts";
import { type InstanceChange, LiveInstances } from "../instance/live-instances.ts";
import { instanceConfig } from "../metadata/instance-config.ts";
import type { StateDatabase } from "../state/database.ts";
import { type CanarySplit, type Deployment, Deployments } from "../state/deployments.ts";
import { type EnvironmentConfig, environmentConfig } from "../state/environment-config.ts";
import { type Environment, Environments } from "../state/environments.ts";
import { EventLog } from "../state/events.ts";
import { InstanceRecords } from "../state/instances.ts";
import type { SecretStore } from "../state/secret-store.ts";
import { resolveImage } from "../vault/image-ref.ts";
import type { Vault } from "../vault/vault.ts";
import { freePort } from "../vm/free-port.ts";
import { canaryWeights } from "./canary-weights.ts";
import { canaryPlan, type DeployStep, promotePlan, rollingPlan, withdrawPlan } from "./deploy-plan.ts";
import { type DeployActions, type DeployEvent, type DeployOutcome, runDeploy, runUndo } from "./deploy-runner.ts";
import { withCapacity } from "./capacity.ts";
import { type DeploySettings, deploySettings } from "./deploy-settings.ts";
import { type StrategyRequest, strategyShape } from "./deploy-strategy.ts";
import { assertMemoryForInstances } from "./host-memory.ts";

export type { DeployStrategy } from "./deploy-strategy.ts";

/** Which plan of a deploy runs: a restarted server reads the last one to finish or undo it. */
export type PlanStage = "deploy" | "canary" | "promote" | "withdraw";

/** What a deploy tells whoever follows it, in order; the same records go to the event log. */
export type ProgressEvent =
  | { type: "deploy"; deployment: number; environment: string; imageRef: string; imageDigest: string; configVersion: number; blue: string[]; green: string[]; entryUrl: string; strategy?: string }
  | { type: "plan"; stage: PlanStage; steps: DeployStep[] }
  | DeployEvent
  | ({ type: "canary" } & CanarySplit)
  | { type: "canary-end"; action: CanaryAction; reason: string }
  | ({ type: "instance" } & InstanceChange)
  | { type: "console"; instance: string; lines: string[] };

export type CanaryAction = "promote" | "abort";

export interface DeployRequest extends StrategyRequest {
  environment: string;
  /** NAME:VERSION, NAME (its latest), or a digest. */
  image: string;
  /** Where the entry point listens: 127.0.0.1 unless given (then recorded). */
  bindAddress?: string;
}

export interface DeployReport {
  deployment: Deployment;
  entryUrl: string;
  /** A canary withdrawn as asked (or as judged): the old version serves, which is what was wanted. */
  aborted?: true;
  failedInstance?: string;
  lastLines?: string[];
}

export interface EngineParts {
  state: StateDatabase;
  vault: Vault;
  secrets: SecretStore;
  entryPoints: EntryPoints;
  live: LiveInstances;
  /** The environments' accessories: started before a deploy boots, reached by every instance it boots. */
  accessories?: Accessories;
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
  readonly #endingCanary = new Set<string>();
  /** Environments ingot env rm is removing (environment-removal.ts): a deploy there now would be half removed. */
  readonly removing = new Set<string>();
  readonly #settled = new Set<(environment: string) => void>();
  /** Boots at once, across deploys, scale and replacements: one per core (boot-slots.ts). */
  readonly bootSlots = new BootSlots(bootParallelism());

  constructor(readonly parts: EngineParts) {
    this.environments = new Environments(parts.state);
    this.deployments = new Deployments(parts.state);
    this.events = new EventLog(parts.state);
  }

  /** Calls `listener` whenever a deploy or a canary ends, for what keeps the capacity (an undone rolling deploy leaves fewer old instances). */
  onSettled(listener: (environment: string) => void): () => void {
    this.#settled.add(listener);
    return () => this.#settled.delete(listener);
  }

  #settle(environment: string): void {
    if (this.deployments.running(environment)) return;
    for (const listener of this.#settled) listener(environment);
  }

  async deploy(request: DeployRequest, emit: (event: ProgressEvent) => void = () => {}): Promise<DeployReport> {
    // Everything that can be refused is refused here, before an instance boots or a record is written.
    const { digest, manifest } = await resolveImage(this.parts.vault, request.image);
    // Beyond dev, test and prod, an environment exists once an image declares it in ingot.yaml.
    const environment = manifest.environments[request.environment] ? this.environments.ensure(request.environment) : this.environments.get(request.environment);
    const settings = withCapacity(deploySettings(manifest, environment.name), environment);
    assertServes(manifest);
    this.deployments.assertNoneRunning(environment.name);
    if (this.removing.has(environment.name)) {
      throw new IngotError(`Cannot deploy to ${environment.name} as ingot env rm is removing it`, { code: "environment-removing", hint: "Wait for the removal to finish, then deploy: it starts the environment afresh" });
    }
    const blue = this.parts.live.in(environment.name).map((instance) => instance.id);
    const shape = strategyShape(request, { name: environment.name, capacity: settings.instances, serving: blue.length });
    // The new instances boot beside blue, whose memory the host already counts as used; a rolling deploy boots a batch at a time.
    const atOnce = shape.kind === "canary" ? shape.instances : shape.batch;
    assertMemoryForInstances(`deploy ${manifest.name}:${manifest.version} to ${environment.name}`, { instances: atOnce, memoryMiB: settings.memoryMiB });
    // Before the entry point starts and the configuration is read: an accessory ingot.yaml declares
    // adds its URL as a secret, and one that cannot start (PostgreSQL not installed) refuses the deploy.
    await this.parts.accessories?.ensure(environment.name, manifest.environments[environment.name]?.accessories);
    const entry = await this.#entryPoint(environment, manifest, settings, request.bindAddress);
    const config = environmentConfig(this.parts.state, this.parts.secrets, environment.name);
    const deployment = this.deployments.begin({
      environment: environment.name, imageRef: `${manifest.name}:${manifest.version}`, imageDigest: digest, strategy: shape.strategy, configVersion: config.version,
    });
    const entryUrl = urlOf(entry);
    const progress = this.#progress(deployment, emit);
    const unsubscribe = this.#followInstances(environment.name, emit);
    const run = new DeployRun(this, entry, { environment: environment.name, digest, manifest, settings, config, deployment: deployment.id });
    try {
      const green = Array.from({ length: shape.instances }, () => LiveInstances.newId());
      progress({ type: "deploy", deployment: deployment.id, environment: environment.name, imageRef: deployment.imageRef, imageDigest: digest, configVersion: config.version, blue, green, entryUrl, strategy: shape.strategy });
      if (shape.kind === "canary") {
        const weights = canaryWeights({ percent: shape.percent, canaries: green.length, olds: blue.length });
        const outcome = await run.plan("canary", canaryPlan({ blue, canary: green, weights, timeouts: settings.timeouts }), progress);
        if (outcome.outcome === "succeeded") {
          const split: CanarySplit = { instances: green, percent: shape.percent, weights, sinceMs: Date.now(), auto: shape.autoWindowMs === null ? null : { windowMs: shape.autoWindowMs } };
          progress({ type: "canary", ...split });
          return { deployment: this.deployments.setCanary(deployment.id, split), entryUrl };
        }
        return this.#finish(deployment.id, outcome, run, progress, entryUrl);
      }
      const outcome = await run.plan("deploy", rollingPlan({ blue, green, batch: shape.batch, timeouts: settings.timeouts }), progress);
      return this.#finish(deployment.id, outcome, run, progress, entryUrl);
    } catch (error) {
      this.deployments.finish(deployment.id, "failed", (error as Error).message);
      throw error;
    } finally {
      unsubscribe();
      this.#settle(environment.name);
    }
  }

  /**
   * Ends the environment's running canary: `promote` brings the rest of the new version in and
   * switches every request to it (as blue/green); `abort` takes the canaries out and the old
   * version serves alone. A promotion that fails withdraws the canaries too: the old version serves.
   *
   * @example
   * await engine.endCanary("prod", "abort", "ingot deploy --abort");
   */
  async endCanary(name: string, action: CanaryAction, reason: string, emit: (event: ProgressEvent) => void = () => {}): Promise<DeployReport> {
    const environment = this.environments.get(name);
    const deployment = this.deployments.running(environment.name);
    const canary = deployment?.canary;
    if (!deployment || !canary) {
      throw new IngotError(`Cannot ${action} a canary in ${environment.name} as none runs there${deployment ? `: deploy ${deployment.id} is a ${deployment.strategy} deploy` : ""}`, {
        code: "canary-none", hint: `Start one with ingot deploy IMAGE --env ${environment.name} --strategy canary --percent 10; see ingot status --env ${environment.name}`,
      });
    }
    if (this.#endingCanary.has(environment.name)) {
      throw new IngotError(`Cannot ${action} the canary of ${environment.name} as it is being ended already`, { code: "canary-ending", hint: `Follow it with ingot events --env ${environment.name} -f` });
    }
    this.#endingCanary.add(environment.name);
    const unsubscribe = this.#followInstances(environment.name, emit);
    try {
      const { manifest } = await resolveImage(this.parts.vault, deployment.imageDigest);
      const settings = withCapacity(deploySettings(manifest, environment.name), environment);
      const entry = this.parts.entryPoints.get(environment.name);
      if (!entry) throw new IngotError(`Cannot ${action} the canary of ${environment.name} as its entry point does not run`, { code: "entry-not-running", hint: "Restart ingot server: it starts the entry point again" });
      const config = environmentConfig(this.parts.state, this.parts.secrets, environment.name);
      const run = new DeployRun(this, entry, { environment: environment.name, digest: deployment.imageDigest, manifest, settings, config, deployment: deployment.id });
      const progress = this.#progress(deployment, emit);
      const canaries = new Set(canary.instances);
      // The old version: neither a canary nor an instance of this deploy (a promotion's cut short).
      const records = new InstanceRecords(this.parts.state);
      const blue = this.parts.live.in(environment.name).filter((instance) => !canaries.has(instance.id) && records.get(instance.id)?.deployment !== deployment.id).map((instance) => instance.id);
      progress({ type: "canary-end", action, reason });
      const withdraw = async (why: string): Promise<DeployReport> => {
        await run.withdraw(blue, canary.instances, progress);
        return { deployment: this.deployments.finish(deployment.id, "failed", why), entryUrl: urlOf(entry) };
      };
      if (action === "abort") return { ...(await withdraw(`canary aborted: ${reason}`)), aborted: true };
      const rest = Array.from({ length: Math.max(0, settings.instances - canary.instances.length) }, () => LiveInstances.newId());
      assertMemoryForInstances(`promote the canary of ${environment.name}`, { instances: rest.length, memoryMiB: settings.memoryMiB });
      const outcome = await run.plan("promote", promotePlan({ blue, canary: canary.instances, rest, timeouts: settings.timeouts }), progress);
      if (outcome.outcome === "failed") {
        const report = await withdraw(`promotion of the canary failed, so it was withdrawn: ${reasonOf(outcome.reason ?? "it failed", outcome.failedInstance)}`);
        return { ...report, ...run.failure(outcome, progress) };
      }
      return this.#finish(deployment.id, outcome, run, progress, urlOf(entry));
    } finally {
      this.#endingCanary.delete(environment.name);
      unsubscribe();
      this.#settle(environment.name);
    }
  }

  /** Records how a deploy's plan ended; one that succeeded makes the environment serve again (not stopped, not degraded). */
  #finish(id: number, outcome: DeployOutcome, run: DeployRun, progress: (event: ProgressEvent) => void, entryUrl: string): DeployReport {
    const failure = outcome.outcome === "failed" ? run.failure(outcome, progress) : {};
    const finished = this.deployments.finish(id, outcome.outcome, outcome.reason && reasonOf(outcome.reason, outcome.failedInstance));
    if (outcome.outcome === "succeeded") {
      const environment = this.environments.get(finished.environment);
      this.environments.setStopped(environment.name, false);
      this.#degradedCleared(environment, `deploy ${id} of ${finished.imageRef} succeeded`, id);
    }
    return { deployment: finished, entryUrl, ...failure };
  }

  /** A deploy's progress goes to the event log and to whoever follows the command. */
  #progress(deployment: Deployment, emit: (event: ProgressEvent) => void): (event: ProgressEvent) => void {
    return (event) => {
      this.events.append({ kind: `deploy-${event.type}`, environment: deployment.environment, deployment: deployment.id, data: { ...event } });
      emit(event);
    };
  }

  /** Boots one instance of a deploy (or a replacement), configured with the environment's configuration. */
  bootInstance(id: string, of: { environment: string; digest: string; manifest: ImageManifest; settings: DeploySettings; config: EnvironmentConfig; deployment: number }): Promise<Instance> {
    const { environment, digest, manifest, settings, config } = of;
    return this.bootSlots.boot(() => this.parts.live.boot({
      id, environment, imageDigest: digest, manifest, cpus: settings.cpus, memoryMiB: settings.memoryMiB,
      config: instanceConfig({ instanceId: id, image: { name: manifest.name, version: manifest.version, digest }, platform: this.parts.live.platform, runtimeEnv: config.runtimeEnv, secrets: config.secrets }),
      ...(this.parts.accessories ? { accessories: this.parts.accessories.guestAccess(environment) } : {}),
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

/** What one deploy's plans act on: its image, settings and configuration, and the environment's entry point. */
interface RunContext { environment: string; digest: string; manifest: ImageManifest; settings: DeploySettings; config: EnvironmentConfig; deployment: number }

/**
 * One deploy's plans run through the provider and the entry point: the actions every step takes,
 * and the instances it booted (for the last console lines of one that failed).
 */
class DeployRun {
  readonly #booted = new Map<string, Instance>();

  constructor(private readonly engine: DeployEngine, private readonly entry: EntryPoint, private readonly context: RunContext) {}

  plan(stage: PlanStage, steps: DeployStep[], progress: (event: ProgressEvent) => void): Promise<DeployOutcome> {
    progress({ type: "plan", stage, steps });
    return runDeploy(steps, this.#actions(), { timeouts: this.context.settings.timeouts, emit: progress });
  }

  /** The canaries leave (their requests finish) and the old instances take their full weight again. */
  async withdraw(blue: string[], canaries: string[], progress: (event: ProgressEvent) => void): Promise<void> {
    const steps = withdrawPlan({ blue, green: canaries, timeouts: this.context.settings.timeouts });
    progress({ type: "plan", stage: "withdraw", steps });
    await runUndo(steps, this.#actions(), { emit: progress });
  }

  /** The failing instance and its last console lines, sent with the progress too. */
  failure(outcome: DeployOutcome, progress: (event: ProgressEvent) => void): { failedInstance?: string; lastLines?: string[] } {
    const failed = outcome.failedInstance;
    const lastLines = failed ? this.#booted.get(failed)?.lastLines() : undefined;
    if (failed && lastLines) progress({ type: "console", instance: failed, lines: lastLines });
    return { ...(failed ? { failedInstance: failed } : {}), ...(lastLines ? { lastLines } : {}) };
  }

  #actions(): DeployActions {
    const { engine, entry } = this;
    const live = engine.parts.live;
    const instance = (id: string): Instance => {
      const found = live.get(id);
      if (!found) throw new IngotError(`Cannot find instance ${id} as it no longer runs`, { code: "instance-gone", hint: "See ingot ps" });
      return found;
    };
    return {
      boot: async (id) => { this.#booted.set(id, await engine.bootInstance(id, this.context)); },
      waitHealthy: (id, timeoutMs, signal) => instance(id).waitHealthy(timeoutMs, signal),
      // At weight 0: up and checked, but no request reaches it before the switch (or the split).
      addToEntry: (id) => entry.add({ name: id, address: "127.0.0.1", port: instance(id).servicePort, weight: 0 }),
      waitUp: (id, timeoutMs, signal) => entry.waitUp(id, timeoutMs, signal),
      switchTraffic: async (serve, replace) => {
        // An old instance that left meanwhile (crashed and taken out by self-healing) has nothing left to switch away from.
        await entry.switchTraffic(serve, replace.filter((id) => entry.holds(id)));
        for (const id of replace) live.get(id)?.markDraining();
      },
      split: (canaries, old, weights) => entry.setWeights(Object.fromEntries([
        ...canaries.map((id) => [id, weights.canary] as const),
        // An old instance that left meanwhile (replaced, crashed) is not the split's to weigh.
        ...old.filter((id) => entry.holds(id)).map((id) => [id, weights.old] as const),
      ])),
      drain: (id, timeoutMs) => engine.drain(entry, id, timeoutMs),
      stop: (id, timeoutMs) => live.stop(id, timeoutMs),
    };
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
