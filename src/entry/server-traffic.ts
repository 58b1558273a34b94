// The responses each instance of an entry point sent, by class, from HAProxy's `show stat`. HAProxy
// counts per server slot from its start and never resets a slot's counters, while a freed slot is
// taken again by a later instance: so figures are deltas between two snapshots, each slot with the
// instance that held it, and an instance is counted only where its slot's delta is its own.
import type { EntryPoint } from "./entry-point.ts";
import { serverRows } from "./server-status.ts";

export const RESPONSE_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"] as const;
export type ResponseClass = (typeof RESPONSE_CLASSES)[number];
export type ResponseCounts = Record<ResponseClass, number>;

/** One server slot's counters at a moment, with the instance that held it then (none for a free slot). */
export interface SlotCounters { slot: string; holder: string | undefined; responses: ResponseCounts }

/** Every slot of a backend at one moment: free ones too, as an instance added later takes one of them. */
export interface TrafficSnapshot { takenAtMs: number; slots: SlotCounters[] }

export interface InstanceTraffic {
  instance: string;
  slot: string;
  responses: ResponseCounts;
  /** All responses, the classes summed. */
  total: number;
  /** HAProxy was started again between the snapshots (its counters began again at 0): only responses since then are counted. */
  restarted: boolean;
}

/** Instances held at the later snapshot whose responses cannot be told from a previous holder's of the slot. */
export interface UncountedInstance { instance: string; slot: string; reason: string }

export interface TrafficSince { sinceMs: number; untilMs: number; instances: InstanceTraffic[]; uncounted: UncountedInstance[] }

/**
 * Reads the snapshot of a backend from `show stat`'s CSV, by column names (serverRows).
 *
 * @example
 * trafficSnapshot(await entry.api.command("show stat"), "prod", new Map([["slot1", "web-1"]]), Date.now());
 * // { takenAtMs: …, slots: [{ slot: "slot1", holder: "web-1", responses: { "1xx": 0, "2xx": 120, …, "5xx": 3, other: 0 } }, { slot: "slot2", holder: undefined, … }, …] }
 */
export function trafficSnapshot(csv: string, backend: string, holders: ReadonlyMap<string, string>, takenAtMs: number): TrafficSnapshot {
  const slots = serverRows(csv, backend).map((column) => {
    const slot = column("svname");
    const responses = Object.fromEntries(RESPONSE_CLASSES.map((name) => [name, Number(column(`hrsp_${name}`)) || 0])) as ResponseCounts;
    return { slot, holder: holders.get(slot), responses };
  });
  return { takenAtMs, slots };
}

/**
 * What each instance held at `now` answered since `baseline`. An instance on the slot it held at
 * the baseline, or on a slot that was free then, is counted; one on a slot another instance held
 * at the baseline is left uncounted, as the delta mixes both. One limit: a slot taken and freed
 * between the snapshots and taken again is counted whole for its last holder; ingot takes a slot
 * freed since the baseline only after every other free one, so that needs some 80 instances added.
 *
 * @example
 * const baseline = await readTraffic(entry);
 * // … requests …
 * trafficSince(baseline, await readTraffic(entry)).instances;
 * // [{ instance: "web-1", slot: "slot1", responses: { "2xx": 97, "5xx": 3, … }, total: 100, restarted: false }, …]
 */
export function trafficSince(baseline: TrafficSnapshot, now: TrafficSnapshot): TrafficSince {
  const before = new Map(baseline.slots.map((slot) => [slot.slot, slot]));
  const instances: InstanceTraffic[] = [];
  const uncounted: UncountedInstance[] = [];
  for (const { slot, holder, responses } of now.slots) {
    if (holder === undefined) continue;
    const then = before.get(slot);
    if (then?.holder !== undefined && then.holder !== holder) {
      uncounted.push({ instance: holder, slot, reason: `${slot} was ${then.holder}'s when counting began: its responses since are both's` });
      continue;
    }
    const start = then?.responses ?? zeroCounts();
    // Counters never go down but when HAProxy starts again; then they count from that start.
    const restarted = RESPONSE_CLASSES.some((name) => responses[name] < start[name]);
    const delta = Object.fromEntries(RESPONSE_CLASSES.map((name) => [name, restarted ? responses[name] : responses[name] - start[name]])) as ResponseCounts;
    instances.push({ instance: holder, slot, responses: delta, total: RESPONSE_CLASSES.reduce((sum, name) => sum + delta[name], 0), restarted });
  }
  return { sinceMs: baseline.takenAtMs, untilMs: now.takenAtMs, instances, uncounted };
}

/**
 * Snapshots an entry point's counters now, its slots named by the instances that hold them.
 *
 * @example
 * const baseline = await readTraffic(entry); // at a canary's start, before its weights are set
 */
export async function readTraffic(entry: Pick<EntryPoint, "api" | "backend" | "slotHolders">): Promise<TrafficSnapshot> {
  // The holders first: a slot taken while show stat is read then counts as free at this snapshot.
  const holders = new Map(entry.slotHolders());
  return trafficSnapshot(await entry.api.command("show stat"), entry.backend, holders, Date.now());
}

export function zeroCounts(): ResponseCounts {
  return { "1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0, other: 0 };
}
