// `ingot promote --from test --to prod [--force] [--json]`: deploys the very digest that serves one
// environment to the next; never a rebuild. An image that never became healthy in --from is refused.
import type { DeployReport } from "../deploy/deploy-engine.ts";
import { streamServer } from "../server/control-client.ts";
import { allowOnly, flag, type Parsed } from "./args.ts";
import { requiredFlag } from "./deploy.ts";
import { deployProgress } from "./deploy-progress.ts";

export const promoteVerb = {
  summary: "deploy the image that serves one environment to another, by digest",
  async run(args: Parsed): Promise<number> {
    allowOnly(args, "promote", ["from", "to", "force", "json"]);
    const from = requiredFlag(args, "from", "promote", "--from test --to prod");
    const to = requiredFlag(args, "to", "promote", "--from test --to prod");
    const progress = deployProgress(flag(args, "json") === "true");
    const report = await streamServer<DeployReport>("/v1/promote", { from, to, force: flag(args, "force") === "true" }, progress.event);
    return progress.finish(report, "promote");
  },
};
