// The log store as the control plane runs it: the store in $INGOT_HOME/logs, the syslog listener on
// 127.0.0.1 at the port recorded in the server's folder (logs.port, kept across restarts so senders
// configured with it keep working), and retention applied every hour.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { IngotError } from "../errors.ts";
import type { LogForwarding } from "./forward/log-forwarding.ts";
import { applyRetention, DEFAULT_RETENTION, retentionPlan, type RetentionPolicy } from "./log-retention.ts";
import { LogStore } from "./log-store.ts";
import { SyslogListener } from "./syslog-listener.ts";

const RETENTION_EVERY_MS = 3600_000;

export interface LogService {
  store: LogStore;
  listener: SyslogListener;
  /** The forward targets' fan-out, when the control plane gave one; its status() is theirs. */
  forwarding?: LogForwarding;
  close: () => Promise<void>;
}

/**
 * Retention per environment from $INGOT_HOME/logs/retention.json, e.g.
 * `{ "default": { "maxAgeDays": 7, "maxBytes": 1073741824 }, "prod": { "maxAgeDays": 30 } }`.
 */
export function retentionPolicies(folder: string): (environment: string) => RetentionPolicy {
  const path = join(folder, "retention.json");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return () => DEFAULT_RETENTION;
  }
  let settings: Record<string, { maxAgeDays?: number; maxBytes?: number }>;
  try {
    settings = JSON.parse(text) as typeof settings;
  } catch (error) {
    throw new IngotError(`Cannot read the log retention settings as they are not JSON: ${path}`, { code: "logs-retention", hint: 'Write { "default": { "maxAgeDays": 7, "maxBytes": 1073741824 } }', cause: error });
  }
  const policy = (entry: { maxAgeDays?: number; maxBytes?: number } | undefined, base: RetentionPolicy): RetentionPolicy => ({
    maxAgeMs: typeof entry?.maxAgeDays === "number" ? entry.maxAgeDays * 24 * 3600_000 : base.maxAgeMs,
    maxBytes: typeof entry?.maxBytes === "number" ? entry.maxBytes : base.maxBytes,
  });
  const fallback = policy(settings.default, DEFAULT_RETENTION);
  return (environment) => policy(settings[environment], fallback);
}

/**
 * @example
 * const logs = await openLogService(home, serverPaths(home).dir, log, { forwarding: forwardingFor(targetsOf) });
 * // senders: RFC 5424 over TCP, octet-counted, to 127.0.0.1:${logs.listener.port}
 */
export async function openLogService(home: string, serverDir: string, log: (line: string) => void = () => {}, options: { forwarding?: LogForwarding } = {}): Promise<LogService> {
  const folder = join(home, "logs");
  const store = LogStore.open(folder);
  const portFile = join(serverDir, "logs.port");
  const previous = readPort(portFile);
  const listen = (port: number) => SyslogListener.start((line) => store.append(line), { port, whenRoom: () => store.whenRoom() });
  // The recorded port when it is still free; a new one (recorded) when another process took it.
  const listener = await (previous ? listen(previous).catch(() => listen(0)) : listen(0)).catch((error: unknown) => { store.close(); throw error; });
  // The control plane opens before its API creates the server's folder.
  mkdirSync(serverDir, { recursive: true, mode: 0o700 });
  writeFileSync(portFile, `${listener.port}\n`, { mode: 0o600 });
  const policyOf = retentionPolicies(folder);
  const retain = (): void => {
    const deleted = applyRetention(store, retentionPlan(store.usage().environments, policyOf, Date.now()));
    if (deleted > 0) log(`logs: retention deleted ${deleted} lines`);
  };
  retain();
  const timer = setInterval(retain, RETENTION_EVERY_MS).unref();
  const { forwarding } = options;
  forwarding?.avoidLoopTo(listener.port);
  // Every line once it is stored, with the fields the store has: what ingot logs shows is what the targets get.
  const unsubscribe = forwarding ? store.subscribe((lines) => { for (const line of lines) forwarding.forward(line); }) : undefined;
  return {
    store, listener, ...(forwarding ? { forwarding } : {}),
    close: async () => {
      clearInterval(timer);
      await listener.close();
      store.close();
      unsubscribe?.();
      await forwarding?.close();
    },
  };
}

function readPort(path: string): number | undefined {
  try {
    const port = Number(readFileSync(path, "utf8").trim());
    return Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
  } catch {
    return undefined;
  }
}
