// The schema of ingot.yaml: each key's type, meaning and check, kept as data so that validation and
// the reference documentation (docs/config.md) come from the same place.
import { variableNameProblem } from "../metadata/variable-name.ts";
import { imageNameProblem, imageVersionProblem, shortened } from "../vault/tag-name.ts";

/** A problem found at one path of the configuration. */
export interface ConfigProblem {
  path: string;
  message: string;
  hint?: string;
}

/** Checks one value; pushes problems instead of throwing so that every error is reported at once. */
export type Check = (value: unknown, path: string, problems: ConfigProblem[]) => void;

/** One key of a mapping: what it means and how it is checked. */
export interface KeySpec {
  description: string;
  check: Check;
}

const describe = shortened;

/** The guest's init reads its command and environment as NUL-separated lists: a NUL would split one item in two. */
const NUL_MESSAGE = "must not contain a NUL byte, which would split it in two inside the guest";

export const isString: Check = (value, path, problems) => {
  if (typeof value !== "string" || value === "") problems.push({ path, message: `must be a non-empty string, got ${describe(value)}` });
  else if (value.includes("\0")) problems.push({ path, message: NUL_MESSAGE });
};

export const isImageName: Check = (value, path, problems) => {
  const reason = imageNameProblem(value);
  if (reason) problems.push({ path, message: `${reason}, got ${describe(value)}`, hint: "Use for example \"my-app\"" });
};

export const isImageVersion: Check = (value, path, problems) => {
  const reason = imageVersionProblem(value);
  if (reason) problems.push({ path, message: `${reason}, got ${describe(value)}`, hint: "Use for example \"1.0.0\" (quoted, so YAML keeps it a string)" });
};

export const isName: Check = (value, path, problems) => {
  if (typeof value !== "string" || !/^[a-z0-9][a-z0-9._-]{0,62}$/.test(value)) {
    problems.push({ path, message: `must be a lowercase name (a-z, 0-9, '.', '_', '-'), got ${describe(value)}`, hint: "Use for example \"my-app\"" });
  }
};

/** Any string without a NUL, the empty one included: many programs take "" to turn a feature off. */
const isArgument: Check = (value, path, problems) => {
  if (typeof value !== "string") problems.push({ path, message: `must be a string, got ${describe(value)}`, hint: 'Quote it in YAML, e.g. "" or "8080"' });
  else if (value.includes("\0")) problems.push({ path, message: NUL_MESSAGE });
};

/** An argv: the program must be named; its arguments may be empty ([redis-server, --save, ""]). */
export const isCommand: Check = (value, path, problems) => {
  if (!Array.isArray(value) || value.length === 0) {
    problems.push({ path, message: `must be a non-empty list of strings, got ${describe(value)}`, hint: "Write it as a YAML list, for example [node, server.js]" });
    return;
  }
  isString(value[0], `${path}[0]`, problems);
  value.slice(1).forEach((item, index) => isArgument(item, `${path}[${index + 1}]`, problems));
};

export const isPort: Check = (value, path, problems) => {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 65535) {
    problems.push({ path, message: `must be a port number from 1 to 65535, got ${describe(value)}` });
  }
};

/** Baked variables all end up in the app's environment, which Linux bounds (execve fails with E2BIG). */
export const MAX_ENV_VALUE_BYTES = 32 * 1024;
/** Per mapping; `env` plus one `environments.<name>.env` stay under 128 KiB together. */
export const MAX_ENV_MAP_BYTES = 64 * 1024;

export const isEnvMap: Check = (value, path, problems) => {
  if (!isPlainObject(value)) {
    problems.push({ path, message: `must be a mapping of NAME: value, got ${describe(value)}` });
    return;
  }
  let totalBytes = 0;
  for (const [key, item] of Object.entries(value)) {
    const itemPath = keyPath(path, key);
    const nameProblem = variableNameProblem(key);
    if (nameProblem === "invalid") problems.push({ path: itemPath, message: "is not a valid environment variable name", hint: "Use letters, digits and _, not starting with a digit" });
    else if (nameProblem === "reserved") problems.push({ path: itemPath, message: "is reserved as INGOT_ variables are set by ingot", hint: "Choose another name; INGOT_ENV comes from --env" });
    if (!["string", "number", "boolean"].includes(typeof item)) {
      problems.push({ path: itemPath, message: `must be a string, number or boolean, got ${describe(item)}` });
      continue;
    }
    const text = String(item);
    const bytes = Buffer.byteLength(text);
    if (text.includes("\0")) problems.push({ path: itemPath, message: NUL_MESSAGE });
    if (bytes > MAX_ENV_VALUE_BYTES) problems.push({ path: itemPath, message: `is ${bytes} bytes long, more than the ${MAX_ENV_VALUE_BYTES} a baked variable may hold`, hint: "Put large data in a file (files in ingot.yaml)" });
    totalBytes += Buffer.byteLength(key) + bytes + 2;
  }
  if (totalBytes > MAX_ENV_MAP_BYTES) {
    problems.push({ path, message: `holds ${totalBytes} bytes of variables, more than the ${MAX_ENV_MAP_BYTES} allowed`, hint: "Put large data in a file (files in ingot.yaml)" });
  }
};

