// `ingot scale`: sets the number of instances an environment is kept at (or back to its image's),
// then has the capacity keeper boot the missing ones or drain and stop the extra ones, and waits for
// it. The number is recorded first, so a server killed mid-scale reconciles when it starts again.
import { MAX_INSTANCES } from "../config/app-schema.ts";
import { IngotError } from "../errors.ts";
import type { InstanceChange } from "../instance/live-instances.ts";
import { readManifest } from "../vault/image-ref.ts";
import { type Capacity, capacity } from "./capacity.ts";
import type { CapacityKeeper } from "./capacity-keeper.ts";
import { type DeployEngine, urlOf } from "./deploy-engine.ts";
import { deploySettings } from "./deploy-settings.ts";
import { assertMemoryForInstances } from "./host-memory.ts";

export interface ScaleRequest {
  environment: string;
  /** The number to keep; null goes back to the image's (ingot scale --reset). */
  instances: number | null;
}

/** What a scale tells whoever follows it: the plan first, then every instance change of the environment. */
export type ScaleEvent =
  | { type: "scale"; environment: string; imageRef: string; from: number; to: number; imageInstances: number; scaled: boolean }
  | ({ type: "instance" } & InstanceChange);

export interface ScaleReport {
  environment: string;
  imageRef: string;
  capacity: Capacity;
  /** Instances of the serving image that ran before. */
  was: number;
  started: string[];
  stopped: string[];
  entryUrl: string;
}

/**
 * @example
 * await scaleEnvironment(engine, keeper, { environment: "prod", instances: 3 }, (event) => console.log(event));
 * // { environment: "prod", capacity: { instances: 3, imageInstances: 2, scaled: true }, was: 2, started: ["i-3f2a"], stopped: [], … }
 */
export async function scaleEnvironment(engine: DeployEngine, keeper: CapacityKeeper, request: ScaleRequest, emit: (event: ScaleEvent) => void = () => {}): Promise<ScaleReport> {
  const environment = engine.environments.get(request.environment);
  const name = environment.name;
  assertInstanceCount(name, request.instances);
  engine.deployments.assertNoneRunning(name, `scale ${name}`);
  const serving = engine.deployments.serving(name);
  const entry = engine.parts.entryPoints.get(name);
  if (!serving || !entry) {
    throw new IngotError(`Cannot scale ${name} as nothing was ever deployed to it`, { code: "scale-not-deployed", hint: `Deploy first: ingot deploy IMAGE --env ${name}` });
  }
  if (environment.stoppedMs !== null) {
    throw new IngotError(`Cannot scale ${name} as ingot stop stopped it at ${new Date(environment.stoppedMs).toISOString()}`, { code: "scale-stopped", hint: `Deploy to it again first: ingot deploy IMAGE --env ${name}` });
  }
  if (environment.degraded) {
    throw new IngotError(`Cannot scale ${name} as it is degraded: ${environment.degraded.imageRef} kept failing (${environment.degraded.lastReason})`, {
      code: "scale-degraded", hint: `Deploy an image that works (or ingot rollback --env ${name}) first; ingot events --env ${name} shows the failures`,
    });
  }
  const manifest = await readManifest(engine.parts.vault, serving.imageDigest);
  const settings = deploySettings(manifest, name);
  const target = capacity({ desiredInstances: request.instances }, settings);
  const was = engine.parts.live.in(name).filter((instance) => instance.imageDigest === serving.imageDigest && instance.state === "healthy").length;
  // The new instances boot beside those that run, whose memory the host already counts as used.
  if (target.instances > was) assertMemoryForInstances(`scale ${name} to ${target.instances} instances`, { instances: target.instances - was, memoryMiB: settings.memoryMiB });
  engine.environments.setDesiredInstances(name, request.instances);
  engine.events.append({ kind: "scale", environment: name, deployment: serving.id, data: { from: was, to: target.instances, imageInstances: target.imageInstances, scaled: target.scaled } });
  emit({ type: "scale", environment: name, imageRef: serving.imageRef, from: was, to: target.instances, imageInstances: target.imageInstances, scaled: target.scaled });
  const unsubscribe = engine.parts.live.subscribe((change) => { if (change.environment === name) emit({ type: "instance", ...change }); });
  try {
    const { started, stopped } = await keeper.reconcile(name).catch((cause: unknown) => {
      throw new IngotError(`Cannot scale ${name} to ${target.instances} instances as ${(cause as Error).message.replace(/^Cannot .+? as /, "")}`, {
        code: "scale-failed", hint: `The number is kept and the control plane tries again; ingot events --env ${name} shows why, ingot scale --env ${name} N changes it`, cause,
      });
    });
    return { environment: name, imageRef: serving.imageRef, capacity: target, was, started, stopped, entryUrl: urlOf(entry) };
  } finally {
    unsubscribe();
  }
}

/** The number ingot scale takes: a whole number from 1 to MAX_INSTANCES, or null for the image's. */
function assertInstanceCount(environment: string, instances: number | null): void {
  if (instances === null || (Number.isInteger(instances) && instances >= 1 && instances <= MAX_INSTANCES)) return;
  throw new IngotError(`Cannot scale ${environment} to ${JSON.stringify(instances)} instances as it must be a whole number from 1 to ${MAX_INSTANCES}`, {
    code: "scale-count-invalid", hint: `To stop every instance use ingot stop --env ${environment}; to go back to the image's number, ingot scale --env ${environment} --reset`,
  });
}
