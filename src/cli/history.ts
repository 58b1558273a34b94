// `ingot history --env E [--json]`: the environment's deploys, rollbacks and promotions, newest first,
// with how each ended and why.
import type { Deployment } from "../state/deployments.ts";
import { callServer } from "../server/control-client.ts";
import { flag, type Parsed } from "./args.ts";
import { formatDuration, table } from "./format.ts";

export const historyVerb = {
  async run(args: Parsed): Promise<number> {
    const environment = flag(args, "env")!;
    const deployments = await callServer<Deployment[]>("POST", "/v1/history", { environment });
    if (flag(args, "json") === "true") {
      console.log(JSON.stringify(deployments, null, 2));
      return 0;
    }
    console.log(table([
      ["ID", "STARTED", "IMAGE", "DIGEST", "STRATEGY", "CONFIG", "TOOK", "STATE", "REASON"],
      ...deployments.map((deployment) => [
        String(deployment.id), new Date(deployment.startedMs).toISOString().replace("T", " ").slice(0, 19), deployment.imageRef, deployment.imageDigest.slice(0, 19),
        deployment.strategy, `v${deployment.configVersion}`, deployment.finishedMs ? formatDuration(deployment.finishedMs - deployment.startedMs) : "-", deployment.state, deployment.reason ?? "",
      ]),
    ]));
    return 0;
  },
};
