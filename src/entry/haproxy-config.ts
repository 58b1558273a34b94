// The HAProxy configuration of one environment's entry point, as text computed from a spec. It holds
// empty server slots: instances take and leave them through the runtime API (runtime-api.ts),
// never by a reload.
import { join } from "node:path";
import { IngotError } from "../errors.ts";

/** The image's health check as HAProxy runs it against each instance (ingot.yaml `healthcheck`). */
export type EntryHealthcheck =
  | { type: "http"; path: string; intervalMs: number; timeoutMs: number; healthyThreshold: number; unhealthyThreshold?: number }
  | { type: "tcp"; intervalMs: number; timeoutMs: number; healthyThreshold: number; unhealthyThreshold?: number }
  | false;

export interface EntrySpec {
  /** Names the frontend and the backend, and the 503 page. */
  environment: string;
  bind: { address: string; port: number };
  /** Holds the config, the admin socket, the pid file and the 503 page; keep it short (socket path ≤ 107 bytes). */
  runDir: string;
  healthcheck: EntryHealthcheck;
  /** How long a draining instance may finish its requests; also bounds a soft stop (hard-stop-after). */
  drainTimeoutMs: number;
  /** The log store's syslog port: each request is logged there as a line of source `entry`. */
  accessLog?: { host: string; port: number };
}

/**
 * Server slots of each backend: instances take a free one through the runtime API. Slots written
 * in the config keep connections to the instances alive between requests, where servers added at
 * runtime (`add server`) open a connection per request in HAProxy 2.6. Enough for blue and green
 * at the largest capacity (2 × 32), with room for replacements.
 */
export const ENTRY_SLOTS = 80;

/** The files of an entry point inside its run folder. */
export function entryPaths(runDir: string): { config: string; socket: string; pidFile: string; unavailablePage: string; record: string; slots: string } {
  return {
    config: join(runDir, "haproxy.cfg"),
    socket: join(runDir, "admin.sock"),
    pidFile: join(runDir, "haproxy.pid"),
    unavailablePage: join(runDir, "503.http"),
    record: join(runDir, "entry.json"),
    slots: join(runDir, "slots.json"),
  };
}

/**
 * @example
 * haproxyConfig({ environment: "prod", bind: { address: "127.0.0.1", port: 8080 }, runDir: "/run/ingot/prod",
 *   healthcheck: { type: "http", path: "/health", intervalMs: 1000, timeoutMs: 2000, healthyThreshold: 2 }, drainTimeoutMs: 30_000 });
 * // "global\n  stats socket /run/ingot/prod/admin.sock mode 600 level admin expose-fd listeners\n…"
 */
export function haproxyConfig(spec: EntrySpec): string {
  assertHaproxyName("an environment", spec.environment);
  const paths = entryPaths(spec.runDir);
  const check = spec.healthcheck;
  const section = (header: string, lines: string[]): string => [header, ...lines.map((line) => `  ${line}`)].join("\n");
  return [
    `# The entry point of environment ${spec.environment}, written by ingot. Instances take the server slots`,
    "# through the runtime API (admin.sock); a reload would drop them, so this file never names any.",
    section("global", [
      `stats socket ${paths.socket} mode 600 level admin expose-fd listeners`,
      "stats timeout 10s",
      `pidfile ${paths.pidFile}`,
      // A soft stop (SIGUSR1) lets requests finish, but no longer than an instance's drain.
      `hard-stop-after ${spec.drainTimeoutMs}ms`,
    ]),
    ...(spec.accessLog ? [accessLogRing(spec.accessLog)] : []),
    section("defaults", [
      "mode http",
      // QEMU's port forward listens with a backlog of 1: a second connection arriving at once has
      // its SYN dropped, and the kernel sends it again only after 1 s. A connect to a local
      // forward completes in microseconds otherwise, so give up early and retry: ten retries keep
      // trying for 2.5 s, as long as a busy single instance may keep its one backlog slot full.
      "timeout connect 250ms",
      "timeout client 60s",
      "timeout server 60s",
      "timeout http-request 10s",
      "timeout http-keep-alive 10s",
      "timeout queue 10s",
      // WebSockets and other upgraded connections stay open this long without traffic.
      "timeout tunnel 1h",
      ...(check ? [`timeout check ${check.timeoutMs}ms`] : []),
      "retries 10",
      "option redispatch 1",
      // empty-response covers an idle kept-alive connection the instance closed as HAProxy reused it.
      "retry-on conn-failure empty-response",
      "option forwardfor",
      "http-reuse safe",
    ]),
    section(`frontend ${spec.environment}`, [
      // HAProxy takes the last colon as the port's, so an IPv6 address needs no brackets.
      `bind ${spec.bind.address}:${spec.bind.port}`,
      "http-request set-header X-Forwarded-Proto http",
      `default_backend ${spec.environment}`,
      ...(spec.accessLog ? accessLogLines(spec.environment) : []),
    ]),
    section(`backend ${spec.environment}`, [
      // Dynamic servers need a dynamic algorithm; roundrobin also allows weights to change (canaries).
      "balance roundrobin",
      ...(check && check.type === "http"
        ? ["option httpchk", `http-check send meth GET uri ${check.path} ver HTTP/1.1 hdr Host ${spec.environment}`,
          // 2xx, as ingot's own health check counts it (src/vm/health.ts).
          "http-check expect status 200-299"]
        : []),
      `errorfile 503 ${paths.unavailablePage}`,
      // In maintenance (disabled) at weight 0 until an instance takes one; 127.0.0.1:1 is never used.
      `server-template slot 1-${ENTRY_SLOTS} 127.0.0.1:1 disabled ${serverOptions(spec.healthcheck).join(" ")}`,
    ]),
  ].join("\n\n") + "\n";
}

