// `ingot config set|unset|ls --env E …`: an environment's runtime variables, kept by the control
// plane and passed to its instances through the metadata service at their next deploy.
import { IngotError } from "../errors.ts";
import { callServer } from "../server/control-client.ts";
import type { ConfigEntry } from "../state/config-store.ts";
import { flag, type Parsed } from "./args.ts";
import { table } from "./format.ts";

/**
 * @example
 * // $ ingot config set --env prod LOG_LEVEL=info WORKERS=4
 * // prod: config v3
 */
export const configVerb = {
  async run(args: Parsed): Promise<number> {
    const [action, ...items] = args.positionals;
    const environment = requiredEnvironment(args, "config");
    if (action === "ls" && items.length === 0) {
      const entries = await callServer<ConfigEntry[]>("POST", "/v1/config/list", { environment });
      if (flag(args, "json") === "true") console.log(JSON.stringify(entries, null, 2));
      else console.log(entries.length === 0 ? `${environment} has no runtime variables` : table([["KEY", "VALUE", "SET IN"], ...entries.map((entry) => [entry.key, entry.value, `v${entry.version}`])]));
      return 0;
    }
    if (action === "set" && items.length > 0) {
      const values = Object.fromEntries(items.map((item) => {
        const at = item.indexOf("=");
        if (at <= 0) throw new IngotError(`Cannot set ${item} as it is not KEY=VALUE`, { code: "cli-bad-variable", hint: "Write ingot config set --env E KEY=VALUE …" });
        return [item.slice(0, at), item.slice(at + 1)];
      }));
      console.log(`${environment}: config v${(await callServer<{ version: number }>("POST", "/v1/config/set", { environment, values })).version}`);
      return 0;
    }
    if (action === "unset" && items.length > 0) {
      console.log(`${environment}: config v${(await callServer<{ version: number }>("POST", "/v1/config/unset", { environment, keys: items })).version}`);
      return 0;
    }
    throw new IngotError(`Cannot run ingot config ${args.positionals.join(" ")} as it is not a config command`, {
      code: "cli-unknown-command", hint: "Write ingot config set --env E KEY=VALUE …, ingot config unset --env E KEY …, or ingot config ls --env E",
    });
  },
};

/** The --env every environment verb needs (declared required, so missing only where a verb forgot to). */
export function requiredEnvironment(args: Parsed, verb: string): string {
  const environment = flag(args, "env");
  if (!environment) throw new IngotError(`Cannot run ingot ${verb} as it needs --env`, { code: "cli-missing-env", hint: "Name the environment, e.g. --env prod; ingot env ls lists them" });
  return environment;
}
