// The API of ingot scale: sets an environment's capacity and streams the instances it starts or
// stops; recorded in the audit log. The keeper does the work (scale.ts).
import type { CapacityKeeper } from "../deploy/capacity-keeper.ts";
import type { DeployEngine } from "../deploy/deploy-engine.ts";
import { type ScaleEvent, scaleEnvironment } from "../deploy/scale.ts";
import { IngotError } from "../errors.ts";
import { AuditLog } from "../state/audit.ts";
import type { Route } from "./control-server.ts";
import { text } from "./request-fields.ts";

/**
 * @example
 * await ControlServer.start({ routes: [...deployRoutes(engine), ...scaleRoutes(engine, keeper)] });
 */
export function scaleRoutes(engine: DeployEngine, keeper: CapacityKeeper): Route[] {
  const audit = new AuditLog(engine.parts.state);
  return [
    {
      method: "POST", path: "/v1/scale", stream: true, handle: async (body, emit) => {
        const args = { environment: text(body, "environment"), instances: instancesField(body) };
        return audit.run("scale", args, () => scaleEnvironment(engine, keeper, args, emit as (event: ScaleEvent) => void));
      },
    },
  ];
}

/** A number, or null for the image's; the range is checked by scale itself, with its hint. */
function instancesField(body: unknown): number | null {
  const value = (body as Record<string, unknown> | undefined)?.instances;
  if (value === null || typeof value === "number") return value;
  throw new IngotError("Cannot use the request as instances is neither a number nor null", { code: "api-bad-request", hint: "Use the ingot CLI, or send JSON with the fields the route takes" });
}
