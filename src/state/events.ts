// The event history: typed progress and state changes, stored as the terminal and the log store see them.
import type { StateDatabase } from "./database.ts";

export interface EventRecord {
  id: number;
  timeMs: number;
  environment: string | null;
  instance: string | null;
  deployment: number | null;
  kind: string;
  data: Record<string, unknown>;
}

/** Which events: each field given narrows the list. */
export interface EventFilter { environment?: string; deployment?: number; kind?: string; sinceMs?: number }

export type NewEvent = { kind: string; environment?: string; instance?: string; deployment?: number; data?: Record<string, unknown>; timeMs?: number };

interface EventRow { id: number; time_ms: number; environment: string | null; instance: string | null; deployment: number | null; kind: string; data: string }

/**
 * Append-only; ids increase, so a reader follows the history by asking for events after the last id
 * it saw.
 *
 * @example
 * const events = new EventLog(state);
 * events.append({ kind: "instance-state", environment: "prod", instance: "i-7f3a", data: { state: "healthy", was: "booting" } });
 * events.list({ deployment: 12 }); // a deploy's steps, oldest first
 */
export class EventLog {
  constructor(private readonly state: StateDatabase) {}

  append(event: NewEvent): number {
    return this.state.sqlite.prepare<unknown[], { id: number }>("INSERT INTO events (time_ms, environment, instance, deployment, kind, data) VALUES (?, ?, ?, ?, ?, ?) RETURNING id")
      .get(event.timeMs ?? Date.now(), event.environment ?? null, event.instance ?? null, event.deployment ?? null, event.kind, JSON.stringify(event.data ?? {}))!.id;
  }

  /** Events oldest first, filtered by environment, deployment, kind and/or time, after an id (to follow). */
  list(filter: EventFilter & { afterId?: number; limit?: number } = {}): EventRecord[] {
    return this.#select(filter, filter.afterId ?? 0, "ASC", filter.limit ?? 1000);
  }

  /** The newest `count` events that match, oldest first (`ingot events -n 50`). */
  latest(filter: EventFilter, count: number): EventRecord[] {
    return this.#select(filter, 0, "DESC", count).reverse();
  }

  #select(filter: EventFilter, afterId: number, order: "ASC" | "DESC", limit: number): EventRecord[] {
    // Only the filters given become conditions, so SQLite can use the per-environment or per-deployment index.
    const conditions: [string, unknown][] = [["id > ?", afterId]];
    if (filter.environment !== undefined) conditions.push(["environment = ?", filter.environment]);
    if (filter.deployment !== undefined) conditions.push(["deployment = ?", filter.deployment]);
    if (filter.kind !== undefined) conditions.push(["kind = ?", filter.kind]);
    if (filter.sinceMs !== undefined) conditions.push(["time_ms >= ?", filter.sinceMs]);
    const rows = this.state.sqlite.prepare<unknown[], EventRow>(`SELECT * FROM events WHERE ${conditions.map(([sql]) => sql).join(" AND ")} ORDER BY id ${order} LIMIT ?`)
      .all(...conditions.map(([, value]) => value), limit);
    return rows.map((row) => ({ id: row.id, timeMs: row.time_ms, environment: row.environment, instance: row.instance, deployment: row.deployment, kind: row.kind, data: JSON.parse(row.data) as Record<string, unknown> }));
  }
}
