// The fields of an API request body, checked: a route gets typed values or the client a clear error.
import { IngotError } from "../errors.ts";

export function text(body: unknown, field: string): string {
  const value = (body as Record<string, unknown> | undefined)?.[field];
  if (typeof value !== "string") throw new IngotError(`Cannot use the request as ${field} is not a string`, { code: "api-bad-request", hint: "Use the ingot CLI, or send JSON with the fields the route takes" });
  return value;
}

/** An object of strings; a list of strings becomes an object of their names (for unset). */
export function strings(body: unknown, field: string): Record<string, string> {
  const value = (body as Record<string, unknown> | undefined)?.[field];
  const entries = Array.isArray(value) ? value.map((item) => [item, ""]) : Object.entries((value ?? null) as object ?? {});
  if (value === null || typeof value !== "object" || entries.some(([key, item]) => typeof key !== "string" || typeof item !== "string")) {
    throw new IngotError(`Cannot use the request as ${field} is not a list or object of strings`, { code: "api-bad-request", hint: "Use the ingot CLI" });
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

/** A string field that may be absent: { field: value } or {}. */
export function optional<K extends string>(body: unknown, field: K): Partial<Record<K, string>> {
  const value = (body as Record<string, unknown> | undefined)?.[field];
  if (value === undefined || value === null) return {};
  return { [field]: text(body, field) } as Partial<Record<K, string>>;
}

/** A list of strings, in order, repeats kept (a command's arguments). */
export function list(body: unknown, field: string): string[] {
  const value = (body as Record<string, unknown> | undefined)?.[field];
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) {
    throw new IngotError(`Cannot use the request as ${field} is not a list of strings`, { code: "api-bad-request", hint: "Use the ingot CLI" });
  }
  return value as string[];
}
