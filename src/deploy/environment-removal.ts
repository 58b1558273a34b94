// `ingot env rm`: removes what an environment runs and holds. Its instances drain and stop (the
// same path as ingot stop), its entry point's HAProxy ends, its accessories stop and go (their
// data kept unless asked), its variables and secrets are deleted and its row reset, so that its
// next deploy starts it afresh. Its history (deployments, events, audit) stays.
import { IngotError } from "../errors.ts";
import { resetEnvironment } from "../state/environment-reset.ts";
import type { DeployEngine, ProgressEvent } from "./deploy-engine.ts";
import { urlOf } from "./deploy-engine.ts";

export interface RemoveRequest {
  environment: string;
  /** Delete the accessories' data too (as ingot accessory rm --delete-data); kept by default. */
  deleteData: boolean;
}

/** What was removed, for the CLI to print and a caller to read. */
export interface EnvironmentRemoval {
  environment: string;
  /** The instances drained and stopped. */
  instances: string[];
  /** The entry point whose HAProxy ended, with the URL it answered at; null when none ran. */
  entryPoint: { url: string; pid: number } | null;
  accessories: { name: string; kind: string; dataDir: string; dataKept: boolean }[];
  /** Runtime variables deleted. */
  variables: number;
  /** The user's secrets deleted (an accessory's URL goes with its accessory). */
  secrets: number;
  /** True when its row went too: a declared environment nothing recorded refers to (dev, test and prod are only reset). */
  forgotten: boolean;
}

/**
 * Refused, before anything changes, for an unknown environment and while a deploy or a canary runs
 * there. An environment with nothing left to remove is removed again harmlessly.
 *
 * @example
 * await removeEnvironment(engine, { environment: "dev", deleteData: false });
 * // → { environment: "dev", instances: ["i-3f2a"], entryPoint: { url: "http://127.0.0.1:8080/", pid: 4242 },
 * //     accessories: [{ name: "db", kind: "postgres", dataDir: "…/accessories/dev/db/data", dataKept: true }], variables: 2, secrets: 1, forgotten: false }
 */
export async function removeEnvironment(engine: DeployEngine, request: RemoveRequest, emit: (event: ProgressEvent) => void = () => {}): Promise<EnvironmentRemoval> {
  const { name } = engine.environments.get(request.environment);
  assertNothingRuns(engine, name);
  engine.removing.add(name);
  try {
    // ingot stop's own path: marked stopped first, so that nothing replaces the instances as they go.
    const instances = await engine.stopEnvironment(name, emit);
    const ended = await engine.parts.entryPoints.remove(name);
    const accessories = [];
    for (const accessory of (await engine.parts.accessories?.list(name)) ?? []) {
      await engine.parts.accessories!.remove(name, accessory.name, { deleteData: request.deleteData, runningInstances: engine.parts.live.in(name).length });
      accessories.push({ name: accessory.name, kind: accessory.kind, dataDir: accessory.dataDir, dataKept: !request.deleteData });
    }
    // Last: until here the environment stays marked stopped, and afterwards no deploy before now counts as what it serves.
    const reset = resetEnvironment(engine.parts.state, name);
    const removal: EnvironmentRemoval = { environment: name, instances, entryPoint: ended ? { url: urlOf(ended), pid: ended.pid } : null, accessories, ...reset };
    engine.events.append({ kind: "environment-removed", environment: name, data: { ...removal } });
    return removal;
  } finally {
    engine.removing.delete(name);
  }
}

/** A deploy or a canary owns the environment until it ends: removing under it would leave half of each. */
function assertNothingRuns(engine: DeployEngine, name: string): void {
  if (engine.removing.has(name)) {
    throw new IngotError(`Cannot remove environment ${name} as it is being removed already`, { code: "environment-removing", hint: `Follow it with ingot events --env ${name} -f` });
  }
  const running = engine.deployments.running(name);
  if (!running) return;
  const canary = running.canary !== null || running.strategy === "canary";
  const what = `${canary ? "the canary of " : ""}deploy ${running.id} of ${running.imageRef}`;
  throw new IngotError(`Cannot remove environment ${name} as ${what} is running there since ${new Date(running.startedMs).toISOString()}`, {
    code: "deploy-running",
    hint: canary ? `End the canary first: ingot deploy --env ${name} --abort (or --promote), then try again` : `Wait for it to finish (ingot status --env ${name}), then try again`,
  });
}
