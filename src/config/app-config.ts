// Loads an app folder's configuration: ingot.yaml when present, defaults from package.json.
import { readFile, stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import semver from "semver";
import { IngotError } from "../errors.ts";
import { imageNameProblem, imageVersionProblem, shortened } from "../vault/tag-name.ts";
import { validateAppConfig } from "./app-schema.ts";
import { ConfigError } from "./config-error.ts";
import { type PackageJson, readPackageJson } from "./package-json.ts";
import { workspaceAbove, workspaceHint } from "./workspace.ts";
import { type ConfigProblem, parseDuration, parseSizeMiB } from "./schema.ts";
import { parseStartScript, type StartScript } from "./start-script.ts";
import { readYamlConfig } from "./yaml-file.ts";

/** ingot.yaml's logs: the URLs every stored line is also sent to (parsed by parseForwardTarget()). */
export interface LogsSettings {
  forward?: string[];
}

/** What a guest may reach beyond what ingot gives it: nothing, or the outside world (never the host). */
export type Outbound = "none" | "internet";

export type RuntimeSpec = { kind: "node"; version: string | undefined } | { kind: "elf" };

/** How a check is paced; startTimeoutMs bounds the wait from the app's start to healthy. */
interface HealthTiming { intervalMs: number; timeoutMs: number; healthyThreshold: number; startTimeoutMs: number }

export type Healthcheck =
  | ({ type: "http"; path: string; port: string } & HealthTiming)
  | ({ type: "tcp"; port: string } & HealthTiming);

/** How long an instance may take from its app's start to healthy when ingot.yaml does not say. */
export const DEFAULT_START_TIMEOUT_MS = 120_000;

/**
 * What ingot.yaml sets for one environment. Only the keys it sets are present, so an image that sets
 * none keeps the manifest (and digest) it had before these settings existed; deploys fill defaults.
 */
export interface EnvironmentSettings {
  env: Record<string, string>;
  instances?: number;
  cpus?: number;
  memoryMiB?: number;
  /** The entry point's port on the host. */
  port?: number;
  startTimeoutMs?: number;
  drainTimeoutMs?: number;
  /** What its instances may reach beyond ingot's endpoints; the top-level outbound when absent. */
  outbound?: Outbound;
  /** Its forward targets; the top-level logs when absent. */
  logs?: LogsSettings;
  /** Its crash-loop rule, each figure only when set (3 failures within 5 min by default). */
  crashLoop?: { failures?: number; windowMs?: number };
  /** Services the control plane runs beside its instances, by name: { db: "postgres" } (docs/accessories.md). */
  accessories?: Record<string, string>;
}

/** The app's configuration, normalized: every default filled in. */
export interface AppConfig {
  dir: string;
  name: string;
  version: string;
  runtime: RuntimeSpec;
  /** Where the runtime choice came from, printed by the build ("ingot.yaml", "engines.node", "default"). */
  runtimeSource: string;
  /**
   * The argv. When `start` runs a dependency's bin, it is `node_modules/.bin/NAME ARGS` (as npm
   * would run it) until the build resolves it, once the production dependencies are installed.
   */
  command: string[];
  /** Where the command came from when ingot.yaml does not give it ("scripts.start: node dist/index.js"). */
  commandSource?: string;
  /** The start script as parsed, when the command comes from one. */
  start?: StartScript;
  ports: Record<string, number>;
  /**
   * Where a Node.js app's port came from when ingot.yaml declares none ("ingot's default, PORT=8080").
   * Its instances then follow the port the app listens on (src/instance/listening-port.ts).
   */
  portSource?: string;
  healthcheck: Healthcheck | false;
  resources: { cpus: number; memoryMiB: number };
  /** Whether ingot.yaml sets resources.memory; otherwise the build sizes it to the image (defaultMemoryMiB). */
  memoryDeclared: boolean;
  stopTimeoutMs: number;
  files: { from: string; to: string }[];
  env: Record<string, string>;
  /** Absent unless ingot.yaml sets it, so images that do not keep their digest ("none" then). */
  outbound?: Outbound;
  /** Absent unless ingot.yaml sets it, like outbound. */
  logs?: LogsSettings;
  environments: Record<string, EnvironmentSettings>;
  /** True when the app is a Node.js project (has a package.json). */
  isNodeProject: boolean;
}

export { ConfigError } from "./config-error.ts";

/**
 * Reads the app folder's ingot.yaml and package.json and returns the normalized configuration.
 *
 * @example
 * const config = await loadAppConfig("examples/hello");
 * config.command; // ["node", "server.js"]
 */
export async function loadAppConfig(dir: string): Promise<AppConfig> {
  const appDir = resolve(dir);
  await assertFolder(appDir);
  const yamlFile = join(appDir, "ingot.yaml");
  const raw = await readYamlConfig(yamlFile);
  const packageFile = join(appDir, "package.json");
  const pkg = await readPackageJson(packageFile);

  const problems: ConfigProblem[] = [];
  validateAppConfig(raw, "", problems);
  if (problems.length > 0) throw new ConfigError(yamlFile, problems);

  const runtime = await resolveRuntime(raw, pkg, appDir);
  if (raw.command === undefined && runtime.spec.kind === "elf") {
    throw new IngotError(`Cannot tell how to start the program in ${appDir} as ingot.yaml sets runtime: elf and no command`, { code: "app-no-entry", hint: "Add command: [./program, …] to ingot.yaml" });
  }
  const derived = raw.command === undefined ? await defaultCommand(pkg, appDir) : undefined;
  const command = (raw.command as string[] | undefined) ?? derived!.command;
  const defaulted = raw.ports === undefined && runtime.spec.kind === "node" ? defaultPort(derived?.start) : undefined;
  const ports = (raw.ports as Record<string, number> | undefined) ?? (defaulted ? { http: defaulted.port } : {});
  const name = (raw.name as string | undefined) ?? sanitizeName(pkg?.name);
  const version = (raw.version as string | undefined) ?? pkg?.version ?? "latest";
  if (raw.name === undefined) assertFromPackageJson(packageFile, "name", pkg?.name, name, imageNameProblem, "Set name: my-app in ingot.yaml");
  if (raw.version === undefined) assertFromPackageJson(packageFile, "version", pkg?.version, version, imageVersionProblem, 'Set version: "1.0.0" in ingot.yaml or package.json');
  if (!name) {
    throw new IngotError(`Cannot name the image of ${appDir} as neither ingot.yaml nor package.json gives a name`, {
      code: "config-no-name",
      hint: "Add name: my-app to ingot.yaml",
    });
  }
  const declaredMemoryMiB = parseSizeMiB((raw.resources as { memory?: string } | undefined)?.memory);
  const config: AppConfig = {
    dir: appDir,
    name,
    version,
    runtime: runtime.spec,
    runtimeSource: runtime.source,
    command,
    ...(derived ? { commandSource: derived.source } : {}),
    ...(derived?.start ? { start: derived.start } : {}),
    ports,
    ...(defaulted ? { portSource: defaulted.source } : {}),
    healthcheck: normalizeHealthcheck(raw.healthcheck, ports),
    resources: {
      cpus: (raw.resources as { cpus?: number } | undefined)?.cpus ?? 1,
      memoryMiB: declaredMemoryMiB ?? 256,
    },
    memoryDeclared: declaredMemoryMiB !== undefined,
    stopTimeoutMs: parseDuration(raw.stopTimeout) ?? 10_000,
    files: ((raw.files as (string | { from: string; to: string })[] | undefined) ?? []).map((entry) =>
      typeof entry === "string" ? { from: entry, to: `/app/${entry.replace(/^\.\//, "")}` } : entry,
    ),
    // ingot.yaml's env wins over the start script's VAR=value prefixes.
    env: { ...derived?.start?.env, ...stringify((raw.env as Record<string, unknown> | undefined) ?? {}) },
    ...(raw.outbound === undefined ? {} : { outbound: raw.outbound as Outbound }),
    ...(raw.logs === undefined ? {} : { logs: logsSettings(raw.logs as RawLogs) }),
    environments: Object.fromEntries(
      Object.entries((raw.environments as Record<string, RawEnvironment | null> | undefined) ?? {}).map(([envName, value]) => [envName, environmentSettings(value ?? {})]),
    ),
    isNodeProject: pkg !== undefined,
  };
  return config;
}

interface RawLogs { forward?: string[] }
interface RawEnvironment { env?: Record<string, unknown>; instances?: number; cpus?: number; memory?: string; port?: number; startTimeout?: string; drainTimeout?: string; outbound?: Outbound; logs?: RawLogs; crashLoop?: { failures?: number; window?: string }; accessories?: Record<string, string> }

function logsSettings(raw: RawLogs): LogsSettings {
  return raw.forward === undefined ? {} : { forward: raw.forward };
}

function environmentSettings(raw: RawEnvironment): EnvironmentSettings {
  const settings: EnvironmentSettings = { env: stringify(raw.env ?? {}) };
  if (raw.instances !== undefined) settings.instances = raw.instances;
  if (raw.cpus !== undefined) settings.cpus = raw.cpus;
  if (raw.memory !== undefined) settings.memoryMiB = parseSizeMiB(raw.memory)!;
  if (raw.port !== undefined) settings.port = raw.port;
  if (raw.startTimeout !== undefined) settings.startTimeoutMs = parseDuration(raw.startTimeout)!;
  if (raw.drainTimeout !== undefined) settings.drainTimeoutMs = parseDuration(raw.drainTimeout)!;
  if (raw.outbound !== undefined) settings.outbound = raw.outbound;
  if (raw.logs !== undefined) settings.logs = logsSettings(raw.logs);
  if (raw.crashLoop !== undefined) {
    settings.crashLoop = {
      ...(raw.crashLoop.failures === undefined ? {} : { failures: raw.crashLoop.failures }),
      ...(raw.crashLoop.window === undefined ? {} : { windowMs: parseDuration(raw.crashLoop.window)! }),
    };
  }
  if (raw.accessories !== undefined) settings.accessories = { ...raw.accessories };
  return settings;
}

async function assertFolder(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    // `ingot build packages/apii` in a workspace: name the packages there are.
    const workspace = info ? undefined : await workspaceAbove(dir);
    if (workspace) {
      throw new IngotError(`Cannot build ${dir} as the workspace ${workspace.root} has no such package`, { code: "workspace-package-unknown", hint: workspaceHint(workspace) });
    }
    throw new IngotError(`Cannot build ${dir} as it is not a folder`, { code: "app-not-found", hint: "Pass the app's folder, e.g. ingot build examples/hello" });
  }
}

