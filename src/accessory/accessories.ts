// An environment's accessories as the control plane runs them: added (by `ingot accessory add` or
// a deploy whose ingot.yaml declares them), started with the server and before a deploy boots,
// reached by the environment's instances through a QEMU guestfwd, removed with or without data.
import { randomBytes, randomInt } from "node:crypto";
import { rm } from "node:fs/promises";
import { IngotError } from "../errors.ts";
import { isRunning } from "../process/process-identity.ts";
import { type AccessoryRecord, AccessoryRecords } from "../state/accessories.ts";
import { ConfigStore } from "../state/config-store.ts";
import type { StateDatabase } from "../state/database.ts";
import { Environments } from "../state/environments.ts";
import type { SecretStore } from "../state/secret-store.ts";
import { ACCESSORY_GUEST_HOST } from "../metadata/metadata-server.ts";
import type { GuestAccess } from "../vm/qemu-args.ts";
import { QEMU_ID_BASE, QEMU_ID_COUNT } from "../vm/qemu-user.ts";
import { runFolderBase } from "../vm/run-folder.ts";
import { accessoryKind, accessoryName, accessoryVariable, databaseUrl, freeGuestPort, passwordOf } from "./accessory-kind.ts";
import { findPostgres } from "./postgres-install.ts";
import { psqlArgs, postgresLayout, SOCKET_PORT, socketFolder } from "./postgres-plan.ts";
import { logTail, postgresUser, prepareCluster, startPostgres, stopPostgres } from "./postgres-process.ts";

export interface AccessoryView {
  environment: string;
  name: string;
  kind: string;
  /** The variable its URL reaches the app as (a secret of the environment). */
  variable: string;
  /** Where the app reaches it, inside QEMU's user network. */
  guestAddress: string;
  state: "running" | "stopped";
  pid: number | null;
  socketDir: string;
  dataDir: string;
  logFile: string;
  createdMs: number;
}

/**
 * @example
 * const accessories = new Accessories(state, secrets, home, console.error);
 * await accessories.add("dev", "postgres", "db"); // DATABASE_URL is now a secret of dev
 * accessories.guestAccess("dev"); // { endpoints: [{ guestHost: "10.0.2.102", guestPort: 5432, socket: "/tmp/ingot-pg-…/.s.PGSQL.5432" }], groups: […] }
 */
export class Accessories {
  readonly #records: AccessoryRecords;
  readonly #environments: Environments;
  /** One change at a time per accessory: a deploy's start and an `rm` must not cross. */
  readonly #busy = new Map<string, Promise<unknown>>();
  /** The last reason each accessory could not start, by environment and name. */
  readonly #failures = new Map<string, string>();

  constructor(private readonly state: StateDatabase, private readonly secrets: SecretStore, private readonly home: string, private readonly log: (line: string) => void = () => {}) {
    this.#records = new AccessoryRecords(state);
    this.#environments = new Environments(state);
  }

