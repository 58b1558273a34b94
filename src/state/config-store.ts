// Runtime configuration (ingot config set|unset|ls): plain variables per environment, versioned.
import type { StateDatabase } from "./database.ts";
import { Environments } from "./environments.ts";
import { assertNameFree, variableName, variableValue } from "./names.ts";

export interface ConfigEntry {
  key: string;
  value: string;
  /** The environment's config version this value was set in. */
  version: number;
}

/**
 * Each call that changes something is one transaction and one new config version of the
 * environment (shared with its secrets); a call that changes nothing keeps the version.
 *
 * @example
 * const config = new ConfigStore(state);
 * config.set("prod", { LOG_LEVEL: "info", WORKERS: "4" }); // → 1
 * config.unset("prod", ["WORKERS"]); // → 2
 * config.snapshot("prod"); // → { version: 2, values: { LOG_LEVEL: "info" } }
 */
export class ConfigStore {
  readonly #environments: Environments;

  constructor(private readonly state: StateDatabase) {
    this.#environments = new Environments(state);
  }

  /** Sets keys to values and returns the environment's config version afterwards. */
  set(environment: string, values: Record<string, string>): number {
    const entries = Object.entries(values).map(([key, value]) => [variableName(key, "config key"), variableValue(key, value)] as const);
    return this.state.transaction(() => {
      const current = this.snapshot(environment);
      const changed = entries.filter(([key, value]) => current.values[key] !== value);
      if (changed.length === 0) return current.version;
      for (const [key] of changed) assertNameFree(this.state, environment, key, "secrets");
      const version = this.#environments.bumpConfigVersion(environment);
      const upsert = this.state.sqlite.prepare("INSERT INTO config_entries (environment, key, value, version) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET value = excluded.value, version = excluded.version");
      for (const [key, value] of changed) upsert.run(environment, key, value, version);
      return version;
    });
  }

  /** Removes keys (absent ones are ignored) and returns the environment's config version afterwards. */
  unset(environment: string, keys: string[]): number {
    return this.state.transaction(() => {
      const current = this.snapshot(environment);
      const present = keys.filter((key) => Object.hasOwn(current.values, key));
      if (present.length === 0) return current.version;
      const remove = this.state.sqlite.prepare("DELETE FROM config_entries WHERE environment = ? AND key = ?");
      for (const key of present) remove.run(environment, key);
      return this.#environments.bumpConfigVersion(environment);
    });
  }

  /** Every entry, sorted by key. */
  list(environment: string): ConfigEntry[] {
    this.#environments.get(environment);
    return this.state.sqlite.prepare<[string], ConfigEntry>("SELECT key, value, version FROM config_entries WHERE environment = ? ORDER BY key").all(environment);
  }

  /** The values and the config version they make up, read together. */
  snapshot(environment: string): { version: number; values: Record<string, string> } {
    return this.state.read(() => ({
      version: this.#environments.get(environment).configVersion,
      values: Object.fromEntries(this.list(environment).map((entry) => [entry.key, entry.value])),
    }));
  }
}
