// `ingot ps [--json]`: every running instance the control plane holds, across environments.
import type { InstanceStatus } from "../server/environment-status.ts";
import { callServer } from "../server/control-client.ts";
import { flag, type Parsed } from "./args.ts";
import { formatDuration, table } from "./format.ts";

export const psVerb = {
  async run(args: Parsed): Promise<number> {
    const instances = await callServer<InstanceStatus[]>("GET", "/v1/instances");
    if (flag(args, "json") === "true") {
      console.log(JSON.stringify(instances, null, 2));
      return 0;
    }
    console.log(table([
      ["ID", "ENV", "STATE", "IMAGE", "UPTIME", "PID", "PORT", "ENTRY"],
      ...instances.map((instance) => [instance.id, instance.environment ?? "-", instance.state, instance.image, formatDuration(instance.uptimeMs), String(instance.pid ?? "-"), String(instance.port ?? "-"), instance.entry?.state ?? "-"]),
    ]));
    return 0;
  },
};
