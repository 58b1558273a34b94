// What `ingot status` and `ingot ps` show: per environment its entry URL, the image it serves and
// the configuration version it was deployed with, a running deploy, and each instance with its
// state, uptime and health as the entry point sees it. Read from the state, the live instances and
// HAProxy; nothing is changed.
import type { AccessoryView } from "../accessory/accessories.ts";
import type { CanaryView } from "../deploy/canary-watch.ts";
import type { DeployEngine } from "../deploy/deploy-engine.ts";
import { urlOf } from "../deploy/deploy-engine.ts";
import type { ServerState } from "../entry/server-status.ts";
import { type Capacity, capacity } from "../deploy/capacity.ts";
import { degradedSummary } from "../deploy/crash-loop.ts";
import { deploySettings } from "../deploy/deploy-settings.ts";
import type { Deployment } from "../state/deployments.ts";
import type { Degraded } from "../state/environments.ts";
import { InstanceRecords } from "../state/instances.ts";
import { readManifest } from "../vault/image-ref.ts";

export interface InstanceStatus {
  id: string;
  environment: string | null;
  state: string;
  image: string;
  imageDigest: string;
  startedMs: number;
  uptimeMs: number;
  /** The host port the entry point forwards to. */
  port: number | undefined;
  /** The entry point's view: UP, DOWN (with the last check), DRAIN; absent when not in it. */
  entry?: { state: ServerState; check: string };
  pid: number | null;
}

export interface EnvironmentStatus {
  name: string;
  entryUrl: string | null;
  serving: Pick<Deployment, "id" | "imageRef" | "imageDigest" | "configVersion" | "finishedMs"> | null;
  running: Pick<Deployment, "id" | "imageRef" | "startedMs"> | null;
  configVersion: number;
  /** Its serving image kept failing: nothing replaces its instances until a deploy or ingot stop. */
  degraded: (Degraded & { summary: string }) | null;
  /** The instances it is kept at (ingot scale's number, else its serving image's); null before its first deploy. */
  capacity: Capacity | null;
  /** A running canary: its share, and both versions' requests, 5xx and p95 since the split. */
  canary: CanaryView | null;
  /** Its accessories (docs/accessories.md): name, kind, whether it runs, the variable the app reads. */
  accessories: Pick<AccessoryView, "name" | "kind" | "state" | "variable">[];
  instances: InstanceStatus[];
}

/**
 * @example
 * await environmentStatus(engine, "prod");
 * // [{ name: "prod", entryUrl: "http://127.0.0.1:8080/", serving: { imageRef: "hello:2.0.0", … }, instances: [{ id: "i-3f2a", state: "healthy", entry: { state: "UP", … } }] }]
 */
export async function environmentStatus(engine: DeployEngine, only?: string, canaries?: { view(environment: string): Promise<CanaryView | undefined> }): Promise<EnvironmentStatus[]> {
  const environments = only === undefined ? engine.environments.list() : [engine.environments.get(only)];
  const records = new InstanceRecords(engine.parts.state);
  return Promise.all(environments.map(async (environment) => {
    const entry = engine.parts.entryPoints.get(environment.name);
    const servers = entry ? await entry.servers().catch(() => []) : [];
    const serving = engine.deployments.serving(environment.name);
    const running = engine.deployments.running(environment.name);
    const now = Date.now();
    const manifest = serving ? await readManifest(engine.parts.vault, serving.imageDigest).catch(() => undefined) : undefined;
    return {
      name: environment.name,
      entryUrl: entry ? urlOf(entry) : null,
      serving: serving ? { id: serving.id, imageRef: serving.imageRef, imageDigest: serving.imageDigest, configVersion: serving.configVersion, finishedMs: serving.finishedMs } : null,
      running: running ? { id: running.id, imageRef: running.imageRef, startedMs: running.startedMs } : null,
      configVersion: environment.configVersion,
      degraded: environment.degraded ? { ...environment.degraded, summary: degradedSummary(environment.degraded) } : null,
      capacity: manifest ? capacity(environment, deploySettings(manifest, environment.name)) : null,
      canary: (await canaries?.view(environment.name)) ?? null,
      accessories: ((await engine.parts.accessories?.list(environment.name)) ?? []).map(({ name, kind, state, variable }) => ({ name, kind, state, variable })),
      instances: engine.parts.live.in(environment.name).map((instance) => {
        const record = records.get(instance.id);
        const server = servers.find((candidate) => candidate.name === instance.id);
        const startedMs = record?.startedMs ?? now;
        return {
          id: instance.id, environment: environment.name, state: instance.state, image: `${instance.manifest.name}:${instance.manifest.version}`, imageDigest: instance.imageDigest,
          startedMs, uptimeMs: now - startedMs, port: servicePortOf(instance), pid: record?.pid ?? null,
          ...(server ? { entry: { state: server.state, check: [server.check.status, server.check.code, server.check.description].filter(Boolean).join(" ") } } : {}),
        };
      }),
    };
  }));
}

function servicePortOf(instance: { servicePort: number }): number | undefined {
  try {
    return instance.servicePort;
  } catch {
    return undefined;
  }
}
