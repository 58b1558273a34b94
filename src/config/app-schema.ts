// The keys of ingot.yaml. Each description is also the reference text in docs/config.md.
import { ACCESSORY_KINDS, ACCESSORY_NAME } from "../accessory/accessory-kind.ts";
import { parseForwardTarget } from "../logs/forward/forward-target.ts";
import {
  type Check, type KeySpec, durationAtMost, integerBetween, isDuration, isEnvMap, isImageName, isImageVersion, isName,
  isPlainObject, isPort, isPositiveInteger, isSize, isString, isCommand, mapping, namedMap,
} from "./schema.ts";

/** More virtual CPUs than this is a typo rather than a plan, and QEMU's own errors say less. */
const MAX_CPUS = 64;
/** The longest an instance may take to become healthy: a deploy waits this long before giving up. */
const MAX_START_TIMEOUT_MS = 30 * 60_000;
/** The longest the app may take to stop gracefully: a stop waits this long. */
const MAX_STOP_TIMEOUT_MS = 10 * 60_000;

const isRuntime: Check = (value, path, problems) => {
  if (typeof value !== "string" || !/^(elf|node(@\d+(\.\d+){0,2})?)$/.test(value)) {
    problems.push({
      path,
      message: `must be node, node@MAJOR, node@MAJOR.MINOR.PATCH or elf, got ${JSON.stringify(value)}`,
      hint: "For example runtime: node@22 or runtime: elf",
    });
  }
};

const isPortRef: Check = (value, path, problems) => {
  if (typeof value === "string") isName(value, path, problems);
  else isPort(value, path, problems);
};

const healthTiming: Record<string, KeySpec> = {
  port: { description: "Port name (from ports) or number to check; the first port by default", check: isPortRef },
  interval: { description: "Time between checks, e.g. 1s", check: isDuration },
  timeout: { description: "Time one check may take, e.g. 2s", check: isDuration },
  healthy: { description: "Consecutive passing checks before the instance counts as healthy", check: isPositiveInteger },
  startTimeout: { description: "Longest wait from the app's start until it is healthy, e.g. 2m (default 120s, at most 30m)", check: durationAtMost(MAX_START_TIMEOUT_MS) },
};

const httpHealth = mapping({ path: { description: "HTTP path that answers 2xx when healthy", check: isHealthPath }, ...healthTiming }, ["path"]);
const tcpHealth = mapping({ tcp: { description: "Port name or number that accepts a TCP connection when healthy", check: isPortRef }, ...omit(healthTiming, "port") }, ["tcp"]);

function isHealthPath(value: unknown, path: string, problems: Parameters<Check>[2]): void {
  if (typeof value !== "string" || !value.startsWith("/")) problems.push({ path, message: `must be an HTTP path starting with /, got ${JSON.stringify(value)}` });
}

const isHealthcheck: Check = (value, path, problems) => {
  if (value === false) return;
  if (isPlainObject(value) && "tcp" in value) tcpHealth(value, path, problems);
  else if (isPlainObject(value)) httpHealth(value, path, problems);
  else problems.push({ path, message: `must be an HTTP check {path: /health}, a TCP check {tcp: http} or false, got ${JSON.stringify(value)}` });
};

const fileEntry = mapping({
  from: { description: "Host path, relative to the app folder", check: isString },
  to: { description: "Absolute path inside the image", check: isAbsolute },
}, ["from", "to"]);

function isAbsolute(value: unknown, path: string, problems: Parameters<Check>[2]): void {
  if (typeof value !== "string" || !value.startsWith("/")) problems.push({ path, message: `must be an absolute path inside the image, got ${JSON.stringify(value)}` });
  else isString(value, path, problems);
}

const isFiles: Check = (value, path, problems) => {
  if (!Array.isArray(value)) {
    problems.push({ path, message: `must be a list of paths or {from, to} entries, got ${JSON.stringify(value)}` });
    return;
  }
  value.forEach((item, index) => (typeof item === "string" ? isString : fileEntry)(item, `${path}[${index}]`, problems));
};