/**
 * HAProxy's own sender for the access log: a ring buffer (1 MiB) that a task empties over TCP, LF
 * framed (RFC 6587), and retries while the store is away; requests never wait for it. A UDP log
 * line would be simpler and loses lines whenever the store is busier than the socket's buffer.
 */
function accessLogRing(store: { host: string; port: number }): string {
  return [
    "ring access",
    "  description \"each request, to ingot's log store\"",
    "  format rfc5424",
    "  maxlen 8192",
    "  size 1048576",
    "  timeout connect 5s",
    "  timeout server 30s",
    `  server store ${store.host}:${store.port}`,
  ].join("\n");
}

/**
 * The frontend's access log: HAProxy's HTTP format, with ingot's structured data naming the
 * environment and the source, so the store files it as the entry's. A request that failed (5xx, a
 * connection cut) is logged as an error (log-separate-errors), so `ingot logs --level error` finds it.
 * A second element, ACCESS_SD_ID, carries the figures a canary is judged on as parameters (read by
 * access-record.ts): the store keeps elements other than ingot's own in a line's fields, so they
 * are read without parsing the message, whatever its format.
 */
function accessLogLines(environment: string): string[] {
  return [
    "log ring@access local0 info",
    "option httplog",
    "option log-separate-errors",
    "log-tag entry",
    `log-format-sd [ingot@32473\\ env=\\"${environment}\\"\\ source=\\"entry\\"][${ACCESS_SD_ID}\\ server=\\"%s\\"\\ status=\\"%ST\\"\\ tr=\\"%Tr\\"\\ ta=\\"%Ta\\"]`,
  ];
}

/**
 * The access log's structured data of one request: `server` the slot that answered (`<NOSRV>` for
 * none), `status` the HTTP status sent (-1 for none), `tr` the server's response time (ms to its
 * headers, -1 without a response) and `ta` the request's whole active time, both HAProxy's %Tr and %Ta.
 */
export const ACCESS_SD_ID = "request@32473";

/**
 * The options of every server slot: HAProxy's checks with the image's pacing, at weight 0 (an
 * instance gets its weight at the switch). `downinter` checks a slot that is down every 200 ms, so
 * an instance that ingot already found healthy is UP within a few tenths of a second, not after a
 * whole interval.
 *
 * @example
 * serverOptions({ type: "tcp", intervalMs: 500, timeoutMs: 1000, healthyThreshold: 2 }) // ["check", "inter", "500", "downinter", "200", "rise", "2", "fall", "3", "weight", "0"]
 */
export function serverOptions(check: EntryHealthcheck): string[] {
  const checkOptions = check
    ? ["check", "inter", String(check.intervalMs), "downinter", String(Math.min(200, check.intervalMs)), "rise", String(check.healthyThreshold), "fall", String(check.unhealthyThreshold ?? 3)]
    : [];
  return [...checkOptions, "weight", "0"];
}

/** The full HTTP response HAProxy sends when no instance is up (an errorfile is sent as is). */
export function unavailablePage(environment: string): string {
  const body = `No instance of ${environment} is ready to serve this request. Try again in a moment.\n`;
  return [
    "HTTP/1.1 503 Service Unavailable",
    "Content-Type: text/plain; charset=utf-8",
    `Content-Length: ${Buffer.byteLength(body)}`,
    "Cache-Control: no-store",
    "Retry-After: 5",
    `X-Ingot-Environment: ${environment}`,
    "Connection: close",
    "",
    body,
  ].join("\r\n");
}

/** Refuses a name HAProxy would misread (it names proxies and servers, and travels in CLI commands). */
export function assertHaproxyName(what: string, name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) {
    throw new IngotError(`Cannot use ${JSON.stringify(name)} as the name of ${what} as it has characters HAProxy does not allow: ${name}`, {
      code: "entry-name-invalid", hint: "Use letters, digits, '-', '_' and '.', starting with a letter or digit, at most 64",
    });
  }
}
