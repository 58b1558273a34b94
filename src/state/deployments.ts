// Deploy history: one row per deploy, rollback or promotion, and at most one running per environment.
import { IngotError } from "../errors.ts";
import type { StateDatabase } from "./database.ts";
import { Environments } from "./environments.ts";

export type DeploymentState = "running" | "succeeded" | "failed" | "rolled-back";

export interface Deployment {
  id: number;
  environment: string;
  imageRef: string;
  imageDigest: string;
  strategy: string;
  state: DeploymentState;
  reason: string | null;
  /** The environment's config version the new instances were configured with. */
  configVersion: number;
  startedMs: number;
  finishedMs: number | null;
  /** A canary deploy's split, once its instances take their share of the requests. */
  canary: CanarySplit | null;
}

/** What a canary deploy runs while it waits for a promotion or an abort. */
export interface CanarySplit {
  /** Its new instances, which take the share. */
  instances: string[];
  percent: number;
  /** Per-server HAProxy weights that give the canaries their share. */
  weights: { canary: number; old: number; percent?: number };
  /** When the canaries began to take requests: the judging compares from here. */
  sinceMs: number;
  /** Judged by ingot: promoted after the window when not worse than the old version, aborted as soon as it is. */
  auto: { windowMs: number } | null;
}

interface DeploymentRow { id: number; environment: string; image_ref: string; image_digest: string; strategy: string; state: DeploymentState; reason: string | null; config_version: number; started_ms: number; finished_ms: number | null; canary: string | null }

/**
 * @example
 * const deployments = new Deployments(state);
 * const deployment = deployments.begin({ environment: "prod", imageRef: "hello:2", imageDigest, strategy: "blue-green", configVersion: 4 });
 * deployments.finish(deployment.id, "failed", "instance i-7 never became healthy: 500 from /health");
 * deployments.serving("prod"); // the last deploy that succeeded, or undefined
 */
export class Deployments {
  constructor(private readonly state: StateDatabase) {}

  /** Records a running deploy; a second one in the same environment is refused, naming the first. */
  begin(deployment: { environment: string; imageRef: string; imageDigest: string; strategy: string; configVersion: number }): Deployment {
    return this.state.transaction(() => {
      new Environments(this.state).get(deployment.environment);
      this.assertNoneRunning(deployment.environment);
      const { id } = this.state.sqlite.prepare<unknown[], { id: number }>("INSERT INTO deployments (environment, image_ref, image_digest, strategy, state, config_version, started_ms) VALUES (?, ?, ?, ?, 'running', ?, ?) RETURNING id")
        .get(deployment.environment, deployment.imageRef, deployment.imageDigest, deployment.strategy, deployment.configVersion, Date.now())!;
      return this.get(id);
    });
  }

  /** Refuses a change to an environment while a deploy runs there, naming that deploy. */
  assertNoneRunning(environment: string, action = `deploy to ${environment}`): void {
    const running = this.running(environment);
    if (running !== undefined) {
      throw new IngotError(`Cannot ${action} as deploy ${running.id} of ${running.imageRef} is running since ${new Date(running.startedMs).toISOString()}`, {
        code: "deploy-running",
        hint: "Wait for it to finish (ingot status), then try again",
      });
    }
  }

  /** Ends a running deploy; ending one twice is a programming error the engine must not hide. */
  finish(id: number, state: Exclude<DeploymentState, "running">, reason?: string): Deployment {
    const changed = this.state.sqlite.prepare("UPDATE deployments SET state = ?, reason = ?, finished_ms = ? WHERE id = ? AND state = 'running'").run(state, reason ?? null, Date.now(), id).changes;
    if (changed === 0) throw new Error(`Deploy ${id} is not running, so it cannot become ${state}`);
    return this.get(id);
  }

  /** Records a running canary's split (its instances now take their share of the requests). */
  setCanary(id: number, canary: CanarySplit): Deployment {
    const changed = this.state.sqlite.prepare("UPDATE deployments SET canary = ? WHERE id = ? AND state = 'running'").run(JSON.stringify(canary), id).changes;
    if (changed === 0) throw new Error(`Deploy ${id} is not running, so it cannot split traffic`);
    return this.get(id);
  }

  get(id: number): Deployment {
    const row = this.state.sqlite.prepare<[number], DeploymentRow>("SELECT * FROM deployments WHERE id = ?").get(id);
    if (row === undefined) throw new IngotError(`Cannot find deploy ${id} as it does not exist`, { code: "deploy-unknown", hint: "See ingot history --env ENVIRONMENT" });
    return toDeployment(row);
  }

  /** The environment's running deploy (after a crash of the server: the one to finish or undo). */
  running(environment: string): Deployment | undefined {
    const row = this.state.sqlite.prepare<[string], DeploymentRow>("SELECT * FROM deployments WHERE environment = ? AND state = 'running'").get(environment);
    return row && toDeployment(row);
  }

  /**
   * The last deploy that succeeded: what the environment serves (promote takes its digest). One from
   * before ingot env rm removed the environment is history only: it serves nothing.
   */
  serving(environment: string): Deployment | undefined {
    const row = this.state.sqlite.prepare<[{ environment: string }], DeploymentRow>(`SELECT * FROM deployments WHERE environment = @environment AND state = 'succeeded'
      AND ${SINCE_REMOVAL} ORDER BY id DESC LIMIT 1`).get({ environment });
    return row && toDeployment(row);
  }

  /**
   * The environment's deploys since ingot env rm last removed it, newest first: what promote and
   * rollback choose from. An image from before a removal ran with variables and secrets since deleted.
   */
  sinceRemoval(environment: string, limit = 1000): Deployment[] {
    return this.state.sqlite.prepare<[{ environment: string; limit: number }], DeploymentRow>(`SELECT * FROM deployments WHERE environment = @environment
      AND ${SINCE_REMOVAL} ORDER BY id DESC LIMIT @limit`).all({ environment, limit }).map(toDeployment);
  }

  /** The environment's deploys, newest first. */
  history(environment: string, limit = 50): Deployment[] {
    return this.state.sqlite.prepare<[string, number], DeploymentRow>("SELECT * FROM deployments WHERE environment = ? ORDER BY id DESC LIMIT ?").all(environment, limit).map(toDeployment);
  }
}

/** Deploys after the environment's last removal (ingot env rm); every deploy when it was never removed. */
const SINCE_REMOVAL = "id > coalesce((SELECT removed_after_deployment FROM environments WHERE name = @environment), 0)";

function toDeployment(row: DeploymentRow): Deployment {
  return {
    id: row.id, environment: row.environment, imageRef: row.image_ref, imageDigest: row.image_digest, strategy: row.strategy, state: row.state,
    reason: row.reason, configVersion: row.config_version, startedMs: row.started_ms, finishedMs: row.finished_ms,
    canary: row.canary === null ? null : JSON.parse(row.canary) as CanarySplit,
  };
}
