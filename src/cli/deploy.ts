// `ingot deploy IMAGE|DIR --env E [--strategy blue-green|rolling|canary] [--bind ADDRESS] [--json]`
// through the control plane (a folder is built first, here); `ingot deploy --env E --promote|--abort`
// ends a running canary. Progress streams step by step; a deploy that fails leaves the previous
// version serving and exits non-zero with the reason.
import { stat } from "node:fs/promises";
import { parseDuration } from "../config/schema.ts";
import type { DeployReport } from "../deploy/deploy-engine.ts";
import { DEFAULT_CANARY_WINDOW_MS, type DeployStrategy, type StrategyRequest } from "../deploy/deploy-strategy.ts";
import { IngotError } from "../errors.ts";
import { buildImage } from "../image/build.ts";
import { streamServer } from "../server/control-client.ts";
import { Vault } from "../vault/vault.ts";
import { flag, type Parsed } from "./args.ts";
import { deployProgress } from "./deploy-progress.ts";

const STRATEGIES: DeployStrategy[] = ["blue-green", "rolling", "canary"];

/**
 * @example
 * // $ ingot deploy hello:2.0.0 --env prod
 * //    0.0s  deploy 4: hello:2.0.0 (sha256:3f2a…) to prod, config v2; new i-9c1d; replacing i-3f2a
 * //    7.9s  i-9c1d booting → healthy
 * //   12.4s  hello:2.0.0 serves prod at http://127.0.0.1:8080/
 * // $ ingot deploy hello:3.0.0 --env prod --strategy canary --percent 10 --auto
 * // $ ingot deploy --env prod --promote
 */
export const deployVerb = {
  async run(args: Parsed): Promise<number> {
    const environment = flag(args, "env")!;
    const progress = deployProgress(flag(args, "json") === "true");
    const end = canaryEnd(args);
    if (end) {
      const report = await streamServer<DeployReport>("/v1/canary", { environment, action: end }, progress.event);
      return progress.finish(report, end === "promote" ? "promote the canary" : "abort the canary");
    }
    const ref = args.positionals[0];
    if (ref === undefined) throw usage("Cannot deploy without an image or a folder", `Name one: ingot deploy hello:2.0.0 --env ${environment}; or end a canary with --promote or --abort`);
    const isFolder = await stat(ref).then((info) => info.isDirectory(), () => false);
    const image = isFolder ? (await buildImage(ref, { vault: await Vault.open(), log: (line) => console.error(line) })).digest : ref;
    const bind = flag(args, "bind");
    const report = await streamServer<DeployReport>("/v1/deploy", { environment, image, ...strategyOf(args), ...(bind ? { bindAddress: bind } : {}) }, progress.event);
    return progress.finish(report, "deploy");
  },
};

function canaryEnd(args: Parsed): "promote" | "abort" | undefined {
  const promote = flag(args, "promote") === "true";
  const abort = flag(args, "abort") === "true";
  if (promote && abort) throw usage("Cannot both promote and abort a canary", "Give one of --promote and --abort");
  if ((promote || abort) && args.positionals.length > 0) throw usage(`Cannot ${promote ? "promote" : "abort"} a canary and deploy ${args.positionals[0]} at once`, "End the canary first, then deploy");
  return promote ? "promote" : abort ? "abort" : undefined;
}

/** The strategy's options as the API takes them; the server checks them against the environment. */
function strategyOf(args: Parsed): StrategyRequest {
  const strategy = flag(args, "strategy") as DeployStrategy | undefined;
  if (strategy !== undefined && !STRATEGIES.includes(strategy)) throw usage(`Cannot deploy with strategy ${strategy} as there is no such strategy`, `Use one of ${STRATEGIES.join(", ")}`);
  const batch = flag(args, "batch");
  const percent = flag(args, "percent");
  const instances = flag(args, "canary-instances");
  const auto = flag(args, "auto") === "true";
  const window = flag(args, "window");
  const windowMs = window === undefined ? undefined : parseDuration(window);
  if (window !== undefined && windowMs === undefined) throw usage(`Cannot judge a canary over ${window} as it is not a duration`, "Write --window 5m, 90s or 500ms");
  if (window !== undefined && !auto) throw usage("Cannot use --window without --auto", "Add --auto: ingot judges the canary over the window");
  const canaryAsked = percent !== undefined || instances !== undefined || auto;
  return {
    ...(strategy ? { strategy } : {}),
    ...(batch === undefined ? {} : { batch: whole(batch, "--batch") }),
    ...(canaryAsked ? {
      canary: {
        ...(percent === undefined ? {} : { percent: whole(percent, "--percent") }),
        ...(instances === undefined ? {} : { instances: whole(instances, "--canary-instances") }),
        ...(auto ? { autoWindowMs: windowMs ?? DEFAULT_CANARY_WINDOW_MS } : {}),
      },
    } : {}),
  };
}

function whole(value: string, option: string): number {
  if (!/^\d+$/.test(value)) throw usage(`Cannot read ${option} ${value} as it is not a whole number`, `Write ${option} 2`);
  return Number(value);
}

function usage(message: string, hint: string): IngotError {
  return new IngotError(message, { code: "cli-bad-value", exitCode: 2, hint });
}
