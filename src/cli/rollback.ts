// `ingot rollback --env E [--to VERSION] [--json]`: a blue/green deploy of an earlier image of the
// environment that is still in the vault (the previous one that succeeded, or VERSION).
import type { DeployReport } from "../deploy/deploy-engine.ts";
import { streamServer } from "../server/control-client.ts";
import { allowOnly, flag, type Parsed } from "./args.ts";
import { requiredFlag } from "./deploy.ts";
import { deployProgress } from "./deploy-progress.ts";

export const rollbackVerb = {
  summary: "deploy the environment's previous image again (or --to VERSION)",
  async run(args: Parsed): Promise<number> {
    allowOnly(args, "rollback", ["env", "to", "json"]);
    const environment = requiredFlag(args, "env", "rollback", "--env prod");
    const to = flag(args, "to");
    const progress = deployProgress(flag(args, "json") === "true");
    const report = await streamServer<DeployReport>("/v1/rollback", { environment, ...(to ? { to } : {}) }, progress.event);
    return progress.finish(report, "roll back to");
  },
};
