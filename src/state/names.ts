// The names users give to environments, configuration keys and secrets, checked before they are stored.
import { IngotError } from "../errors.ts";
import { variableNameProblem } from "../metadata/variable-name.ts";
import type { StateDatabase } from "./database.ts";

const ENVIRONMENT_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * Returns an environment name that is safe in a path, a HAProxy section and a URL, or throws.
 *
 * @example
 * environmentName("staging-2"); // → "staging-2"
 */
export function environmentName(name: string): string {
  if (!ENVIRONMENT_NAME.test(name)) {
    throw new IngotError(`Cannot use ${JSON.stringify(name)} as an environment name as it must be a lowercase letter followed by up to 31 lowercase letters, digits or dashes`, {
      code: "environment-name-invalid",
      hint: "Use a name like dev, test, prod or staging-2",
    });
  }
  return name;
}

/**
 * Returns a configuration key or secret name, which reaches the app as an environment variable, or
 * throws. INGOT_* is refused: ingot sets those itself and a user value would shadow them.
 *
 * @example
 * variableName("DATABASE_URL", "config key"); // → "DATABASE_URL"
 */
export function variableName(name: string, what: "config key" | "secret name"): string {
  const problem = variableNameProblem(name);
  if (problem === "invalid") {
    throw new IngotError(`Cannot use ${JSON.stringify(name)} as a ${what} as it must be letters, digits and underscores, not starting with a digit`, {
      code: "variable-name-invalid",
      hint: "Use an environment variable name such as DATABASE_URL",
    });
  }
  if (problem === "reserved") {
    throw new IngotError(`Cannot use ${name} as a ${what} as names starting with INGOT_ are set by ingot`, {
      code: "variable-name-reserved",
      hint: "Choose a name without the INGOT_ prefix",
    });
  }
  return name;
}

/**
 * Returns a configuration or secret value, which must survive being an environment variable: a NUL
 * byte would cut it short in the guest without a word.
 *
 * @example
 * variableValue("PORT", "8080"); // → "8080"
 */
export function variableValue(name: string, value: string): string {
  if (value.includes("\0")) {
    throw new IngotError(`Cannot set ${name} as its value contains a NUL byte`, { code: "variable-value-invalid", hint: "Environment variables cannot hold NUL bytes; encode the value (base64)" });
  }
  return value;
}

/**
 * Refuses a name the other store already holds in the environment: a config key and a secret of the
 * same name would both become one environment variable, and which one wins would be a guess.
 */
export function assertNameFree(state: StateDatabase, environment: string, name: string, otherStore: "config" | "secrets"): void {
  const sql = otherStore === "config" ? "SELECT 1 FROM config_entries WHERE environment = ? AND key = ?" : "SELECT 1 FROM secrets WHERE environment = ? AND name = ?";
  if (state.sqlite.prepare(sql).get(environment, name) === undefined) return;
  const [it, remove] = otherStore === "config" ? ["a config key", "ingot config unset"] : ["a secret", "ingot secret rm"];
  throw new IngotError(`Cannot set ${name} in environment ${environment} as it is already ${it} there`, {
    code: "variable-name-taken",
    hint: `Remove it first (${remove} --env ${environment} ${name}); one name is one environment variable`,
  });
}

/**
 * Refuses to set or remove by hand a secret an accessory provides (its URL, with the password it
 * generated): the app would lose its database without a word, and the password would be gone.
 */
export function assertNotAccessoryVariable(state: StateDatabase, environment: string, name: string): void {
  const accessory = state.sqlite.prepare<[string, string], { name: string }>("SELECT name FROM accessories WHERE environment = ? AND variable = ?").get(environment, name);
  if (!accessory) return;
  throw new IngotError(`Cannot change the secret ${name} of environment ${environment} as its accessory ${accessory.name} provides it`, {
    code: "variable-accessory-owned",
    hint: `To use another database here, remove the accessory first (ingot accessory rm ${accessory.name} --env ${environment}; its data is kept), then set ${name}`,
  });
}
