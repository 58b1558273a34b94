// What ingot env rm changes in the state, once the environment's processes are gone: its variables
// and secrets are deleted and its row is reset (or deleted), so the next deploy starts it afresh.
import type { StateDatabase } from "./database.ts";
import { Environments } from "./environments.ts";

/** Created by the first migration and named in the docs: they always exist, so their row is only reset. */
const BUILT_IN = new Set(["dev", "test", "prod"]);

export interface EnvironmentReset {
  /** Runtime variables deleted (ingot config set). */
  variables: number;
  /** The user's secrets deleted; an accessory's own URL goes with its accessory, never here. */
  secrets: number;
  /** True when its row was deleted too: an environment beyond dev, test and prod that nothing recorded refers to. */
  forgotten: boolean;
}

/**
 * In one transaction: deletes the environment's variables and secrets (counted as one change of its
 * config version when there were any, so a later deploy never records a version that meant other
 * values), and clears its entry port, bind address, stopped, degraded and desired-instances marks.
 * Its history (deployments, instances, events, audit) is kept: a row they refer to stays, marked
 * removed so that no deploy before now counts as what it serves (Deployments.serving).
 *
 * @example
 * resetEnvironment(state, "dev"); // → { variables: 2, secrets: 1, forgotten: false }
 * new Environments(state).get("dev").entryPort; // → null
 */
export function resetEnvironment(state: StateDatabase, name: string): EnvironmentReset {
  const environments = new Environments(state);
  return state.transaction(() => {
    environments.get(name);
    const variables = state.sqlite.prepare("DELETE FROM config_entries WHERE environment = ?").run(name).changes;
    // An accessory that could not be removed keeps its URL: the app would lose its database for nothing.
    const secrets = state.sqlite.prepare("DELETE FROM secrets WHERE environment = @name AND name NOT IN (SELECT variable FROM accessories WHERE environment = @name)").run({ name }).changes;
    if (variables + secrets > 0) environments.bumpConfigVersion(name);
    if (!BUILT_IN.has(name) && !isReferenced(state, name)) {
      state.sqlite.prepare("DELETE FROM environments WHERE name = ?").run(name);
      return { variables, secrets, forgotten: true };
    }
    state.sqlite.prepare(`UPDATE environments SET entry_port = NULL, bind_address = '127.0.0.1', stopped_ms = NULL, degraded = NULL, desired_instances = NULL,
      removed_after_deployment = (SELECT coalesce(max(id), 0) FROM deployments WHERE environment = @name) WHERE name = @name`).run({ name });
    return { variables, secrets, forgotten: false };
  });
}

/** Deployments, instances and accessories name their environment by foreign key; events and audit do not. */
function isReferenced(state: StateDatabase, name: string): boolean {
  return state.sqlite.prepare<[{ name: string }], { found: number }>(`SELECT EXISTS (SELECT 1 FROM deployments WHERE environment = @name)
    OR EXISTS (SELECT 1 FROM instances WHERE environment = @name) OR EXISTS (SELECT 1 FROM accessories WHERE environment = @name) AS found`).get({ name })!.found === 1;
}
