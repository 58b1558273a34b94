// A PostgreSQL accessory as data: where its files are, and the command lines and statements that
// create, configure and run it. postgres-process.ts runs them.
import { createHash } from "node:crypto";
import { join } from "node:path";
import { APP_DATABASE, APP_ROLE } from "./accessory-kind.ts";

/**
 * The data directory is handed to PostgreSQL as an open descriptor: it lies under $INGOT_HOME,
 * whose parents (/root, a 0700 home) PostgreSQL's own user may not enter, and a descriptor's
 * /proc path needs no search permission on them (as QEMU reads the kernel, qemu-args.ts).
 */
export const INHERITED_DATA_DIR = "/proc/self/fd/3";

/** PostgreSQL names its socket after a port; nothing listens on TCP (listen_addresses is empty). */
export const SOCKET_PORT = 5432;

export interface PostgresLayout {
  /** $INGOT_HOME/accessories/ENV/NAME: what ingot keeps of it. */
  folder: string;
  dataDir: string;
  /** PostgreSQL's standard error, appended to across starts: `ingot accessory logs`. */
  logFile: string;
}

/**
 * @example
 * postgresLayout("/root/.local/share/ingot", "dev", "db").dataDir; // "/root/.local/share/ingot/accessories/dev/db/data"
 */
export function postgresLayout(home: string, environment: string, name: string): PostgresLayout {
  const folder = join(home, "accessories", environment, name);
  return { folder, dataDir: join(folder, "data"), logFile: join(folder, "postgres.log") };
}

/**
 * The socket's folder: short, plain and outside $INGOT_HOME (whose parents QEMU's user may not
 * enter), named after the home and the accessory so that a restarted server finds it again. Under
 * /tmp it may be swept away while nothing runs (a reboot): the start makes it again.
 *
 * @example
 * socketFolder("/tmp", "/root/.local/share/ingot", "dev", "db"); // "/tmp/ingot-pg-dev-db-3f2a9c01d4"
 */
export function socketFolder(base: string, home: string, environment: string, name: string): string {
  const digest = createHash("sha256").update(`${home}\0${environment}\0${name}`).digest("hex").slice(0, 10);
  return join(base, `ingot-pg-${`${environment}-${name}`.slice(0, 24)}-${digest}`);
}

/**
 * initdb of a new cluster. Its authentication is replaced by HBA_CONF before the first start: the
 * superuser gets no password at all, so no connection can log in as it (single-user mode only).
 */
export function initdbArgs(bindir: string): string[] {
  return [join(bindir, "initdb"), "-D", INHERITED_DATA_DIR, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions"];
}

/** pg_hba.conf: a password for every connection, and no connection but on the unix socket. */
export const HBA_CONF = "# Written by ingot (src/accessory/postgres-plan.ts): unix socket only, a password for every role.\nlocal all all scram-sha-256\n";

/**
 * The server: no TCP at all, one unix socket in `socketDir` (created 0777 inside a folder only the
 * environment's QEMUs may enter, so the folder is the gate). Logs go to standard error (logFile).
 */
export function serverArgs(bindir: string, socketDir: string): string[] {
  return [join(bindir, "postgres"), "-D", INHERITED_DATA_DIR, "-c", "listen_addresses=", "-c", `unix_socket_directories=${socketDir}`, "-p", String(SOCKET_PORT), "-c", "logging_collector=off"];
}

/** Single-user mode, for the statements below: the only way in as superuser (its password is not kept). */
export function singleUserArgs(bindir: string): string[] {
  return [join(bindir, "postgres"), "--single", "-D", INHERITED_DATA_DIR, "postgres"];
}

/**
 * One statement a line, as single-user mode reads them. A new cluster gets the app's role and its
 * database; a kept one (added again after `rm` without --delete-data) gets the new password.
 *
 * @example
 * setupStatements("9f2c", true); // "CREATE ROLE app LOGIN PASSWORD '9f2c'\nCREATE DATABASE app OWNER app\n"
 */
export function setupStatements(password: string, fresh: boolean): string {
  if (!/^[0-9a-f]+$/.test(password)) throw new Error("a generated password is hex");
  return fresh
    ? `CREATE ROLE ${APP_ROLE} LOGIN PASSWORD '${password}'\nCREATE DATABASE ${APP_DATABASE} OWNER ${APP_ROLE}\n`
    : `ALTER ROLE ${APP_ROLE} PASSWORD '${password}'\n`;
}

/** pg_isready against the socket: exit 0 once it accepts connections. */
export function readyArgs(bindir: string, socketDir: string): string[] {
  return [join(bindir, "pg_isready"), "-q", "-h", socketDir, "-p", String(SOCKET_PORT), "-t", "1"];
}

/** The host's psql as the app's role, with the user's own arguments after. */
export function psqlArgs(bindir: string, socketDir: string, extra: string[]): string[] {
  return [join(bindir, "psql"), "-h", socketDir, "-p", String(SOCKET_PORT), "-U", APP_ROLE, "-d", APP_DATABASE, ...extra];
}