/** name: kind, the name as `ingot accessory add --name` takes it (a path and a variable are made of it). */
const isAccessories: Check = (value, path, problems) => {
  if (!isPlainObject(value)) {
    problems.push({ path, message: `must be a mapping of name: kind, got ${JSON.stringify(value)}`, hint: "For example accessories: {db: postgres}" });
    return;
  }
  for (const [name, kind] of Object.entries(value)) {
    if (!ACCESSORY_NAME.test(name)) problems.push({ path: `${path}.${name}`, message: "must be named with a lowercase letter followed by up to 31 lowercase letters, digits or dashes", hint: "For example db or analytics" });
    if (!ACCESSORY_KINDS.some((known) => known === kind)) problems.push({ path: `${path}.${name}`, message: `must be a known accessory kind (${ACCESSORY_KINDS.join(", ")}), got ${JSON.stringify(kind)}`, hint: "For example accessories: {db: postgres}" });
  }
};

const isOutbound: Check = (value, path, problems) => {
  if (value !== "none" && value !== "internet") problems.push({ path, message: `must be none or internet, got ${JSON.stringify(value)}` });
};

const OUTBOUND_DESCRIPTION = "What the guest may reach beyond what ingot gives it (metadata, logs): none (the default) or internet, the outside world but never the host (needs a root ingot and nftables)";

const isForwardList: Check = (value, path, problems) => {
  if (!Array.isArray(value)) {
    problems.push({ path, message: `must be a list of URLs, got ${JSON.stringify(value)}`, hint: "For example forward: [syslog+tcp://logs.internal:514]" });
    return;
  }
  value.forEach((item, index) => {
    const problem = typeof item === "string" ? parseForwardTarget(item).problem : `must be a URL string, got ${JSON.stringify(item)}`;
    if (problem) problems.push({ path: `${path}[${index}]`, message: problem, hint: "Use syslog+tcp://HOST:PORT, syslog+tls://HOST:PORT[?ca=/path/ca.pem], otlp+http://HOST:PORT[/path] or otlp+https://HOST[:PORT][/path]" });
  });
};

const FORWARD_URLS = "syslog+tcp://HOST:PORT, syslog+tls://HOST:PORT (?ca=/path/ca.pem to trust a private CA), otlp+http://HOST:PORT[/path] or otlp+https://… (OTLP/HTTP JSON, path /v1/logs by default); see docs/logs.md";

const logs = mapping({
  forward: { description: `Where the control plane also sends every log line it stores: ${FORWARD_URLS}`, check: isForwardList },
});

/** More instances than this in one environment is a typo on one host; fleets come with a provider that spans hosts. */
export const MAX_INSTANCES = 32;
/** The longest a draining instance may keep its in-flight requests. */
const MAX_DRAIN_TIMEOUT_MS = 10 * 60_000;
/** A crash-loop window longer than a day would keep an old failure against an image for good. */
const MAX_CRASH_LOOP_WINDOW_MS = 24 * 60 * 60_000;

const crashLoop = mapping({
  failures: { description: "Failures of the serving image that make a crash loop, 1 to 100 (default 3)", check: integerBetween(1, 100) },
  window: { description: "Within how long, e.g. 5m (default 5m, at most 24h)", check: durationAtMost(MAX_CRASH_LOOP_WINDOW_MS) },
});