/** Durations are written like `500ms`, `2s`, `1m`; returns milliseconds or undefined when malformed. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === "number" && value >= 0) return value * 1000;
  const match = typeof value === "string" ? /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(value) : null;
  if (!match) return undefined;
  const scale = { ms: 1, s: 1000, m: 60_000 }[match[2] as "ms" | "s" | "m"];
  return Math.round(Number(match[1]) * scale);
}

export const isDuration: Check = (value, path, problems) => {
  if (parseDuration(value) === undefined) problems.push({ path, message: `must be a duration like 500ms, 2s or 1m, got ${describe(value)}` });
};

/** A duration no longer than `maxMs`, e.g. the stop timeout: a typo of 10h would hang every stop. */
export function durationAtMost(maxMs: number): Check {
  return (value, path, problems) => {
    const ms = parseDuration(value);
    if (ms === undefined || ms > maxMs) problems.push({ path, message: `must be a duration from 0 to ${maxMs / 60_000}m like 500ms, 2s or 1m, got ${describe(value)}` });
  };
}

/** Sizes are written like `256M`, `1G` or `512MiB`; returns MiB or undefined when malformed. */
export function parseSizeMiB(value: unknown): number | undefined {
  const match = typeof value === "string" ? /^(\d+)\s*(M|MB|MiB|G|GB|GiB)$/i.exec(value) : null;
  if (typeof value === "number" && Number.isInteger(value) && value > 0) return value;
  if (!match) return undefined;
  return Number(match[1]) * (match[2]!.toUpperCase().startsWith("G") ? 1024 : 1);
}

/** Bounds of an instance's memory: below 64M no image boots, above 64G is a typo on one host. */
export const MIN_MEMORY_MIB = 64;
export const MAX_MEMORY_MIB = 64 * 1024;

export const isSize: Check = (value, path, problems) => {
  const mib = parseSizeMiB(value);
  if (mib === undefined || mib < MIN_MEMORY_MIB || mib > MAX_MEMORY_MIB) problems.push({ path, message: `must be a memory size from 64M to 64G like 256M or 1G, got ${describe(value)}` });
};

export const isPositiveInteger: Check = (value, path, problems) => {
  if (!Number.isInteger(value) || (value as number) < 1) problems.push({ path, message: `must be an integer ≥ 1, got ${describe(value)}` });
};

export function integerBetween(min: number, max: number): Check {
  return (value, path, problems) => {
    if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) problems.push({ path, message: `must be an integer from ${min} to ${max}, got ${describe(value)}` });
  };
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A mapping with known keys only; unknown keys are rejected with the closest known one as hint. */
export function mapping(keys: Record<string, KeySpec>, required: string[] = []): Check {
  return (value, path, problems) => {
    if (!isPlainObject(value)) {
      problems.push({ path: path || "(top level)", message: `must be a mapping, got ${describe(value)}` });
      return;
    }
    for (const [key, item] of Object.entries(value)) {
      // Own keys only: "valueOf" or "constructor" must be unknown keys, not Object.prototype's functions.
      const spec = Object.hasOwn(keys, key) ? keys[key] : undefined;
      const itemPath = keyPath(path, key);
      if (spec) spec.check(item, itemPath, problems);
      else problems.push({ path: itemPath, message: "is not a known key", hint: suggestion(key, Object.keys(keys)) });
    }
    for (const key of required) {
      if (!(key in value)) problems.push({ path: keyPath(path, key), message: "is required" });
    }
  };
}

/** A mapping whose keys are user-chosen names and whose values all follow one check. */
export function namedMap(item: Check): Check {
  return (value, path, problems) => {
    if (!isPlainObject(value)) {
      problems.push({ path, message: `must be a mapping of name: value, got ${describe(value)}` });
      return;
    }
    for (const [key, entry] of Object.entries(value)) {
      isName(key, keyPath(path, key), problems);
      item(entry, keyPath(path, key), problems);
    }
  };
}

/** The path of a key; an odd key (a NUL, a newline, a dot) is quoted so the path stays one readable line. */
function keyPath(path: string, key: string): string {
  const shown = /^[\w-]{1,64}$/.test(key) ? key : shortened(key);
  return path ? `${path}.${shown}` : shown;
}

function suggestion(key: string, known: string[]): string {
  const close = known.filter((candidate) => editDistance(key, candidate) <= 2);
  return close.length > 0 ? `Did you mean ${close.map((c) => `"${c}"`).join(" or ")}?` : `Known keys: ${known.join(", ")}`;
}

/** Levenshtein distance; small strings only (config keys, tags, versions). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
