// The schema of ingot.yaml: each key's type, meaning and check, kept as data so that validation and
// the reference documentation (docs/config.md) come from the same place.

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

const describe = (value: unknown): string => JSON.stringify(value) ?? String(value);

export const isString: Check = (value, path, problems) => {
  if (typeof value !== "string" || value === "") problems.push({ path, message: `must be a non-empty string, got ${describe(value)}` });
};

export const isName: Check = (value, path, problems) => {
  if (typeof value !== "string" || !/^[a-z0-9][a-z0-9._-]{0,62}$/.test(value)) {
    problems.push({ path, message: `must be a lowercase name (a-z, 0-9, '.', '_', '-'), got ${describe(value)}`, hint: "Use for example \"my-app\"" });
  }
};

export const isStringList: Check = (value, path, problems) => {
  if (!Array.isArray(value) || value.length === 0) {
    problems.push({ path, message: `must be a non-empty list of strings, got ${describe(value)}`, hint: "Write it as a YAML list, for example [node, server.js]" });
    return;
  }
  value.forEach((item, index) => isString(item, `${path}[${index}]`, problems));
};

export const isPort: Check = (value, path, problems) => {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 65535) {
    problems.push({ path, message: `must be a port number from 1 to 65535, got ${describe(value)}` });
  }
};

export const isEnvMap: Check = (value, path, problems) => {
  if (!isPlainObject(value)) {
    problems.push({ path, message: `must be a mapping of NAME: value, got ${describe(value)}` });
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) problems.push({ path: `${path}.${key}`, message: `is not a valid environment variable name` });
    if (!["string", "number", "boolean"].includes(typeof item)) {
      problems.push({ path: `${path}.${key}`, message: `must be a string, number or boolean, got ${describe(item)}` });
    }
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

/** Sizes are written like `256M`, `1G` or `512MiB`; returns MiB or undefined when malformed. */
export function parseSizeMiB(value: unknown): number | undefined {
  const match = typeof value === "string" ? /^(\d+)\s*(M|MB|MiB|G|GB|GiB)$/i.exec(value) : null;
  if (typeof value === "number" && Number.isInteger(value) && value > 0) return value;
  if (!match) return undefined;
  return Number(match[1]) * (match[2]!.toUpperCase().startsWith("G") ? 1024 : 1);
}

export const isSize: Check = (value, path, problems) => {
  const mib = parseSizeMiB(value);
  if (mib === undefined || mib < 16) problems.push({ path, message: `must be a memory size of at least 16M like 256M or 1G, got ${describe(value)}` });
};

export const isPositiveInteger: Check = (value, path, problems) => {
  if (!Number.isInteger(value) || (value as number) < 1) problems.push({ path, message: `must be an integer ≥ 1, got ${describe(value)}` });
};

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
      const spec = keys[key];
      const itemPath = path ? `${path}.${key}` : key;
      if (spec) spec.check(item, itemPath, problems);
      else problems.push({ path: itemPath, message: "is not a known key", hint: suggestion(key, Object.keys(keys)) });
    }
    for (const key of required) {
      if (!(key in value)) problems.push({ path: path ? `${path}.${key}` : key, message: "is required" });
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
      isName(key, `${path}.${key}`, problems);
      item(entry, `${path}.${key}`, problems);
    }
  };
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
