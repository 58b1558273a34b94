// `ingot stop --env E`: drains and stops every instance of the environment; its entry point stays
// on its port and answers 503 naming the environment until the next deploy.
import { streamServer } from "../server/control-client.ts";
import { allowOnly, flag, type Parsed } from "./args.ts";
import { requiredFlag } from "./deploy.ts";
import { deployProgress } from "./deploy-progress.ts";

export const stopVerb = {
  summary: "stop an environment's instances (its entry point answers 503)",
  async run(args: Parsed): Promise<number> {
    allowOnly(args, "stop", ["env", "json"]);
    const environment = requiredFlag(args, "env", "stop", "--env prod");
    const json = flag(args, "json") === "true";
    const progress = deployProgress(json);
    const { stopped } = await streamServer<{ stopped: string[] }>("/v1/environments/stop", { environment }, progress.event);
    console.log(json ? JSON.stringify({ stopped }) : `stopped ${stopped.length} instance${stopped.length === 1 ? "" : "s"} of ${environment}${stopped.length ? `: ${stopped.join(", ")}` : ""}`);
    return 0;
  },
};
