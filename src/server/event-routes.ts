// The API of an environment's event log (deploy steps, instance state changes, replacements, a
// crash loop): the newest events, or those and then each new one as it is recorded, until the
// client goes away.
import { setTimeout as sleep } from "node:timers/promises";
import { IngotError } from "../errors.ts";
import type { EventLog } from "../state/events.ts";
import type { Environments } from "../state/environments.ts";
import type { Route } from "./control-server.ts";
import { text } from "./request-fields.ts";

/** How often a follow looks for new events: every writer is in this process, but several hold their own EventLog. */
const FOLLOW_POLL_MS = 250;

/**
 * @example
 * await ControlServer.start({ routes: eventRoutes(engine.events, engine.environments) });
 * // POST /v1/events { "environment": "prod", "limit": 50 } → the 50 newest events, oldest first
 */
export function eventRoutes(events: EventLog, environments: Environments): Route[] {
  const request = (body: unknown): { environment: string; limit: number } => {
    const limit = (body as { limit?: unknown } | undefined)?.limit ?? 50;
    if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 0) {
      throw new IngotError("Cannot use the request as limit is not a whole number", { code: "api-bad-request", hint: "Use the ingot CLI: ingot events --env E -n 50" });
    }
    return { environment: environments.get(text(body, "environment")).name, limit };
  };
  return [
    { method: "POST", path: "/v1/events", handle: async (body) => { const { environment, limit } = request(body); return events.latest({ environment }, limit); } },
    {
      method: "POST", path: "/v1/events/follow", stream: true, handle: async (body, emit, signal) => {
        const { environment, limit } = request(body);
        let lastId = 0;
        const send = (found: ReturnType<EventLog["list"]>): void => {
          for (const event of found) emit(event);
          lastId = found.at(-1)?.id ?? lastId;
        };
        // The newest first, then from the newest id on (an empty log follows from its start).
        send(events.latest({ environment }, limit));
        lastId ||= events.latest({ environment }, 1).at(-1)?.id ?? 0;
        while (!signal.aborted) {
          await sleep(FOLLOW_POLL_MS, undefined, { signal }).catch(() => {});
          if (!signal.aborted) send(events.list({ environment, afterId: lastId }));
        }
        return { followed: true };
      },
    },
  ];
}
