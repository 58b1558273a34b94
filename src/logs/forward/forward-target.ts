// Where an environment's log lines are also sent: the URLs of ingot.yaml's logs.forward, parsed into
// plain values. One parser, used by the config check (which reports its problems) and by the
// control plane (which builds forwarders from what the image manifest recorded).

/** RFC 5424 over TCP or TLS, octet-counted (RFC 6587): rsyslog, syslog-ng, Vector, the Collector's syslog receiver. */
export interface SyslogTarget {
  kind: "syslog";
  /** The URL as written in ingot.yaml: the forwarder's name in status and in drop notices. */
  url: string;
  host: string;
  port: number;
  tls: boolean;
  /** A PEM file of the CA(s) to trust instead of the system's (`?ca=`); TLS only. */
  caFile?: string;
}

/** OTLP/HTTP with JSON encoding: an OpenTelemetry Collector's otlphttp receiver, or any OTLP logs endpoint. */
export interface OtlpTarget {
  kind: "otlp";
  url: string;
  host: string;
  port: number;
  tls: boolean;
  caFile?: string;
  /** The request path; /v1/logs unless the URL names one. */
  path: string;
}

export type ForwardTarget = SyslogTarget | OtlpTarget;

/** The schemes ingot speaks, for the config's problems and hints. */
export const FORWARD_SCHEMES = ["syslog+tcp", "syslog+tls", "otlp+http", "otlp+https"] as const;

/** The OTLP/HTTP specification's path for logs. */
export const OTLP_LOGS_PATH = "/v1/logs";

const SCHEMES: Record<string, { kind: ForwardTarget["kind"]; tls: boolean; defaultPort?: number }> = {
  "syslog+tcp": { kind: "syslog", tls: false },
  "syslog+tls": { kind: "syslog", tls: true },
  // An OTLP endpoint is an HTTP(S) URL, where the scheme's port is the natural default; syslog has none that users agree on.
  "otlp+http": { kind: "otlp", tls: false, defaultPort: 80 },
  "otlp+https": { kind: "otlp", tls: true, defaultPort: 443 },
};

/**
 * A forward URL as a target, or why it is not one (`problem` reads after the key's path).
 *
 * @example
 * parseForwardTarget("syslog+tls://logs.example.com:6514?ca=/etc/ingot/ca.pem");
 * // { target: { kind: "syslog", host: "logs.example.com", port: 6514, tls: true, caFile: "/etc/ingot/ca.pem", url: "…" } }
 */
export function parseForwardTarget(text: string): { target: ForwardTarget; problem?: undefined } | { problem: string; target?: undefined } {
  const shown = JSON.stringify(text);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)?.[1]?.toLowerCase();
  // Own keys only: a scheme named "constructor" is unknown, not Object.prototype's.
  const kind = scheme !== undefined && Object.hasOwn(SCHEMES, scheme) ? SCHEMES[scheme] : undefined;
  if (scheme === undefined || !kind) return { problem: `must be a URL starting with ${FORWARD_SCHEMES.map((name) => `${name}://`).join(", ")}, got ${shown}` };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { problem: `must be a URL like ${scheme}://HOST:PORT (a port from 1 to 65535), got ${shown}` };
  }
  // WHATWG URLs keep IPv6 hosts in brackets; sockets want them bare.
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") return { problem: `must name a host, as in ${scheme}://HOST:PORT, got ${shown}` };
  if (url.username !== "" || url.password !== "") return { problem: `must not carry a user or password (the manifest is not a secret), got ${shown}` };
  if (url.hash !== "") return { problem: `must not have a #fragment, got ${shown}` };
  const port = url.port === "" ? kind.defaultPort : Number(url.port);
  if (port === undefined || port < 1) return { problem: `must name a port, as in ${scheme}://${url.host}:PORT, got ${shown}` };
  const path = url.pathname === "" || url.pathname === "/" ? "" : url.pathname;
  if (kind.kind === "syslog" && path !== "") return { problem: `must not have a path as syslog has none, got ${shown}` };
  let caFile: string | undefined;
  for (const [name, value] of url.searchParams) {
    if (name !== "ca") return { problem: `has an unknown option ${JSON.stringify(name)}; the only one is ?ca=/path/to/ca.pem, got ${shown}` };
    if (!kind.tls) return { problem: `sets ?ca= but ${scheme} does not use TLS; use ${scheme.replace(/\+(tcp|http)$/, (_, plain: string) => (plain === "tcp" ? "+tls" : "+https"))}, got ${shown}` };
    if (!value.startsWith("/")) return { problem: `must give ?ca= as an absolute path to a PEM file on the control plane's host, got ${shown}` };
    caFile = value;
  }
  const common = { url: text, host, port, tls: kind.tls, ...(caFile === undefined ? {} : { caFile }) };
  return { target: kind.kind === "syslog" ? { kind: "syslog", ...common } : { kind: "otlp", ...common, path: path || OTLP_LOGS_PATH } };
}
