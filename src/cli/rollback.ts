// `ingot rollback --env E [--to VERSION] [--json]`: a blue/green deploy of an earlier image of the
// environment that is still in the vault (the previous one that succeeded, or VERSION).
import type { DeployReport } from "../deploy/deploy-engine.ts";
import { streamServer } from "../server/control-client.ts";
import { flag, type Parsed } from "./args.ts";
import { deployProgress } from "./deploy-progress.ts";

export const rollbackVerb = {
  async run(args: Parsed): Promise<number> {
    const environment = flag(args, "env")!;
    const to = flag(args, "to");
    const progress = deployProgress(flag(args, "json") === "true");
    const report = await streamServer<DeployReport>("/v1/rollback", { environment, ...(to ? { to } : {}) }, progress.event);
    return progress.finish(report, "roll back to");
  },
};
