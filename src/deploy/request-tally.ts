// The requests of an instance or of a version as a canary is judged on them: how many, how many
// failed with a 5xx, and their response times for a p95. Times are kept as counts per whole
// millisecond (HAProxy logs whole ms, and `timeout server` bounds them): the p95 is exact over every
// request seen, in memory bounded by the distinct values (a few hundred in practice), and tallies
// of several instances add up to their version's without losing anything.
import type { AccessRecord } from "../entry/access-record.ts";

/** What a judge compares: p95Ms is undefined while no request had a response time. */
export interface RequestFigures { requests: number; serverErrors: number; p95Ms: number | undefined }

/**
 * @example
 * const tally = new RequestTally();
 * tally.add({ server: "slot1", status: 200, responseMs: 12, totalMs: 13 });
 * tally.add({ server: "slot1", status: 503, responseMs: -1, totalMs: 250 });
 * tally.figures(); // { requests: 2, serverErrors: 1, p95Ms: 12 }
 */
export class RequestTally {
  requests = 0;
  serverErrors = 0;
  /** Response time (ms) → requests that took it. */
  readonly #latencies = new Map<number, number>();
  #timed = 0;

  /** Counts one request; its response time only where the instance answered (%Tr is -1 otherwise). */
  add(record: Pick<AccessRecord, "status" | "responseMs">): void {
    this.requests++;
    if (record.status >= 500 && record.status <= 599) this.serverErrors++;
    if (record.responseMs >= 0) {
      this.#latencies.set(record.responseMs, (this.#latencies.get(record.responseMs) ?? 0) + 1);
      this.#timed++;
    }
  }

  /** Adds another tally's requests to this one (a version's instances); returns this. */
  merge(other: RequestTally): this {
    this.requests += other.requests;
    this.serverErrors += other.serverErrors;
    for (const [ms, count] of other.#latencies) this.#latencies.set(ms, (this.#latencies.get(ms) ?? 0) + count);
    this.#timed += other.#timed;
    return this;
  }

  /**
   * The nearest-rank percentile: the least time that at least `percent`% of the timed requests took
   * no longer than. Undefined without a timed request.
   *
   * @example
   * tally.percentileMs(95); // 48
   */
  percentileMs(percent: number): number | undefined {
    if (this.#timed === 0) return undefined;
    const rank = Math.max(1, Math.ceil((percent / 100) * this.#timed));
    let seen = 0;
    for (const ms of [...this.#latencies.keys()].sort((a, b) => a - b)) {
      seen += this.#latencies.get(ms)!;
      if (seen >= rank) return ms;
    }
    return undefined;
  }

  figures(): RequestFigures {
    return { requests: this.requests, serverErrors: this.serverErrors, p95Ms: this.percentileMs(95) };
  }
}