  /** Adds an accessory and starts it; one that exists with that kind is only started. */
  async add(environment: string, kind: string, name = "db"): Promise<AccessoryView> {
    const known = accessoryKind(kind);
    accessoryName(name);
    this.#environments.get(environment);
    return this.#serially(environment, name, async () => {
      const existing = this.#records.get(environment, name);
      if (existing && existing.kind !== known) {
        throw new IngotError(`Cannot add accessory ${name} of kind ${known} to ${environment} as it is a ${existing.kind} there`, {
          code: "accessory-kind-mismatch", hint: `Give it another name (--name), or remove it first: ingot accessory rm ${name} --env ${environment}`,
        });
      }
      const record = existing ?? (await this.#create(environment, name, known));
      await this.#start(record);
      return this.#view(this.#records.get(environment, name)!);
    });
  }

  /** Before a deploy boots: what ingot.yaml declares for the environment exists, and every accessory of it runs. */
  async ensure(environment: string, declared: Record<string, string> = {}): Promise<void> {
    for (const [name, kind] of Object.entries(declared)) await this.add(environment, kind, name);
    for (const record of this.#records.list(environment)) await this.#serially(environment, record.name, () => this.#start(record));
  }

  /** When the server starts (and at each look of watch()): each accessory still running is kept, any other started again (after a reboot, say). */
  async startAll(): Promise<void> {
    for (const record of this.#records.list()) {
      const running = record.pid !== null && record.processStart !== null && (await isRunning({ pid: record.pid, startTime: record.processStart }));
      if (running) continue;
      const key = `${record.environment}\0${record.name}`;
      await this.#serially(record.environment, record.name, () => this.#start(record))
        .then(() => {
          this.#failures.delete(key);
          this.log(`accessory ${record.name} of ${record.environment}: started (pid ${this.#records.get(record.environment, record.name)?.pid})`);
        })
        .catch((error: unknown) => {
          // Said once, not at every look of watch(): the same failure again is no news.
          const message = (error as Error).message;
          if (this.#failures.get(key) !== message) this.log(`accessory ${record.name} of ${record.environment}: cannot start: ${message}`);
          this.#failures.set(key, message);
        });
    }
  }

  /**
   * Looks every `intervalMs` and starts again an accessory that is gone (killed, crashed, out of
   * memory): instances of its environment reconnect, as they do after a restart. Returns the stop.
   */
  watch(intervalMs = 5_000): () => void {
    let looking = false;
    const timer = setInterval(() => {
      if (looking) return;
      looking = true;
      void this.startAll().finally(() => { looking = false; });
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  async list(environment?: string): Promise<AccessoryView[]> {
    if (environment !== undefined) this.#environments.get(environment);
    return Promise.all(this.#records.list(environment).map((record) => this.#view(record)));
  }

  /**
   * Stops it and forgets it, with its secret; its data stays (added again under the same name, it
   * serves it again) unless `deleteData`. Refused while instances that reach it run.
   */
  async remove(environment: string, name: string, options: { deleteData: boolean; runningInstances: number }): Promise<AccessoryView> {
    return this.#serially(environment, name, async () => {
      const record = this.#get(environment, name);
      if (options.runningInstances > 0) {
        throw new IngotError(`Cannot remove accessory ${name} of ${environment} as ${options.runningInstances} instance(s) there use it`, {
          code: "accessory-in-use", hint: `Stop them first: ingot stop --env ${environment}`,
        });
      }
      const view = await this.#view(record);
      if (record.pid !== null && record.processStart !== null) await stopPostgres({ pid: record.pid, startTime: record.processStart });
      await rm(record.socketDir, { recursive: true, force: true });
      this.state.transaction(() => {
        this.secrets.remove(environment, record.variable, { byAccessory: true });
        this.#records.remove(environment, name);
      });
      if (options.deleteData) await rm(postgresLayout(this.home, environment, name).folder, { recursive: true, force: true });
      return { ...view, state: "stopped" };
    });
  }

  /** Guest endpoints and socket group of the environment's accessories, for an instance about to boot. */
  guestAccess(environment: string): GuestAccess {
    const records = this.#records.list(environment);
    return {
      endpoints: records.map((record) => ({ guestHost: ACCESSORY_GUEST_HOST, guestPort: record.guestPort, socket: `${record.socketDir}/.s.PGSQL.${SOCKET_PORT}` })),
      groups: records.flatMap((record) => (record.socketGid === null ? [] : [record.socketGid])),
    };
  }

  /** What `ingot accessory psql` runs (the host's psql against its socket) and the password it logs in with. */
  async psql(environment: string, name: string, extra: string[]): Promise<{ argv: string[]; password: string }> {
    const record = this.#get(environment, name);
    await this.#serially(environment, name, () => this.#start(record));
    const password = passwordOf(this.secrets.reveal(environment).values[record.variable] ?? "");
    if (!password) throw new IngotError(`Cannot connect to accessory ${name} of ${environment} as its secret ${record.variable} is missing`, { code: "accessory-secret-missing", hint: `Remove it and add it again (its data is kept): ingot accessory rm ${name} --env ${environment}` });
    return { argv: psqlArgs(findPostgres().bindir, record.socketDir, extra), password };
  }

  async logs(environment: string, name: string, lines: number): Promise<string[]> {
    this.#get(environment, name);
    return logTail(postgresLayout(this.home, environment, name), lines);
  }

  async #create(environment: string, name: string, kind: string): Promise<AccessoryRecord> {
    const variable = accessoryVariable(name);
    this.#assertVariableFree(environment, name, variable);
    const install = findPostgres();
    const user = postgresUser();
    const password = randomBytes(24).toString("hex");
    await prepareCluster(install, postgresLayout(this.home, environment, name), user, password);
    return this.state.transaction(() => {
      const record = this.#records.add({
        environment, name, kind, variable,
        guestPort: freeGuestPort(this.#records.list(environment).map((other) => other.guestPort)),
        socketDir: socketFolder(runFolderBase(process.env, user), this.home, environment, name),
        // A group of its own, which only this environment's QEMUs get: drawn like QEMU's ids (qemu-user.ts).
        socketGid: user ? QEMU_ID_BASE + randomInt(QEMU_ID_COUNT) : null,
      });
      this.secrets.set(environment, variable, databaseUrl(password, record.guestPort), { byAccessory: true });
      return record;
    });
  }

  /** A variable the user set already would make it a guess which database the app gets: refused. */
  #assertVariableFree(environment: string, name: string, variable: string): void {
    const asSecret = this.secrets.list(environment).some((secret) => secret.name === variable);
    const asConfig = Object.hasOwn(new ConfigStore(this.state).snapshot(environment).values, variable);
    if (!asSecret && !asConfig) return;
    const [what, remove] = asSecret ? ["secret", "ingot secret rm"] : ["config key", "ingot config unset"];
    throw new IngotError(`Cannot add accessory ${name} to ${environment} as its URL would be ${variable}, which is already a ${what} there`, {
      code: "accessory-variable-taken",
      hint: `Remove it to use the accessory's database (${remove} --env ${environment} ${variable}), or give the accessory another name: --name NAME gives NAME_DATABASE_URL`,
    });
  }

  async #start(record: AccessoryRecord): Promise<void> {
    const current = this.#records.get(record.environment, record.name) ?? record;
    if (current.pid !== null && current.processStart !== null && (await isRunning({ pid: current.pid, startTime: current.processStart }))) return;
    const user = postgresUser();
    const identity = await startPostgres(findPostgres(), postgresLayout(this.home, record.environment, record.name), { socketDir: record.socketDir, socketGid: record.socketGid, user });
    this.#records.setProcess(record.environment, record.name, { pid: identity.pid, processStart: identity.startTime });
  }

  #get(environment: string, name: string): AccessoryRecord {
    this.#environments.get(environment);
    const record = this.#records.get(environment, name);
    if (record) return record;
    const names = this.#records.list(environment).map((other) => other.name);
    throw new IngotError(`Cannot find accessory ${name} in ${environment} as it has ${names.length ? `only ${names.join(", ")}` : "none"}`, {
      code: "accessory-unknown", hint: `Add one: ingot accessory add postgres --env ${environment}${name === "db" ? "" : ` --name ${name}`}`,
    });
  }

  async #view(record: AccessoryRecord): Promise<AccessoryView> {
    const running = record.pid !== null && record.processStart !== null && (await isRunning({ pid: record.pid, startTime: record.processStart }));
    const layout = postgresLayout(this.home, record.environment, record.name);
    return {
      environment: record.environment, name: record.name, kind: record.kind, variable: record.variable,
      guestAddress: `${ACCESSORY_GUEST_HOST}:${record.guestPort}`, state: running ? "running" : "stopped", pid: running ? record.pid : null,
      socketDir: record.socketDir, dataDir: layout.dataDir, logFile: layout.logFile, createdMs: record.createdMs,
    };
  }

  #serially<T>(environment: string, name: string, work: () => Promise<T>): Promise<T> {
    const key = `${environment}\0${name}`;
    const next = (this.#busy.get(key) ?? Promise.resolve()).catch(() => {}).then(work);
    this.#busy.set(key, next);
    return next;
  }
}