/**
 * The runtime: ingot.yaml's, else the Node.js version the app names in engines.node, .nvmrc or
 * .node-version (in that order, as Heroku's buildpack and nvm read them), else ingot's pinned LTS.
 */
async function resolveRuntime(raw: Record<string, unknown>, pkg: PackageJson | undefined, dir: string): Promise<{ spec: RuntimeSpec; source: string }> {
  if (typeof raw.runtime === "string") {
    if (raw.runtime === "elf") return { spec: { kind: "elf" }, source: "ingot.yaml" };
    return { spec: { kind: "node", version: raw.runtime.split("@")[1] }, source: "ingot.yaml runtime" };
  }
  if (pkg === undefined) {
    throw new IngotError("Cannot tell how to run the app as it has no package.json and ingot.yaml sets no runtime", {
      code: "app-no-runtime",
      hint: "For a Node.js app add package.json; for any Linux program add runtime: elf and command: [./program] to ingot.yaml",
    });
  }
  if (pkg.engines?.node) return { spec: { kind: "node", version: pkg.engines.node }, source: "package.json engines.node" };
  for (const name of [".nvmrc", ".node-version"]) {
    const text = await readFile(join(dir, name), "utf8").catch(() => undefined);
    if (text !== undefined) return { spec: { kind: "node", version: versionFileSpec(text, join(dir, name)) }, source: name };
  }
  return { spec: { kind: "node", version: undefined }, source: "ingot's pinned LTS" };
}

