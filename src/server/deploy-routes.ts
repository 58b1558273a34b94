// The API of deploys: deploy, rollback, promote, stop and an environment's removal stream their
// progress; status, history and instances read. Every change is recorded in the audit log; the engine does the work.
import type { CanaryWatch } from "../deploy/canary-watch.ts";
import type { DeployEngine, DeployReport, ProgressEvent } from "../deploy/deploy-engine.ts";
import type { DeployStrategy, StrategyRequest } from "../deploy/deploy-strategy.ts";
import { promoteTarget, rollbackTarget } from "../deploy/deploy-targets.ts";
import { removeEnvironment } from "../deploy/environment-removal.ts";
import { IngotError } from "../errors.ts";
import { AuditLog } from "../state/audit.ts";
import { resolveImage } from "../vault/image-ref.ts";
import type { Route } from "./control-server.ts";
import { environmentStatus } from "./environment-status.ts";
import { optional, text } from "./request-fields.ts";

/**
 * @example
 * await ControlServer.start({ routes: [...environmentRoutes(state), ...deployRoutes(engine)] });
 */
export function deployRoutes(engine: DeployEngine, canaries?: CanaryWatch): Route[] {
  const audit = new AuditLog(engine.parts.state);
  return [
    {
      method: "POST", path: "/v1/deploy", stream: true, handle: async (body, emit) => {
        const args = { environment: text(body, "environment"), image: text(body, "image"), ...optional(body, "bindAddress"), ...strategyRequest(body) };
        return audit.run("deploy", args, () => engine.deploy(args, emit as (event: ProgressEvent) => void));
      },
    },
    {
      method: "POST", path: "/v1/canary", stream: true, handle: async (body, emit) => {
        const args = { environment: text(body, "environment"), action: text(body, "action") };
        if (args.action !== "promote" && args.action !== "abort") throw new IngotError(`Cannot ${args.action} a canary`, { code: "api-bad-request", hint: "The action is promote or abort" });
        const action = args.action;
        return audit.run(`canary-${action}`, args, () => engine.endCanary(args.environment, action, `ingot deploy --${action}`, emit as (event: ProgressEvent) => void));
      },
    },
    {
      method: "POST", path: "/v1/rollback", stream: true, handle: async (body, emit) => {
        const args = { environment: text(body, "environment"), ...optional(body, "to") };
        return audit.run("rollback", args, async () => {
          const target = rollbackTarget(args.environment, engine.deployments.sinceRemoval(engine.environments.get(args.environment).name), args.to);
          await assertInVault(engine, target.imageDigest, target.imageRef, `roll ${args.environment} back to`);
          return engine.deploy({ environment: args.environment, image: target.imageDigest, strategy: "rollback" }, emit as (event: ProgressEvent) => void);
        });
      },
    },
    {
      method: "POST", path: "/v1/promote", stream: true, handle: async (body, emit) => {
        const args = { from: text(body, "from"), to: text(body, "to"), force: (body as { force?: unknown }).force === true };
        return audit.run("promote", args, async (): Promise<DeployReport> => {
          if (args.from === args.to) throw new IngotError(`Cannot promote from ${args.from} to itself`, { code: "promote-same", hint: "Name two environments: ingot promote --from test --to prod" });
          engine.environments.get(args.to);
          const target = promoteTarget(args.from, engine.deployments.sinceRemoval(engine.environments.get(args.from).name), args.force);
          await assertInVault(engine, target.imageDigest, target.imageRef, `promote to ${args.to}`);
          return engine.deploy({ environment: args.to, image: target.imageDigest, strategy: "promote" }, emit as (event: ProgressEvent) => void);
        });
      },
    },
    {
      method: "POST", path: "/v1/environments/stop", stream: true, handle: async (body, emit) => {
        const args = { environment: text(body, "environment") };
        return { stopped: await audit.run("stop", args, () => engine.stopEnvironment(args.environment, emit as (event: ProgressEvent) => void)) };
      },
    },
    {
      // ingot env rm: body { environment, deleteData? }; answers an EnvironmentRemoval (environment-removal.ts).
      method: "POST", path: "/v1/environments/remove", stream: true, handle: async (body, emit) => {
        const args = { environment: text(body, "environment"), deleteData: (body as { deleteData?: unknown }).deleteData === true };
        return audit.run("env rm", args, () => removeEnvironment(engine, args, emit as (event: ProgressEvent) => void));
      },
    },
    { method: "POST", path: "/v1/status", handle: async (body) => environmentStatus(engine, optional(body, "environment").environment, canaries) },
    { method: "GET", path: "/v1/instances", handle: async () => (await environmentStatus(engine)).flatMap((environment) => environment.instances) },
    {
      method: "POST", path: "/v1/history", handle: async (body) => {
        const environment = engine.environments.get(text(body, "environment")).name;
        return engine.deployments.history(environment);
      },
    },
  ];
}

/** The strategy fields of a deploy request, checked for their types (the engine checks their values). */
function strategyRequest(body: unknown): StrategyRequest {
  const fields = body as { strategy?: unknown; batch?: unknown; canary?: { percent?: unknown; instances?: unknown; autoWindowMs?: unknown } };
  const number = (value: unknown, field: string): number => {
    if (typeof value !== "number") throw new IngotError(`Cannot use the request as ${field} is not a number`, { code: "api-bad-request", hint: "Use the ingot CLI" });
    return value;
  };
  const canary = fields.canary;
  return {
    ...(fields.strategy === undefined ? {} : { strategy: text(body, "strategy") as DeployStrategy }),
    ...(fields.batch === undefined ? {} : { batch: number(fields.batch, "batch") }),
    ...(canary === undefined ? {} : {
      canary: {
        ...(canary.percent === undefined ? {} : { percent: number(canary.percent, "canary.percent") }),
        ...(canary.instances === undefined ? {} : { instances: number(canary.instances, "canary.instances") }),
        ...(canary.autoWindowMs === undefined ? {} : { autoWindowMs: number(canary.autoWindowMs, "canary.autoWindowMs") }),
      },
    }),
  };
}

/** A rollback or promotion deploys a recorded digest: never a rebuild, so the image must still be here. */
async function assertInVault(engine: DeployEngine, digest: string, imageRef: string, action: string): Promise<void> {
  await resolveImage(engine.parts.vault, digest).catch((cause: unknown) => {
    throw new IngotError(`Cannot ${action} ${imageRef} as its image ${digest.slice(0, 19)} is no longer in the vault`, {
      code: "image-gone", hint: "Pull it again from the registry, or deploy another version", cause,
    });
  });
}
