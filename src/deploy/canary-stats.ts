// The requests each instance of an environment answered since a canary started, from the entry
// point's access log in the log store: read back from the store first (a control plane started
// again judges a canary from its start, not from its own), then followed as lines are written.
// HAProxy's `show stat` counts too, but keeps no percentile: the access log has each request's time.
import { accessRecord } from "../entry/access-record.ts";
import type { LogStore } from "../logs/log-store.ts";
import type { StoredLine } from "../logs/log-query.ts";
import { type RequestFigures, RequestTally } from "./request-tally.ts";

/** Lines read back from the store at a time (in followInTurns, one page a turn of the event loop: some 90 ms on a loaded host). */
const READ_BACK_PAGE_LINES = 5_000;

export interface CanaryStatsOptions {
  environment: string;
  /** Requests logged from this time on (ms, HAProxy's clock: a request is logged when it ends) are counted. */
  sinceMs: number;
  /**
   * Slot → the instance that holds it (EntryPoint.slotHolders), asked once per batch of lines as
   * they are counted; a request of a slot it lacks (a free one, `<NOSRV>`) is no instance's.
   * Requests read back after a restart are given to the slots' holders then: a slot that changed
   * hands since the canary started gives its earlier requests to its new holder.
   */
  slotHolders: () => ReadonlyMap<string, string>;
}

/**
 * @example
 * const stats = CanaryStats.follow(logStore, { environment: "prod", sinceMs: canaryStartedAt, slotHolders: () => entry.slotHolders() });
 * stats.instance("web-7").figures();            // { requests: 512, serverErrors: 1, p95Ms: 48 }
 * stats.version(["web-7"]);                      // the canary's figures, for judgeCanary
 * stats.close();
 * // or, without blocking while a long canary's lines are read back:
 * const later = await CanaryStats.followInTurns(logStore, { environment: "prod", sinceMs: canaryStartedAt, slotHolders: () => entry.slotHolders() });
 */
export class CanaryStats {
  readonly #tallies = new Map<string, RequestTally>();
  /** Requests of the environment not given to an instance (no server, a slot nobody holds). */
  #unattributed = 0;
  /** The newest line the read back counted: the same line coming to the listener is not counted again. */
  #readUpto = 0;
  #unsubscribe: () => void = () => {};
  #closed = false;

  private constructor(private readonly options: CanaryStatsOptions) {}

  /**
   * Counts the environment's requests logged since `sinceMs`: those already stored before it
   * returns (read back at once, blocking: 300 000 lines took 5.4 s on a host of 2 cores under a
   * load of 20), then each line as it is written. See followInTurns for a read back that does not block.
   */
  static follow(store: Pick<LogStore, "query" | "subscribe">, options: CanaryStatsOptions): CanaryStats {
    const stats = new CanaryStats(options);
    for (const _page of stats.#readBack(store));
    return stats;
  }

  /**
   * As follow, reading back one page a turn of the event loop, so the control plane goes on
   * answering meanwhile; resolves once every stored line is counted. Judge only then: before, the
   * figures are those of the newest pages.
   */
  static async followInTurns(store: Pick<LogStore, "query" | "subscribe">, options: CanaryStatsOptions): Promise<CanaryStats> {
    const stats = new CanaryStats(options);
    for (const _page of stats.#readBack(store)) await new Promise((resolve) => setImmediate(resolve));
    return stats;
  }

  /** Subscribes, then reads the stored lines back, newest first, yielding after each full page. */
  *#readBack(store: Pick<LogStore, "query" | "subscribe">): Generator<void> {
    // Subscribed before the first page is read, in the same turn of the event loop: a line
    // written meanwhile is either on it (its id at most #readUpto, skipped when it comes) or comes
    // after. Later pages hold only older lines, so lines counted as they come are never on them.
    this.#unsubscribe = store.subscribe((lines) => {
      const holders = this.options.slotHolders();
      for (const line of lines) if (line.id > this.#readUpto) this.#count(line, holders);
    });
    const { environment, sinceMs } = this.options;
    let beforeId: number | undefined;
    while (!this.#closed) {
      // query answers the newest `limit` lines: page after page towards the oldest.
      const page = store.query({ environment, sources: ["entry"], sinceMs, limit: READ_BACK_PAGE_LINES, ...(beforeId === undefined ? {} : { beforeId }) });
      if (beforeId === undefined) this.#readUpto = page.at(-1)?.id ?? 0;
      const holders = this.options.slotHolders();
      for (const line of page) this.#count(line, holders);
      if (page.length < READ_BACK_PAGE_LINES) return;
      beforeId = page[0]!.id;
      yield;
    }
  }

  #count(line: StoredLine, holders: ReadonlyMap<string, string>): void {
    if (line.environment !== this.options.environment || line.timeMs < this.options.sinceMs) return;
    const record = accessRecord(line);
    if (!record) return;
    const instance = holders.get(record.server);
    if (instance === undefined) {
      this.#unattributed++;
      return;
    }
    let tally = this.#tallies.get(instance);
    if (!tally) this.#tallies.set(instance, (tally = new RequestTally()));
    tally.add(record);
  }

  /** One instance's requests so far (an empty tally for one that had none). */
  instance(name: string): RequestTally {
    return this.#tallies.get(name) ?? new RequestTally();
  }

  /** Every instance that had a request, by name. */
  byInstance(): Map<string, RequestFigures> {
    return new Map([...this.#tallies].map(([name, tally]) => [name, tally.figures()]));
  }

  /** The instances of one version together: their p95 over all their requests, not an average of p95s. */
  version(instances: readonly string[]): RequestFigures {
    const total = new RequestTally();
    for (const name of instances) total.merge(this.instance(name));
    return total.figures();
  }

  /** Requests of the environment given to no instance: answered by none, or by a slot nobody held. */
  get unattributed(): number {
    return this.#unattributed;
  }

  /** Stops following the store (and reading it back); the figures stay readable. */
  close(): void {
    this.#closed = true;
    this.#unsubscribe();
  }
}
