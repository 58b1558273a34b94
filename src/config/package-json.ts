// package.json as ingot reads it: only the keys it uses, each checked for its type, so that a
// hand-edited or hostile package.json is a ConfigError naming the key rather than a crash.
import { readFile } from "node:fs/promises";
import { IngotError } from "../errors.ts";
import { ConfigError } from "./config-error.ts";
import { type Check, type ConfigProblem, isPlainObject, isString } from "./schema.ts";

export interface PackageJson {
  name?: string;
  version?: string;
  main?: string;
  engines?: { node?: string };
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const isStringMap: Check = (value, path, problems) => {
  if (!isPlainObject(value)) problems.push({ path, message: `must be an object of strings, got ${JSON.stringify(value)}` });
  else for (const [key, item] of Object.entries(value)) isString(item, `${path}.${key}`, problems);
};

/** The keys ingot reads; any other key is npm's business and left alone. */
const KEYS: Record<string, Check> = {
  name: isString,
  version: isString,
  main: isString,
  engines: (value, path, problems) => {
    if (!isPlainObject(value)) problems.push({ path, message: `must be an object, got ${JSON.stringify(value)}` });
    else if (value.node !== undefined) isString(value.node, `${path}.node`, problems);
  },
  scripts: isStringMap,
  dependencies: isStringMap,
  devDependencies: isStringMap,
};

/**
 * Reads and checks a package.json; undefined when there is none.
 *
 * @example
 * const pkg = await readPackageJson("examples/hello/package.json"); // { name: "hello", main: "server.js", … }
 */
export async function readPackageJson(file: string): Promise<PackageJson | undefined> {
  const text = await readFile(file, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const { reason, line, column } = jsonErrorPosition(text, (error as Error).message);
    throw new IngotError(`Cannot read ${file} as it is not valid JSON at line ${line}, column ${column}: ${reason}`, {
      code: "package-json-invalid", hint: `Fix the JSON syntax at ${file}:${line}:${column} (a trailing comma or a comment is the usual cause)`, cause: error,
    });
  }
  const problems: ConfigProblem[] = [];
  if (!isPlainObject(value)) problems.push({ path: "(top level)", message: `must be an object, got ${JSON.stringify(value)}` });
  else for (const [key, check] of Object.entries(KEYS)) if (value[key] !== undefined) check(value[key], key, problems);
  if (problems.length > 0) throw new ConfigError(file, problems);
  return value as PackageJson;
}

/**
 * Where JSON.parse gave up, as a line and column an editor can jump to: node reports an offset
 * ("at position 35"), or nothing at all when the text ends too early.
 *
 * @example
 * jsonErrorPosition('{\n  "a": 1,\n}', "Expected double-quoted property name in JSON at position 12"); // { reason: "Expected double-quoted property name", line: 3, column: 1 }
 */
export function jsonErrorPosition(text: string, message: string): { reason: string; line: number; column: number } {
  const offset = Number(/at position (\d+)/.exec(message)?.[1] ?? text.length);
  const before = text.slice(0, offset).split("\n");
  const reason = message.replace(/ in JSON at position \d+.*$/, "").replace(/^JSON\.parse: /, "");
  return { reason, line: before.length, column: before.at(-1)!.length + 1 };
}
