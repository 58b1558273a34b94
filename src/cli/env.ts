// `ingot env ls [--json]`: the environments, their entry point and configuration version.
// `ingot env rm NAME [--delete-data] [--json]`: removes what an environment runs and holds, so that
// its next deploy starts it afresh (environment-removal.ts); its history stays.
import type { EnvironmentRemoval } from "../deploy/environment-removal.ts";
import { IngotError } from "../errors.ts";
import { callServer, streamServer } from "../server/control-client.ts";
import type { Environment } from "../state/environments.ts";
import { flag, type Parsed } from "./args.ts";
import { deployProgress } from "./deploy-progress.ts";
import { table } from "./format.ts";

/**
 * @example
 * // $ ingot env ls
 * // NAME  ENTRY POINT     CONFIG
 * // dev   -               v0
 * // prod  127.0.0.1:8080  v3
 * // $ ingot env rm dev --delete-data
 * // dev: stopped 1 instance (i-3f2a); ended its entry point at http://127.0.0.1:8080/; removed accessory db (postgres), its data deleted; deleted 2 variables and 1 secret
 */
export const envVerb = {
  async run(args: Parsed): Promise<number> {
    const [action, name, ...rest] = args.positionals;
    const json = flag(args, "json") === "true";
    if ((action === "ls" || action === undefined) && name === undefined) {
      const environments = await callServer<Environment[]>("GET", "/v1/environments");
      if (json) console.log(JSON.stringify(environments, null, 2));
      else console.log(table([
        ["NAME", "ENTRY POINT", "CONFIG"],
        ...environments.map((environment) => [environment.name, environment.entryPort === null ? "-" : `${environment.bindAddress}:${environment.entryPort}`, `v${environment.configVersion}`]),
      ]));
      return 0;
    }
    if (action === "rm" && name !== undefined && rest.length === 0) {
      // With --json the answer is one object: the instances' progress is for the terminal only.
      const progress = json ? () => {} : deployProgress(false).event;
      const removal = await streamServer<EnvironmentRemoval>("/v1/environments/remove", { environment: name, deleteData: flag(args, "delete-data") === "true" }, progress);
      console.log(json ? JSON.stringify(removal, null, 2) : removalSummary(removal));
      return 0;
    }
    throw new IngotError(`Cannot run ingot env ${args.positionals.join(" ")} as it is not an env command`, { code: "cli-unknown-command", hint: "Write ingot env ls, or ingot env rm NAME [--delete-data]" });
  },
};

/** One line, each part saying what went: "dev: stopped 1 instance (i-3f2a); ended its entry point at …". */
export function removalSummary(removal: EnvironmentRemoval): string {
  const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? "" : "s"}`;
  const parts = [
    `stopped ${count(removal.instances.length, "instance")}${removal.instances.length ? ` (${removal.instances.join(", ")})` : ""}`,
    removal.entryPoint ? `ended its entry point at ${removal.entryPoint.url}` : "no entry point ran",
    ...removal.accessories.map((accessory) => `removed accessory ${accessory.name} (${accessory.kind}), ${accessory.dataKept ? `its data kept in ${accessory.dataDir}` : "its data deleted"}`),
    `deleted ${count(removal.variables, "variable")} and ${count(removal.secrets, "secret")}`,
  ];
  const after = removal.forgotten ? `${removal.environment} is forgotten; declaring it in ingot.yaml and deploying creates it again` : `its next deploy starts ${removal.environment} afresh`;
  return `${removal.environment}: ${parts.join("; ")}\n${after}`;
}
