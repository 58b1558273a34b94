// `ingot stop --env E`: drains and stops every instance of the environment; its entry point stays
// on its port and answers 503 naming the environment until the next deploy.
import { streamServer } from "../server/control-client.ts";
import { flag, type Parsed } from "./args.ts";
import { deployProgress } from "./deploy-progress.ts";

export const stopVerb = {
  async run(args: Parsed): Promise<number> {
    const environment = flag(args, "env")!;
    const json = flag(args, "json") === "true";
    const progress = deployProgress(json);
    const { stopped } = await streamServer<{ stopped: string[] }>("/v1/environments/stop", { environment }, progress.event);
    console.log(json ? JSON.stringify({ stopped }) : `stopped ${stopped.length} instance${stopped.length === 1 ? "" : "s"} of ${environment}${stopped.length ? `: ${stopped.join(", ")}` : ""}`);
    return 0;
  },
};
