// The API of ingot accessory: add, list, remove an environment's accessories, read their logs, and
// hand the CLI what it needs to run psql against one. Changes are recorded in the audit log; the
// password goes out only over the owner-only socket, to the owner's psql.
import type { Accessories } from "../accessory/accessories.ts";
import type { LiveInstances } from "../instance/live-instances.ts";
import { AuditLog } from "../state/audit.ts";
import type { StateDatabase } from "../state/database.ts";
import type { Route } from "./control-server.ts";
import { list, optional, text } from "./request-fields.ts";

/**
 * @example
 * await ControlServer.start({ routes: accessoryRoutes(state, accessories, live) });
 */
export function accessoryRoutes(state: StateDatabase, accessories: Accessories, live: LiveInstances): Route[] {
  const audit = new AuditLog(state);
  return [
    { method: "POST", path: "/v1/accessories/list", handle: async (body) => accessories.list(optional(body, "environment").environment) },
    {
      method: "POST", path: "/v1/accessories/add", handle: async (body) => {
        const args = { environment: text(body, "environment"), kind: text(body, "kind"), ...optional(body, "name") };
        return audit.run("accessory add", args, () => accessories.add(args.environment, args.kind, args.name));
      },
    },
    {
      method: "POST", path: "/v1/accessories/rm", handle: async (body) => {
        const args = { environment: text(body, "environment"), name: text(body, "name"), deleteData: (body as { deleteData?: unknown }).deleteData === true };
        return audit.run("accessory rm", args, () => accessories.remove(args.environment, args.name, { deleteData: args.deleteData, runningInstances: live.in(args.environment).length }));
      },
    },
    {
      method: "POST", path: "/v1/accessories/logs", handle: async (body) => {
        const lines = (body as { lines?: unknown }).lines;
        return accessories.logs(text(body, "environment"), text(body, "name"), typeof lines === "number" ? lines : 100);
      },
    },
    {
      method: "POST", path: "/v1/accessories/psql", handle: async (body) => {
        const args = { environment: text(body, "environment"), name: text(body, "name") };
        return audit.run("accessory psql", args, () => accessories.psql(args.environment, args.name, list(body, "args")));
      },
    },
  ];
}