/**
 * The version a .nvmrc or .node-version names: its first line without comments or a leading "v"
 * ("v20.11.1" → "20.11.1"); nvm's aliases for the newest release ("node", "stable") mean any version.
 */
function versionFileSpec(text: string, file: string): string {
  const line = text.split("\n").map((item) => item.replace(/#.*/, "").trim()).find(Boolean) ?? "";
  if (line === "node" || line === "stable" || line === "latest" || line === "current") return "*";
  const spec = line.replace(/^v(?=\d)/, "");
  if (spec === "" || spec.startsWith("lts/") || semver.validRange(spec) === null) {
    throw new IngotError(`Cannot tell which Node.js version ${file} names as ingot reads only versions and ranges: ${JSON.stringify(line)}`, {
      code: "runtime-version-file", hint: `Write a version or a major in ${basename(file)}, e.g. 22 or 22.11.0, or set runtime: node@22 in ingot.yaml`,
    });
  }
  return spec;
}

/**
 * How the app starts when ingot.yaml gives no command, as `npm start` would: the start script, else
 * main (ingot's own default), else server.js (npm start's default).
 */
async function defaultCommand(pkg: PackageJson | undefined, dir: string): Promise<{ command: string[]; source: string; start?: StartScript }> {
  // NestJS's `start` (nest start) runs its CLI, a devDependency; its `start:prod` runs the build's output.
  const script = ["start:prod", "start"].find((name) => pkg?.scripts?.[name] !== undefined);
  if (script !== undefined) {
    const start = parseStartScript(pkg!.scripts!, script);
    const command = start.program.kind === "node" ? start.program.argv : [`node_modules/.bin/${start.program.name}`, ...start.program.args];
    return { command, source: start.chain.join(" → "), start };
  }
  if (pkg?.main) return { command: ["node", pkg.main], source: "package.json main" };
  if (await stat(join(dir, "server.js")).then((info) => info.isFile(), () => false)) return { command: ["node", "server.js"], source: "server.js (npm start's default)" };
  throw new IngotError(`Cannot tell how to start the app in ${dir} as package.json has no start script and no main, and there is no server.js`, {
    code: "app-no-entry",
    hint: 'Add "start": "node server.js" to scripts in package.json, or command: [node, server.js] to ingot.yaml',
  });
}

/** The port the app gets as PORT: 8080, the convention of Heroku, Cloud Run and Fly, or the start script's PORT=3000. */
export const DEFAULT_PORT = 8080;

function defaultPort(start: StartScript | undefined): { port: number; source: string } {
  // A start script's PORT=3000 says where the app listens, so the default port follows it.
  const scriptPort = Number(start?.env.PORT);
  if (Number.isInteger(scriptPort) && scriptPort >= 1 && scriptPort <= 65535) return { port: scriptPort, source: `the start script's PORT=${scriptPort}` };
  return { port: DEFAULT_PORT, source: `ingot's default, PORT=${DEFAULT_PORT}` };
}

function normalizeHealthcheck(raw: unknown, ports: Record<string, number>): Healthcheck | false {
  const firstPort = Object.keys(ports)[0];
  if (raw === false) return false;
  if (raw === undefined) {
    return firstPort ? { type: "tcp", port: firstPort, intervalMs: 1000, timeoutMs: 2000, healthyThreshold: 1, startTimeoutMs: DEFAULT_START_TIMEOUT_MS } : false;
  }
  const check = raw as Record<string, unknown>;
  const timing = {
    intervalMs: parseDuration(check.interval) ?? 1000,
    timeoutMs: parseDuration(check.timeout) ?? 2000,
    healthyThreshold: (check.healthy as number | undefined) ?? 1,
    startTimeoutMs: parseDuration(check.startTimeout) ?? DEFAULT_START_TIMEOUT_MS,
  };
  const portOf = (ref: unknown): string => portName(ref ?? firstPort, ports);
  if ("tcp" in check) return { type: "tcp", port: portOf(check.tcp), ...timing };
  return { type: "http", path: check.path as string, port: portOf(check.port), ...timing };
}

function portName(ref: unknown, ports: Record<string, number>): string {
  if (typeof ref === "string" && ref in ports) return ref;
  const byNumber = Object.entries(ports).find(([, port]) => port === ref);
  if (byNumber) return byNumber[0];
  throw new ConfigError("ingot.yaml", [{ path: "healthcheck.port", message: `names no declared port: ${JSON.stringify(ref)}`, hint: `Declared ports: ${Object.keys(ports).join(", ") || "none"}` }]);
}

/** npm names ("@acme/Shop") made image names ("acme-shop"); what is still not one is refused by the caller. */
function sanitizeName(name: string | undefined): string | undefined {
  return name?.toLowerCase().replace(/^@/, "").replace(/[^a-z0-9._-]+/g, "-").replace(/([._-])[._-]+/g, "$1").replace(/^[._-]+|[._-]+$/g, "");
}

/** A name or version taken from package.json passes the same grammar as ingot.yaml's, reported against package.json. */
function assertFromPackageJson(file: string, key: string, original: string | undefined, derived: string | undefined, problemOf: (value: unknown) => string | undefined, hint: string): void {
  const reason = original === undefined ? undefined : problemOf(derived);
  if (reason) throw new ConfigError(file, [{ path: key, message: `${shortened(original)} gives the image ${key} ${shortened(derived)}, which ${reason}`, hint }]);
}

function stringify(env: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, String(value)]));
}
