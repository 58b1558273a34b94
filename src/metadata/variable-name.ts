// The names of an app's environment variables: one rule for ingot.yaml, `ingot run -e`, secrets and
// the control plane's config and secret stores. Each caller words its own error.

/** A POSIX-portable variable name; init also rejects empty names and names with "=". */
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** ingot sets INGOT_ENV, INGOT_IMAGE, …: a user value would shadow what the app relies on. */
export const RESERVED_PREFIX = "INGOT_";

/**
 * @example
 * variableNameProblem("LOG_LEVEL"); // undefined
 * variableNameProblem("9LIVES"); // "invalid"
 * variableNameProblem("INGOT_ENV"); // "reserved"
 */
export function variableNameProblem(name: string): "invalid" | "reserved" | undefined {
  if (!NAME.test(name)) return "invalid";
  return name.startsWith(RESERVED_PREFIX) ? "reserved" : undefined;
}
