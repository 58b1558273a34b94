// The API of environments, their runtime configuration and their secrets: each route checks its
// body, calls the state, and records every change in the audit log. Secret values come in over
// the owner-only socket and never go back out.
import { IngotError } from "../errors.ts";
import { AuditLog } from "../state/audit.ts";
import { ConfigStore } from "../state/config-store.ts";
import type { StateDatabase } from "../state/database.ts";
import { Environments } from "../state/environments.ts";
import { SecretStore } from "../state/secret-store.ts";
import type { Route } from "./control-server.ts";

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

function text(body: unknown, field: string): string {
  const value = (body as Record<string, unknown> | undefined)?.[field];
  if (typeof value !== "string") throw new IngotError(`Cannot use the request as ${field} is not a string`, { code: "api-bad-request", hint: "Use the ingot CLI, or send JSON with the fields the route takes" });
  return value;
}

/** An object of strings; a list of strings becomes an object of their names (for unset). */
function strings(body: unknown, field: string): Record<string, string> {
  const value = (body as Record<string, unknown> | undefined)?.[field];
  const entries = Array.isArray(value) ? value.map((item) => [item, ""]) : Object.entries((value ?? null) as object ?? {});
  if (value === null || typeof value !== "object" || entries.some(([key, item]) => typeof key !== "string" || typeof item !== "string")) {
    throw new IngotError(`Cannot use the request as ${field} is not a list or object of strings`, { code: "api-bad-request", hint: "Use the ingot CLI" });
  }
  return Object.fromEntries(entries) as Record<string, string>;
}