const environment = mapping({
  env: { description: "Variables baked for this environment only", check: isEnvMap },
  instances: { description: `Instances a deploy runs (capacity), 1 to ${MAX_INSTANCES}; 1 by default`, check: integerBetween(1, MAX_INSTANCES) },
  cpus: { description: "Virtual CPUs of each instance here; resources.cpus by default", check: integerBetween(1, MAX_CPUS) },
  memory: { description: "Memory of each instance here, e.g. 512M; resources.memory by default", check: isSize },
  port: { description: "The entry point's stable port on the host, e.g. 8080; a free one is picked and kept when unset", check: isPort },
  startTimeout: { description: "Longest wait for a new instance to become healthy in a deploy; healthcheck.startTimeout by default", check: durationAtMost(MAX_START_TIMEOUT_MS) },
  drainTimeout: { description: "How long a replaced instance may finish its in-flight requests, e.g. 30s (default 30s, at most 10m)", check: durationAtMost(MAX_DRAIN_TIMEOUT_MS) },
  outbound: { description: `${OUTBOUND_DESCRIPTION}; overrides the top-level outbound`, check: isOutbound },
  logs: { description: "{forward: [URL, …]}: this environment's log forward targets, replacing the top-level logs.forward ([] forwards nothing)", check: logs },
  crashLoop: { description: "{failures, window}: this many failures of the serving image within the window (default 3 within 5m) stop the replacing of its instances and mark the environment degraded until a deploy or ingot stop", check: crashLoop },
  accessories: { description: `Services the control plane runs for this environment, name: kind (${ACCESSORY_KINDS.join(", ")}), e.g. {db: postgres}: a deploy adds and starts them; db's URL reaches the app as DATABASE_URL, another name N's as N_DATABASE_URL (see docs/accessories.md)`, check: isAccessories },
});

/** Every key ingot.yaml accepts. */
export const appKeys: Record<string, KeySpec> = {
  name: { description: "Image name (a-z, 0-9 joined by single '.', '_' or '-'); defaults to package.json name", check: isImageName },
  version: { description: "Image version (the tag, e.g. \"1.0.0\"); defaults to package.json version", check: isImageVersion },
  runtime: { description: "node, node@22, node@20.11.1 or elf (any Linux x86-64 program); defaults to engines.node, then .nvmrc, then .node-version (a range resolves to the newest matching release, pinned in ingot.lock), then ingot's pinned LTS", check: isRuntime },
  command: { description: "The app's argv; only the program must be non-empty ([redis-server, --save, \"\"]); defaults to package.json's start script as npm would run it, else main, else server.js (see docs/node-apps.md)", check: isCommand },
  ports: { description: "Named ports the app listens on, e.g. http: 8080; without it a Node.js app gets PORT=8080 (or its start script's PORT) and its instances follow the first port it listens on (see docs/node-apps.md)", check: namedMap(isPort) },
  healthcheck: { description: "{path, interval, timeout, healthy, startTimeout}, {tcp: PORT, …} or false; startTimeout (default 120s) bounds the wait for healthy", check: isHealthcheck },
  resources: {
    description: "cpus and memory of each instance",
    check: mapping({
      cpus: { description: `Virtual CPUs, 1 to ${MAX_CPUS}`, check: integerBetween(1, MAX_CPUS) },
      memory: { description: "Memory, e.g. 256M or 1G (64M to 64G); unset: 256M, or what a larger image needs to boot plus 96M, in steps of 64M", check: isSize },
    }),
  },
  stopTimeout: { description: "Time the app gets after SIGTERM before it is killed, e.g. 10s (at most 10m)", check: durationAtMost(MAX_STOP_TIMEOUT_MS) },
  files: { description: "Extra files: paths relative to the app folder, or {from, to}", check: isFiles },
  env: { description: "Environment variables baked for all environments (not INGOT_*; values as written, up to 32 KiB each)", check: isEnvMap },
  outbound: { description: OUTBOUND_DESCRIPTION, check: isOutbound },
  logs: { description: `{forward: [URL, …]}: where the control plane also sends every log line it stores, for each environment that sets no list of its own: ${FORWARD_URLS}`, check: logs },
  environments: { description: "Per environment settings: environments.<name>.{env, instances, cpus, memory, port, startTimeout, drainTimeout, outbound, logs, crashLoop, accessories}", check: namedMap(environment) },
};

export const validateAppConfig: Check = mapping(appKeys);

function omit<T extends Record<string, unknown>>(record: T, key: string): T {
  const copy = { ...record };
  delete copy[key];
  return copy;
}
