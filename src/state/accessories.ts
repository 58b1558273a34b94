// Accessory records: what a restarted server needs to adopt an environment's PostgreSQL, or start it again.
import type { StateDatabase } from "./database.ts";

export interface AccessoryRecord {
  environment: string;
  name: string;
  kind: string;
  /** The variable its URL reaches the app as: a secret of the environment that only the accessory sets. */
  variable: string;
  /** Where the guest reaches it inside QEMU's user network (ACCESSORY_GUEST_HOST:guestPort). */
  guestPort: number;
  /** The folder of its unix socket, which QEMU's guestfwd connectors open. */
  socketDir: string;
  /** The group that may enter socketDir: the environment's QEMUs get it (a root ingot only). */
  socketGid: number | null;
  pid: number | null;
  /** The process's start time (process-identity.ts): a pid with another one is a stranger. */
  processStart: string | null;
  createdMs: number;
}

interface AccessoryRow { environment: string; name: string; kind: string; variable: string; guest_port: number; socket_dir: string; socket_gid: number | null; pid: number | null; process_start: string | null; created_ms: number }

/**
 * Persistence only: accessories.ts decides, this keeps the record.
 *
 * @example
 * const records = new AccessoryRecords(state);
 * records.add({ environment: "dev", name: "db", kind: "postgres", variable: "DATABASE_URL", guestPort: 5432, socketDir, socketGid: null });
 * records.setProcess("dev", "db", { pid: 4242, processStart: "991823" });
 * records.list("dev"); // [{ name: "db", … }]
 */
export class AccessoryRecords {
  constructor(private readonly state: StateDatabase) {}

  add(record: Omit<AccessoryRecord, "pid" | "processStart" | "createdMs">): AccessoryRecord {
    this.state.sqlite.prepare("INSERT INTO accessories (environment, name, kind, variable, guest_port, socket_dir, socket_gid, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      .run(record.environment, record.name, record.kind, record.variable, record.guestPort, record.socketDir, record.socketGid, Date.now());
    return this.get(record.environment, record.name)!;
  }

  get(environment: string, name: string): AccessoryRecord | undefined {
    const row = this.state.sqlite.prepare<[string, string], AccessoryRow>("SELECT * FROM accessories WHERE environment = ? AND name = ?").get(environment, name);
    return row && fromRow(row);
  }

  /** One environment's accessories, or every one; by environment, then name. */
  list(environment?: string): AccessoryRecord[] {
    const rows = environment === undefined
      ? this.state.sqlite.prepare<[], AccessoryRow>("SELECT * FROM accessories ORDER BY environment, name").all()
      : this.state.sqlite.prepare<[string], AccessoryRow>("SELECT * FROM accessories WHERE environment = ? ORDER BY name").all(environment);
    return rows.map(fromRow);
  }

  /** The accessory that provides `variable` in the environment, if one does. */
  providing(environment: string, variable: string): AccessoryRecord | undefined {
    const row = this.state.sqlite.prepare<[string, string], AccessoryRow>("SELECT * FROM accessories WHERE environment = ? AND variable = ?").get(environment, variable);
    return row && fromRow(row);
  }

  setProcess(environment: string, name: string, process: { pid: number; processStart: string } | null): void {
    this.state.sqlite.prepare("UPDATE accessories SET pid = ?, process_start = ? WHERE environment = ? AND name = ?")
      .run(process?.pid ?? null, process?.processStart ?? null, environment, name);
  }

  remove(environment: string, name: string): void {
    this.state.sqlite.prepare("DELETE FROM accessories WHERE environment = ? AND name = ?").run(environment, name);
  }
}

function fromRow(row: AccessoryRow): AccessoryRecord {
  return {
    environment: row.environment, name: row.name, kind: row.kind, variable: row.variable, guestPort: row.guest_port,
    socketDir: row.socket_dir, socketGid: row.socket_gid, pid: row.pid, processStart: row.process_start, createdMs: row.created_ms,
  };
}
