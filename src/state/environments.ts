// Environments (dev, test, prod and any declared in ingot.yaml): their entry point and config version.
import { IngotError } from "../errors.ts";
import type { StateDatabase } from "./database.ts";
import { environmentName } from "./names.ts";

export interface Environment {
  name: string;
  /** The entry point's stable port; null until the first deploy picks one. */
  entryPort: number | null;
  bindAddress: string;
  /** Counts every change to the environment's configuration and secrets. */
  configVersion: number;
  createdMs: number;
  /** When ingot stop stopped it; null while it serves (or has never been deployed). */
  stoppedMs: number | null;
  /** Set when its serving image kept failing (a crash loop): nothing replaces its instances until a deploy or ingot stop. */
  degraded: Degraded | null;
  /** Instances it is kept at, set by ingot scale; null means the number its serving image says (capacity.ts). */
  desiredInstances: number | null;
  /** Set by ingot env rm: the last deployment then (0 for none); it and those before are history, not what it serves. */
  removedAfterDeployment: number | null;
}

/** Why an environment is degraded, with the figures of the rule it broke. */
export interface Degraded {
  sinceMs: number;
  imageRef: string;
  imageDigest: string;
  /** Instances of the image that failed within the window (at least the rule's threshold). */
  failures: number;
  windowMs: number;
  /** The last failure's reason: "its app exited with status 1". */
  lastReason: string;
}

interface EnvironmentRow { name: string; entry_port: number | null; bind_address: string; config_version: number; created_ms: number; stopped_ms: number | null; degraded: string | null; desired_instances: number | null; removed_after_deployment: number | null }

/**
 * The environments table. dev, test and prod exist from the first migration on.
 *
 * @example
 * const environments = new Environments(state);
 * environments.setEntryPoint("prod", { port: 8080, bindAddress: "0.0.0.0" });
 * environments.get("prod").configVersion; // → 0
 */
export class Environments {
  constructor(private readonly state: StateDatabase) {}

  /** Every environment, in the order they were created. */
  list(): Environment[] {
    return this.state.sqlite.prepare<[], EnvironmentRow>("SELECT * FROM environments ORDER BY rowid").all().map(toEnvironment);
  }

  /** The environment called `name`; an unknown one is an error naming those that exist. */
  get(name: string): Environment {
    const row = this.state.sqlite.prepare<[string], EnvironmentRow>("SELECT * FROM environments WHERE name = ?").get(environmentName(name));
    if (row === undefined) {
      throw new IngotError(`Cannot find environment ${name} as it does not exist: known are ${this.list().map((environment) => environment.name).join(", ")}`, {
        code: "environment-unknown",
        hint: "Declare it under environments: in ingot.yaml, or see ingot env ls",
      });
    }
    return toEnvironment(row);
  }

  /** Creates the environment unless it exists (ingot.yaml may declare more than the default three). */
  ensure(name: string): Environment {
    this.state.sqlite.prepare("INSERT INTO environments (name, created_ms) VALUES (?, ?) ON CONFLICT DO NOTHING").run(environmentName(name), Date.now());
    return this.get(name);
  }

  /** Records the entry point's address; a port another environment holds is refused. */
  setEntryPoint(name: string, entryPoint: { port: number; bindAddress: string }): Environment {
    return this.state.transaction(() => {
      this.get(name);
      const holder = this.state.sqlite.prepare<[number, string], { name: string }>("SELECT name FROM environments WHERE entry_port = ? AND name != ?").get(entryPoint.port, name);
      if (holder !== undefined) {
        throw new IngotError(`Cannot give environment ${name} entry port ${entryPoint.port} as environment ${holder.name} has it`, {
          code: "entry-port-taken",
          hint: `Choose another port under environments.${name} in ingot.yaml`,
        });
      }
      this.state.sqlite.prepare("UPDATE environments SET entry_port = ?, bind_address = ? WHERE name = ?").run(entryPoint.port, entryPoint.bindAddress, name);
      return this.get(name);
    });
  }

  /** Marks the environment stopped (ingot stop) or serving again (a deploy that succeeded); either clears degraded. */
  setStopped(name: string, stopped: boolean): void {
    this.get(name);
    this.state.sqlite.prepare("UPDATE environments SET stopped_ms = ?, degraded = NULL WHERE name = ?").run(stopped ? Date.now() : null, name);
  }

  /** Marks the environment degraded (its serving image is in a crash loop); a deploy or a stop clears it. */
  setDegraded(name: string, degraded: Degraded): void {
    this.get(name);
    this.state.sqlite.prepare("UPDATE environments SET degraded = ? WHERE name = ?").run(JSON.stringify(degraded), name);
  }

  /** Keeps the environment at `instances` (ingot scale), or at its serving image's number again with null. */
  setDesiredInstances(name: string, instances: number | null): Environment {
    this.get(name);
    this.state.sqlite.prepare("UPDATE environments SET desired_instances = ? WHERE name = ?").run(instances, name);
    return this.get(name);
  }

  /** Counts one more change to the environment's configuration; call inside the change's transaction. */
  bumpConfigVersion(name: string): number {
    this.get(name);
    return this.state.sqlite.prepare<[string], { config_version: number }>("UPDATE environments SET config_version = config_version + 1 WHERE name = ? RETURNING config_version").get(name)!.config_version;
  }
}

function toEnvironment(row: EnvironmentRow): Environment {
  return { name: row.name, entryPort: row.entry_port, bindAddress: row.bind_address, configVersion: row.config_version, createdMs: row.created_ms, stoppedMs: row.stopped_ms,
    degraded: row.degraded === null ? null : JSON.parse(row.degraded) as Degraded, desiredInstances: row.desired_instances, removedAfterDeployment: row.removed_after_deployment };
}
