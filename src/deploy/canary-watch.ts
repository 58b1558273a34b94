// The canaries of every environment, watched: their requests and the old version's since the split,
// counted from the entry point's access log (CanaryStats), shown by `ingot status`, and, for a canary
// deployed with --auto, judged every second: aborted as soon as it is worse than the old version
// beyond the tolerance, promoted once its window is over. The verdict is recorded with its figures.
// Everything is read from the state and the log store, so a restarted server judges a canary from
// its split on, as the last one did.
import type { LogStore } from "../logs/log-store.ts";
import type { Deployment } from "../state/deployments.ts";
import { type CanaryJudgement, DEFAULT_CANARY_POLICY, judgeCanary, type VersionRequests } from "./canary-judge.ts";
import { CanaryStats } from "./canary-stats.ts";
import type { DeployEngine } from "./deploy-engine.ts";

/** What `ingot status` shows of a running canary. */
export interface CanaryView {
  percent: number;
  instances: string[];
  sinceMs: number;
  /** Judged by ingot: the window and how much of it is left. */
  auto: { windowMs: number; leftMs: number } | null;
  /** Both versions since the split; absent without the log store. */
  versions?: { old: VersionRequests; canary: VersionRequests };
  /** The last judgement of an automatic canary. */
  judgement?: Pick<CanaryJudgement, "verdict" | "reason">;
}

/** How often an automatic canary is judged: a failing one is aborted within about this long of its evidence. */
const JUDGE_EVERY_MS = 1_000;

/**
 * @example
 * const watch = new CanaryWatch(engine, logService?.store, log);
 * watch.start();
 * watch.view("prod"); // { percent: 25, versions: { old: { requests: 1500, … }, canary: { requests: 500, … } }, … }
 */
export class CanaryWatch {
  /** Per running canary deploy, its requests followed from the split on (once the stored ones are read back). */
  readonly #stats = new Map<number, Promise<CanaryStats>>();
  readonly #judgements = new Map<number, CanaryJudgement>();
  readonly #ending = new Set<number>();
  #timer: NodeJS.Timeout | undefined;
  /** A judging round still reading back: the next tick waits for the one after. */
  #judging = false;

  constructor(private readonly engine: DeployEngine, private readonly store: Pick<LogStore, "query" | "subscribe"> | undefined, private readonly log: (line: string) => void) {}

  start(): void {
    this.#timer = setInterval(() => {
      if (this.#judging) return;
      this.#judging = true;
      void this.#judgeAll().catch((error: unknown) => this.log(`cannot judge the canaries: ${(error as Error).message}`)).finally(() => { this.#judging = false; });
    }, JUDGE_EVERY_MS);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
    for (const stats of this.#stats.values()) void stats.then((done) => done.close(), () => {});
    this.#stats.clear();
  }

  /** The environment's running canary with both versions' figures, or undefined when none runs. */
  async view(environment: string): Promise<CanaryView | undefined> {
    const deployment = this.engine.deployments.running(environment);
    const canary = deployment?.canary;
    if (!deployment || !canary) return undefined;
    const versions = await this.#versions(deployment);
    const judgement = this.#judgements.get(deployment.id);
    return {
      percent: canary.percent, instances: canary.instances, sinceMs: canary.sinceMs,
      auto: canary.auto ? { windowMs: canary.auto.windowMs, leftMs: Math.max(0, canary.sinceMs + canary.auto.windowMs - Date.now()) } : null,
      ...(versions ? { versions } : {}),
      ...(judgement ? { judgement: { verdict: judgement.verdict, reason: judgement.reason } } : {}),
    };
  }

  async #judgeAll(): Promise<void> {
    const running = new Set<number>();
    for (const environment of this.engine.environments.list()) {
      const deployment = this.engine.deployments.running(environment.name);
      if (!deployment?.canary) continue;
      running.add(deployment.id);
      if (deployment.canary.auto && !this.#ending.has(deployment.id)) await this.#judge(deployment);
    }
    // Deploys that ended (promoted, aborted, undone) stop being followed.
    for (const [id, stats] of this.#stats) {
      if (running.has(id)) continue;
      void stats.then((done) => done.close(), () => {});
      this.#stats.delete(id);
      this.#judgements.delete(id);
    }
  }

  async #judge(deployment: Deployment): Promise<void> {
    const canary = deployment.canary!;
    const versions = await this.#versions(deployment);
    if (!versions) return;
    const policy = { ...DEFAULT_CANARY_POLICY, windowMs: canary.auto!.windowMs };
    const judgement = judgeCanary({ ...versions, policy, elapsedMs: Date.now() - canary.sinceMs });
    this.#judgements.set(deployment.id, judgement);
    if (judgement.verdict === "wait") return;
    this.#ending.add(deployment.id);
    this.engine.events.append({ kind: "canary-judged", environment: deployment.environment, deployment: deployment.id, data: { ...judgement } });
    this.log(`${deployment.environment}: ingot's judge ${judgement.verdict === "promote" ? "promotes" : "aborts"} canary deploy ${deployment.id}: ${judgement.reason}`);
    void this.engine.endCanary(deployment.environment, judgement.verdict, `judged by ingot: ${judgement.reason}`)
      .catch((error: unknown) => this.log(`${deployment.environment}: cannot ${judgement.verdict} canary deploy ${deployment.id}: ${(error as Error).message}`))
      .finally(() => this.#ending.delete(deployment.id));
  }

  /** Both versions' requests since the split: the canary's instances against every other instance of the environment. */
  async #versions(deployment: Deployment): Promise<{ old: VersionRequests; canary: VersionRequests } | undefined> {
    const stats = await this.#statsOf(deployment);
    if (!stats) return undefined;
    const canaries = new Set(deployment.canary!.instances);
    const old = [...stats.byInstance().keys()].filter((instance) => !canaries.has(instance));
    const serving = this.engine.deployments.serving(deployment.environment);
    return {
      old: { version: serving?.imageRef ?? "the old version", ...stats.version(old) },
      canary: { version: deployment.imageRef, ...stats.version([...canaries]) },
    };
  }

  /**
   * The deploy's requests since the split. The stored ones are read back a page per turn of the
   * event loop (a long canary's, after a restart, are many), so the server answers meanwhile.
   */
  #statsOf(deployment: Deployment): Promise<CanaryStats> | undefined {
    const entry = this.engine.parts.entryPoints.get(deployment.environment);
    if (!this.store || !entry) return undefined;
    let stats = this.#stats.get(deployment.id);
    if (!stats) {
      stats = CanaryStats.followInTurns(this.store, { environment: deployment.environment, sinceMs: deployment.canary!.sinceMs, slotHolders: () => entry.slotHolders() });
      this.#stats.set(deployment.id, stats);
    }
    return stats;
  }
}
