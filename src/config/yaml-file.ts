// Reads ingot.yaml into plain values, refusing what YAML allows but a configuration must not
// (duplicate keys, alias bombs), and keeping baked variables as written: `0x1F` stays "0x1F".
import { readFile } from "node:fs/promises";
import { type Document, isAlias, isMap, isScalar, parseDocument } from "yaml";
import { IngotError } from "../errors.ts";
import { ConfigError } from "./config-error.ts";
import { isPlainObject } from "./schema.ts";

/** Far above what a real ingot.yaml uses, far below what makes expansion a resource attack. */
const MAX_ALIAS_COUNT = 100;

/**
 * @example
 * await readYamlConfig("examples/hello/ingot.yaml"); // { name: "hello", runtime: "node@22", … }
 */
export async function readYamlConfig(file: string): Promise<Record<string, unknown>> {
  const text = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw new IngotError(`Cannot read ${file} as ${error.message}`, { code: "config-unreadable", hint: "Check the file's permissions", cause: error });
  });
  if (text === undefined) return {};
  // logLevel error: library code never prints; yaml would warn on stderr about keys that are collections.
  const document = parseDocument(text, { uniqueKeys: true, logLevel: "error" });
  if (document.errors.length > 0) {
    throw new ConfigError(file, document.errors.map((error) => ({ path: `line ${error.linePos?.[0]?.line ?? "?"}`, message: error.message.split("\n")[0]! })));
  }
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // yaml throws a ReferenceError when aliases expand beyond maxAliasCount ("billion laughs").
    throw new ConfigError(file, [{ path: "(top level)", message: `uses aliases (*name) that expand too far: ${(error as Error).message}`, hint: "Write the repeated values out" }]);
  }
  if (value === null || value === undefined) return {};
  if (!isPlainObject(value)) throw new ConfigError(file, [{ path: "(top level)", message: "must be a mapping of keys" }]);
  keepSourceText(document, value, ["env"]);
  if (isPlainObject(value.environments)) for (const name of Object.keys(value.environments)) keepSourceText(document, value, ["environments", name, "env"]);
  return value;
}

/**
 * Replaces the numbers and booleans of the mapping at `path` by their source text: an environment
 * variable is a string, and `1.50` or `0x1F` must reach the app as written, not as 1.5 or 31.
 */
function keepSourceText(document: Document, value: Record<string, unknown>, path: string[]): void {
  const target = path.reduce<unknown>((node, key) => (isPlainObject(node) ? node[key] : undefined), value);
  const node = document.getIn(path, true);
  if (!isPlainObject(target) || !isMap(node)) return;
  for (const pair of node.items) {
    const item = isAlias(pair.value) ? pair.value.resolve(document) : pair.value;
    const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
    if (key === undefined || !isScalar(item) || item.source === undefined) continue;
    if (typeof item.value === "number" || typeof item.value === "boolean") target[key] = item.source;
  }
}
