// `ingot env ls [--json]`: the environments, their entry point and configuration version.
import { IngotError } from "../errors.ts";
import { callServer } from "../server/control-client.ts";
import type { Environment } from "../state/environments.ts";
import { flag, type Parsed } from "./args.ts";
import { table } from "./format.ts";

/**
 * @example
 * // $ ingot env ls
 * // NAME  ENTRY POINT     CONFIG
 * // dev   -               v0
 * // prod  127.0.0.1:8080  v3
 */
export const envVerb = {
  async run(args: Parsed): Promise<number> {
    if (args.positionals.join(" ") !== "ls") {
      throw new IngotError(`Cannot run ingot env ${args.positionals.join(" ")} as it is not an env command`, { code: "cli-unknown-command", hint: "Write ingot env ls" });
    }
    const environments = await callServer<Environment[]>("GET", "/v1/environments");
    if (flag(args, "json") === "true") {
      console.log(JSON.stringify(environments, null, 2));
      return 0;
    }
    console.log(table([
      ["NAME", "ENTRY POINT", "CONFIG"],
      ...environments.map((environment) => [environment.name, environment.entryPort === null ? "-" : `${environment.bindAddress}:${environment.entryPort}`, `v${environment.configVersion}`]),
    ]));
    return 0;
  },
};
