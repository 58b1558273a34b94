// Instance records: what a restarted server needs to adopt a QEMU that still runs, or clean up after it.
import type { InstanceState } from "../instance/instance-state.ts";
import type { StateDatabase } from "./database.ts";

export type { InstanceState } from "../instance/instance-state.ts";

export interface InstanceRecord {
  id: string;
  environment: string | null;
  deployment: number | null;
  imageDigest: string;
  state: InstanceState;
  pid: number | null;
  /** The process's start time as the provider reads it: a pid with another start time is a stranger. */
  processStart: number | null;
  qmpSocket: string | null;
  /** Guest port → host port, e.g. { "8080": 41234 }. */
  ports: Record<string, number>;
  runDir: string | null;
  startedMs: number;
  stoppedMs: number | null;
}

/** What the provider learns while it starts the process; recorded as soon as it is known. */
export type InstanceProcess = Partial<Pick<InstanceRecord, "pid" | "processStart" | "qmpSocket" | "ports" | "runDir">>;

interface InstanceRow { id: string; environment: string | null; deployment: number | null; image_digest: string; state: InstanceState; pid: number | null; process_start: number | null; qmp_socket: string | null; ports: string; run_dir: string | null; started_ms: number; stopped_ms: number | null }

const FINAL: readonly InstanceState[] = ["stopped", "failed"];

/**
 * Persistence only: the Instance object decides transitions and logs them; this keeps the record.
 *
 * @example
 * const instances = new InstanceRecords(state);
 * instances.add({ id: "i-7f3a", environment: "prod", deployment: 12, imageDigest });
 * instances.update("i-7f3a", { pid: 4242, processStart: 991823, qmpSocket, ports: { "8080": 41234 }, runDir });
 * instances.setState("i-7f3a", "healthy"); // → "booting", the state it was in
 * instances.live("prod"); // what a restarted server tries to adopt
 */
export class InstanceRecords {
  constructor(private readonly state: StateDatabase) {}

  add(instance: { id: string; environment?: string; deployment?: number; imageDigest: string }): InstanceRecord {
    this.state.sqlite.prepare("INSERT INTO instances (id, environment, deployment, image_digest, state, started_ms) VALUES (?, ?, ?, ?, 'booting', ?)")
      .run(instance.id, instance.environment ?? null, instance.deployment ?? null, instance.imageDigest, Date.now());
    return this.get(instance.id)!;
  }

  update(id: string, process: InstanceProcess): void {
    const columns = { pid: process.pid, process_start: process.processStart, qmp_socket: process.qmpSocket, ports: process.ports && JSON.stringify(process.ports), run_dir: process.runDir };
    const given = Object.entries(columns).filter(([, value]) => value !== undefined);
    if (given.length === 0) return;
    this.state.sqlite.prepare(`UPDATE instances SET ${given.map(([column]) => `${column} = ?`).join(", ")} WHERE id = ?`).run(...given.map(([, value]) => value), id);
  }

  /** Records a new state and returns the one it replaces; a stopped or failed instance stays so. */
  setState(id: string, state: InstanceState): InstanceState {
    return this.state.transaction(() => {
      const was = this.get(id)?.state;
      if (was === undefined) throw new Error(`Instance ${id} has no record`);
      if (FINAL.includes(was) && was !== state) throw new Error(`Instance ${id} is ${was}, so it cannot become ${state}`);
      this.state.sqlite.prepare("UPDATE instances SET state = ?, stopped_ms = CASE WHEN ? THEN coalesce(stopped_ms, ?) END WHERE id = ?").run(state, FINAL.includes(state) ? 1 : 0, Date.now(), id);
      return was;
    });
  }

  get(id: string): InstanceRecord | undefined {
    const row = this.state.sqlite.prepare<[string], InstanceRow>("SELECT * FROM instances WHERE id = ?").get(id);
    return row && toRecord(row);
  }

  /** Instances not yet stopped or failed, in one environment or all, oldest first. */
  live(environment?: string): InstanceRecord[] {
    const rows = environment === undefined
      ? this.state.sqlite.prepare<[], InstanceRow>("SELECT * FROM instances WHERE state NOT IN ('stopped', 'failed') ORDER BY started_ms, id").all()
      : this.state.sqlite.prepare<[string], InstanceRow>("SELECT * FROM instances WHERE environment = ? AND state NOT IN ('stopped', 'failed') ORDER BY started_ms, id").all(environment);
    return rows.map(toRecord);
  }
}

function toRecord(row: InstanceRow): InstanceRecord {
  return {
    id: row.id, environment: row.environment, deployment: row.deployment, imageDigest: row.image_digest, state: row.state, pid: row.pid,
    processStart: row.process_start, qmpSocket: row.qmp_socket, ports: JSON.parse(row.ports) as Record<string, number>, runDir: row.run_dir,
    startedMs: row.started_ms, stoppedMs: row.stopped_ms,
  };
}
