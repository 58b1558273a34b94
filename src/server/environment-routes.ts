// The API of environments, their runtime configuration and their secrets: each route checks its
// body, calls the state, and records every change in the audit log. Secret values come in over
// the owner-only socket and never go back out.
import { AuditLog } from "../state/audit.ts";
import { ConfigStore } from "../state/config-store.ts";
import type { StateDatabase } from "../state/database.ts";
import { Environments } from "../state/environments.ts";
import { SecretStore } from "../state/secret-store.ts";
import type { Route } from "./control-server.ts";
import { strings, text } from "./request-fields.ts";

/**
 * @example
 * await ControlServer.start({ routes: environmentRoutes(StateDatabase.open()) });
 */
export function environmentRoutes(state: StateDatabase): Route[] {
  const environments = new Environments(state);
  const config = new ConfigStore(state);
  const secrets = new SecretStore(state);
  const audit = new AuditLog(state);
  return [
    { method: "GET", path: "/v1/environments", handle: async () => environments.list() },
    { method: "POST", path: "/v1/config/list", handle: async (body) => config.list(text(body, "environment")) },
    {
      method: "POST", path: "/v1/config/set", handle: async (body) => {
        const args = { environment: text(body, "environment"), values: strings(body, "values") };
        return { version: await audit.run("config set", args, () => config.set(args.environment, args.values)) };
      },
    },
    {
      method: "POST", path: "/v1/config/unset", handle: async (body) => {
        const args = { environment: text(body, "environment"), keys: Object.keys(strings(body, "keys")) };
        return { version: await audit.run("config unset", args, () => config.unset(args.environment, args.keys)) };
      },
    },
    { method: "POST", path: "/v1/secrets/list", handle: async (body) => secrets.list(text(body, "environment")) },
    {
      method: "POST", path: "/v1/secrets/set", handle: async (body) => {
        const args = { environment: text(body, "environment"), name: text(body, "name"), value: text(body, "value") };
        return { version: await audit.run("secret set", args, () => secrets.set(args.environment, args.name, args.value)) };
      },
    },
    {
      method: "POST", path: "/v1/secrets/rm", handle: async (body) => {
        const args = { environment: text(body, "environment"), name: text(body, "name") };
        return { version: await audit.run("secret rm", args, () => secrets.remove(args.environment, args.name)) };
      },
    },
  ];
}
