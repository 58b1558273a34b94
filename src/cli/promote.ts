// `ingot promote --from test --to prod [--force] [--json]`: deploys the very digest that serves one
// environment to the next; never a rebuild. An image that never became healthy in --from is refused.
import type { DeployReport } from "../deploy/deploy-engine.ts";
import { streamServer } from "../server/control-client.ts";
import { flag, type Parsed } from "./args.ts";
import { deployProgress } from "./deploy-progress.ts";

export const promoteVerb = {
  async run(args: Parsed): Promise<number> {
    const from = flag(args, "from")!;
    const to = flag(args, "to")!;
    const progress = deployProgress(flag(args, "json") === "true");
    const report = await streamServer<DeployReport>("/v1/promote", { from, to, force: flag(args, "force") === "true" }, progress.event);
    return progress.finish(report, "promote");
  },
};
