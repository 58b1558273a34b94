// The fan-out the log service calls for every stored line: the line's environment names its forward
// targets (ingot.yaml's logs.forward, as the active deployment's image recorded it), and each target
// has one forwarder, shared by every environment that names it.
import type { LogLine } from "../log-line.ts";
import type { ForwardTarget } from "./forward-target.ts";
import type { ForwarderCounters, ForwarderOptions, LogForwarder } from "./log-forwarder.ts";
import { OtlpForwarder } from "./otlp-forwarder.ts";
import { SyslogForwarder } from "./syslog-forwarder.ts";

/** An environment's targets; the control plane answers from the active deployment's manifest (logForwardTargets()). */
export type ForwardTargetsOf = (environment: string) => readonly ForwardTarget[];

/**
 * How long an environment's answer is kept: a deploy that changes logs.forward takes effect within
 * this even when nobody calls refresh(), and the callback is not asked for every line.
 */
const TARGETS_TTL_MS = 10_000;

export interface ForwardingOptions extends ForwarderOptions {
  /** Builds a target's forwarder; tests pass their own. */
  createForwarder?: (target: ForwardTarget, options: ForwarderOptions) => LogForwarder;
  now?: () => number;
}

export interface ForwarderStatus {
  url: string;
  environments: string[];
  counters: ForwarderCounters;
}

/** A forwarder for the target's protocol. */
export function createForwarder(target: ForwardTarget, options: ForwarderOptions = {}): LogForwarder {
  return target.kind === "syslog" ? new SyslogForwarder(target, options) : new OtlpForwarder(target, options);
}

/**
 * @example
 * const forwarding = forwardingFor((environment) => logForwardTargets(activeManifest(environment), environment));
 * forwarding.forward(line); // after the store took it
 * forwarding.refresh(); // after a deploy
 */
export function forwardingFor(targetsOf: ForwardTargetsOf, options: ForwardingOptions = {}): LogForwarding {
  return new LogForwarding(targetsOf, options);
}

export class LogForwarding {
  private readonly byUrl = new Map<string, LogForwarder>();
  private readonly byEnvironment = new Map<string, { forwarders: LogForwarder[]; resolvedMs: number }>();
  private readonly now: () => number;
  private closed = false;
  private listenerPort: number | undefined;
  /** The last failure of the targets callback, or a target refused: forwarding goes on with what it knew. */
  lastError: string | undefined;

  constructor(private readonly targetsOf: ForwardTargetsOf, private readonly options: ForwardingOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  /** Sends the line to its environment's targets; returns at once, never throws. */
  forward(line: LogLine): void {
    if (this.closed) return;
    let entry = this.byEnvironment.get(line.environment);
    if (!entry || this.now() - entry.resolvedMs > TARGETS_TTL_MS) entry = this.resolve(line.environment, entry?.forwarders);
    for (const forwarder of entry.forwarders) forwarder.send(line);
  }

  /** Asks for every known environment's targets again now (after a deploy or a stop), closing forwarders none names. */
  refresh(): void {
    if (this.closed) return;
    for (const [environment, entry] of [...this.byEnvironment]) this.resolve(environment, entry.forwarders);
    this.closeUnnamed();
  }

  /**
   * Never forwards to ingot's own listener on this host: every line sent there would be stored again,
   * and forwarded again, without end.
   */
  avoidLoopTo(listenerPort: number): void {
    this.listenerPort = listenerPort;
    this.refresh();
  }

  status(): ForwarderStatus[] {
    return [...this.byUrl].map(([url, forwarder]) => ({
      url,
      environments: [...this.byEnvironment].filter(([, entry]) => entry.forwarders.includes(forwarder)).map(([environment]) => environment),
      counters: forwarder.counters,
    }));
  }

  async close(): Promise<void> {
    this.closed = true;
    const forwarders = [...this.byUrl.values()];
    this.byUrl.clear();
    this.byEnvironment.clear();
    await Promise.all(forwarders.map((forwarder) => forwarder.close()));
  }

  private resolve(environment: string, previous: LogForwarder[] | undefined): { forwarders: LogForwarder[]; resolvedMs: number } {
    let targets: readonly ForwardTarget[];
    try {
      targets = this.targetsOf(environment);
      this.lastError = undefined;
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      // Keeps what the environment had: a failed look-up must not stop its forwarding.
      const kept = { forwarders: previous ?? [], resolvedMs: this.now() };
      this.byEnvironment.set(environment, kept);
      return kept;
    }
    const create = this.options.createForwarder ?? createForwarder;
    const looping = targets.find((target) => this.loopsBack(target));
    if (looping) this.lastError = `Cannot forward the logs of ${environment} to ${looping.url} as it is ingot's own log listener`;
    const forwarders = targets.filter((target) => !this.loopsBack(target)).map((target) => {
      let forwarder = this.byUrl.get(target.url);
      if (!forwarder) {
        forwarder = create(target, this.options);
        this.byUrl.set(target.url, forwarder);
      }
      return forwarder;
    });
    const entry = { forwarders, resolvedMs: this.now() };
    this.byEnvironment.set(environment, entry);
    if (previous?.some((forwarder) => !forwarders.includes(forwarder))) this.closeUnnamed();
    return entry;
  }

  private loopsBack(target: ForwardTarget): boolean {
    return target.kind === "syslog" && target.port === this.listenerPort && /^(127\.|localhost$|::1$)/.test(target.host);
  }

  /** A target no environment names anymore: what it holds is sent, in the background, and it goes. */
  private closeUnnamed(): void {
    const named = new Set([...this.byEnvironment.values()].flatMap((entry) => entry.forwarders));
    for (const [url, forwarder] of this.byUrl) {
      if (named.has(forwarder)) continue;
      this.byUrl.delete(url);
      void forwarder.close();
    }
  }
}
