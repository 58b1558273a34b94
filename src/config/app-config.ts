// Loads an app folder's configuration: ingot.yaml when present, defaults from package.json.
import { readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseDocument } from "yaml";
import { IngotError } from "../errors.ts";
import { validateAppConfig } from "./app-schema.ts";
import { type ConfigProblem, parseDuration, parseSizeMiB } from "./schema.ts";

export type RuntimeSpec = { kind: "node"; version: string | undefined } | { kind: "elf" };

export type Healthcheck =
  | { type: "http"; path: string; port: string; intervalMs: number; timeoutMs: number; healthyThreshold: number }
  | { type: "tcp"; port: string; intervalMs: number; timeoutMs: number; healthyThreshold: number };

/** The app's configuration, normalized: every default filled in. */
export interface AppConfig {
  dir: string;
  name: string;
  version: string;
  runtime: RuntimeSpec;
  /** Where the runtime choice came from, printed by the build ("ingot.yaml", "engines.node", "default"). */
  runtimeSource: string;
  command: string[];
  ports: Record<string, number>;
  healthcheck: Healthcheck | false;
  resources: { cpus: number; memoryMiB: number };
  stopTimeoutMs: number;
  files: { from: string; to: string }[];
  env: Record<string, string>;
  environments: Record<string, { env: Record<string, string> }>;
  /** True when the app is a Node.js project (has a package.json). */
  isNodeProject: boolean;
}

/** Problems in an app's configuration, all of them, each with its path. */
export class ConfigError extends IngotError {
  override name = "ConfigError";
  constructor(readonly file: string, readonly problems: ConfigProblem[]) {
    super(
      `Cannot use ${file} as it has ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n` +
        problems.map((p) => `  ${p.path}: ${p.message}${p.hint ? ` (${p.hint})` : ""}`).join("\n"),
      { code: "config-invalid", hint: "Fix the keys above; docs/config.md lists every key" },
    );
  }
}

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
  const raw = await readYaml(yamlFile);
  const pkg = await readPackageJson(join(appDir, "package.json"));

  const problems: ConfigProblem[] = [];
  validateAppConfig(raw, "", problems);
  if (problems.length > 0) throw new ConfigError(yamlFile, problems);

  const runtime = resolveRuntime(raw, pkg);
  const command = (raw.command as string[] | undefined) ?? defaultCommand(pkg, appDir);
  const ports = (raw.ports as Record<string, number> | undefined) ?? (runtime.spec.kind === "node" ? { http: 8080 } : {});
  const name = (raw.name as string | undefined) ?? sanitizeName(pkg?.name);
  if (!name) {
    throw new IngotError(`Cannot name the image of ${appDir} as neither ingot.yaml nor package.json gives a name`, {
      code: "config-no-name",
      hint: "Add name: my-app to ingot.yaml",
    });
  }
  const config: AppConfig = {
    dir: appDir,
    name,
    version: String(raw.version ?? pkg?.version ?? "latest"),
    runtime: runtime.spec,
    runtimeSource: runtime.source,
    command,
    ports,
    healthcheck: normalizeHealthcheck(raw.healthcheck, ports),
    resources: {
      cpus: (raw.resources as { cpus?: number } | undefined)?.cpus ?? 1,
      memoryMiB: parseSizeMiB((raw.resources as { memory?: string } | undefined)?.memory) ?? 256,
    },
    stopTimeoutMs: parseDuration(raw.stopTimeout) ?? 10_000,
    files: ((raw.files as (string | { from: string; to: string })[] | undefined) ?? []).map((entry) =>
      typeof entry === "string" ? { from: entry, to: `/app/${entry.replace(/^\.\//, "")}` } : entry,
    ),
    env: stringify((raw.env as Record<string, unknown> | undefined) ?? {}),
    environments: Object.fromEntries(
      Object.entries((raw.environments as Record<string, { env?: Record<string, unknown> }> | undefined) ?? {}).map(
        ([envName, value]) => [envName, { env: stringify(value?.env ?? {}) }],
      ),
    ),
    isNodeProject: pkg !== undefined,
  };
  return config;
}

interface PackageJson {
  name?: string;
  version?: string;
  main?: string;
  engines?: { node?: string };
  scripts?: Record<string, string>;
}

async function assertFolder(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new IngotError(`Cannot build ${dir} as it is not a folder`, { code: "app-not-found", hint: "Pass the app's folder, e.g. ingot build examples/hello" });
  }
}

async function readYaml(file: string): Promise<Record<string, unknown>> {
  const text = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw new IngotError(`Cannot read ${file} as ${error.message}`, { code: "config-unreadable", hint: "Check the file's permissions", cause: error });
  });
  if (text === undefined) return {};
  const document = parseDocument(text, { uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(file, document.errors.map((error) => ({ path: `line ${error.linePos?.[0]?.line ?? "?"}`, message: error.message.split("\n")[0]! })));
  }
  const value: unknown = document.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new ConfigError(file, [{ path: "(top level)", message: "must be a mapping of keys" }]);
  return value as Record<string, unknown>;
}

async function readPackageJson(file: string): Promise<PackageJson | undefined> {
  const text = await readFile(file, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as PackageJson;
  } catch (error) {
    throw new IngotError(`Cannot read ${file} as it is not valid JSON: ${(error as Error).message}`, { code: "package-json-invalid", hint: "Fix the JSON syntax", cause: error });
  }
}

function resolveRuntime(raw: Record<string, unknown>, pkg: PackageJson | undefined): { spec: RuntimeSpec; source: string } {
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
  return { spec: { kind: "node", version: undefined }, source: "ingot's pinned LTS" };
}

function defaultCommand(pkg: PackageJson | undefined, dir: string): string[] {
  const start = pkg?.scripts?.start;
  // Only a plain `node file` start script can run without a shell; anything else needs ingot.yaml.
  const plain = start ? /^node\s+([\w./-]+)$/.exec(start.trim()) : null;
  if (plain) return ["node", plain[1]!];
  if (pkg?.main) return ["node", pkg.main];
  throw new IngotError(`Cannot tell how to start the app in ${dir} as package.json has no main and no plain "node FILE" start script`, {
    code: "app-no-entry",
    hint: 'Add "main": "server.js" to package.json or command: [node, server.js] to ingot.yaml',
  });
}

function normalizeHealthcheck(raw: unknown, ports: Record<string, number>): Healthcheck | false {
  const firstPort = Object.keys(ports)[0];
  if (raw === false) return false;
  if (raw === undefined) {
    return firstPort ? { type: "tcp", port: firstPort, intervalMs: 1000, timeoutMs: 2000, healthyThreshold: 1 } : false;
  }
  const check = raw as Record<string, unknown>;
  const timing = {
    intervalMs: parseDuration(check.interval) ?? 1000,
    timeoutMs: parseDuration(check.timeout) ?? 2000,
    healthyThreshold: (check.healthy as number | undefined) ?? 1,
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

function sanitizeName(name: string | undefined): string | undefined {
  return name?.toLowerCase().replace(/^@/, "").replace(/[^a-z0-9._-]+/g, "-");
}

function stringify(env: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, String(value)]));
}
