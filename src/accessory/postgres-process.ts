// Runs the plans of postgres-plan.ts: creates a cluster, checks a kept one, starts PostgreSQL as a
// process of its own (it outlives ingot server, like QEMU and HAProxy) and stops it.
import { execFileSync, spawn } from "node:child_process";
import { chmod, chown, mkdir, open, readdir, readFile, realpath, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { IngotError } from "../errors.ts";
import { hasExited, isRunning, type ProcessIdentity, processStartTime } from "../process/process-identity.ts";
import { unprivilegedCommand } from "../process/unprivileged.ts";
import type { QemuUser } from "../vm/qemu-args.ts";
import type { PostgresInstall } from "./postgres-install.ts";
import { HBA_CONF, initdbArgs, type PostgresLayout, readyArgs, serverArgs, setupStatements, singleUserArgs } from "./postgres-plan.ts";

/** How long a start may take to accept connections: crash recovery after a host's power loss included. */
const READY_TIMEOUT_MS = 60_000;

/**
 * Who PostgreSQL runs as. It refuses to run as root, so a root ingot runs it as Debian's `postgres`
 * system user (the package creates it); a non-root ingot runs it as itself.
 */
export function postgresUser(isRoot = process.getuid?.() === 0): QemuUser | undefined {
  if (!isRoot) return undefined;
  try {
    const id = (flag: string): number => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim());
    return { uid: id("-u"), gid: id("-g"), groups: [] };
  } catch {
    throw new IngotError("Cannot run PostgreSQL as ingot runs as root and there is no postgres user, which PostgreSQL must run as instead", {
      code: "accessory-postgres-user", hint: "Install Debian's package, which creates it: apt-get install postgresql",
    });
  }
}

/**
 * What the data directory holds: nothing yet (a new cluster is made), a cluster of the installed
 * major version (kept as it is), or something ingot must not touch (refused, with what to do).
 */
export async function dataDirState(layout: PostgresLayout, install: PostgresInstall): Promise<"new" | "kept"> {
  const entries = await readdir(layout.dataDir).catch(() => [] as string[]);
  if (entries.length === 0) return "new";
  const version = (await readFile(join(layout.dataDir, "PG_VERSION"), "utf8").catch(() => "")).trim();
  if (version === "") {
    throw new IngotError(`Cannot use ${layout.dataDir} as PostgreSQL's data directory as it holds files but no PG_VERSION`, {
      code: "accessory-data-foreign", hint: "Move those files away (ingot never deletes them), then add the accessory again",
    });
  }
  if (version !== install.major) {
    const newer = Number(version) > Number(install.major);
    throw new IngotError(`Cannot start PostgreSQL ${install.major} on ${layout.dataDir} as its data was made by PostgreSQL ${version}, ${newer ? "a newer" : "an older"} major version`, {
      code: "accessory-data-version",
      hint: newer
        ? `Install PostgreSQL ${version} (apt-get install postgresql-${version}); the data is untouched`
        : `Upgrade the data with PostgreSQL ${install.major}'s pg_upgrade (ingot never upgrades it), or install postgresql-${version}; the data is untouched`,
    });
  }
  return "kept";
}

/**
 * Makes a new cluster (initdb, HBA_CONF, the app's role and database), or gives a kept one's app
 * role the new password; PostgreSQL must not be running.
 */
export async function prepareCluster(install: PostgresInstall, layout: PostgresLayout, user: QemuUser | undefined, password: string): Promise<void> {
  const state = await dataDirState(layout, install);
  await mkdir(layout.dataDir, { recursive: true, mode: 0o700 });
  if (user) await chown(layout.dataDir, user.uid, user.gid);
  if (state === "new") {
    await runWithDataDir(install, layout, user, initdbArgs(install.bindir), "");
    const hba = join(layout.dataDir, "pg_hba.conf");
    await writeFile(hba, HBA_CONF, { mode: 0o600 });
    if (user) await chown(hba, user.uid, user.gid);
  }
  await runWithDataDir(install, layout, user, singleUserArgs(install.bindir), setupStatements(password, state === "new"));
}

/**
 * Starts PostgreSQL detached (its own session, no parent-death signal) and resolves once it accepts
 * connections on its socket; a start that fails says why with the last lines of its log.
 */
export async function startPostgres(install: PostgresInstall, layout: PostgresLayout, options: { socketDir: string; socketGid: number | null; user: QemuUser | undefined }): Promise<ProcessIdentity> {
  const { socketDir, socketGid, user } = options;
  await dataDirState(layout, install);
  // Its own postmaster still serving with no record of it (a server killed between the start and
  // the record): adopted, as PostgreSQL would refuse a second one on the data anyway.
  const serving = await runningPostmaster(layout);
  if (serving) return serving;
  // Only PostgreSQL's user writes here, and only the environment's QEMUs (its group) may enter.
  await mkdir(socketDir, { recursive: true, mode: 0o700 });
  if (user) await chown(socketDir, user.uid, socketGid ?? user.gid);
  await chmod(socketDir, user ? 0o750 : 0o700);
  const log = await open(layout.logFile, "a", 0o600);
  const data = await open(layout.dataDir, "r");
  try {
    const [program, ...args] = unprivilegedCommand(serverArgs(install.bindir, socketDir), { user, dieWithParent: false });
    const child = spawn(program!, args, { detached: true, stdio: ["ignore", log.fd, log.fd, data.fd] });
    child.unref();
    const started = child.pid && (await processStartTime(child.pid));
    if (!child.pid || !started) throw await startFailure(layout, "it exited at once");
    const identity = { pid: child.pid, startTime: started };
    await waitReady(install, layout, socketDir, identity);
    return identity;
  } finally {
    await log.close();
    await data.close();
  }
}

/** Fast shutdown (SIGINT: sessions end, data is flushed), then immediate (SIGQUIT) past the timeout. */
export async function stopPostgres(identity: ProcessIdentity, timeoutMs = 30_000): Promise<void> {
  if (!(await isRunning(identity))) return;
  process.kill(identity.pid, "SIGINT");
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) {
    if (await hasExited(identity)) return;
  }
  process.kill(identity.pid, "SIGQUIT");
}

/** The last `count` lines of its log: `ingot accessory logs`, and the reason of a failed start. */
export async function logTail(layout: PostgresLayout, count: number): Promise<string[]> {
  const text = await readFile(layout.logFile, "utf8").catch(() => "");
  return text.split("\n").filter(Boolean).slice(-count);
}

/**
 * The postmaster serving this data directory, from its postmaster.pid, when it runs: its working
 * directory is the data directory (a pid the kernel handed to another process since has another).
 */
export async function runningPostmaster(layout: PostgresLayout): Promise<ProcessIdentity | undefined> {
  const pid = Number((await readFile(join(layout.dataDir, "postmaster.pid"), "utf8").catch(() => "")).split("\n")[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const [cwd, dataDir, startTime] = await Promise.all([realpath(`/proc/${pid}/cwd`).catch(() => ""), realpath(layout.dataDir).catch(() => "-"), processStartTime(pid)]);
  return cwd === dataDir && startTime ? { pid, startTime } : undefined;
}

async function waitReady(install: PostgresInstall, layout: PostgresLayout, socketDir: string, identity: ProcessIdentity): Promise<void> {
  const [program, ...args] = readyArgs(install.bindir, socketDir);
  for (const deadline = Date.now() + READY_TIMEOUT_MS; Date.now() < deadline; await sleep(200)) {
    if (await hasExited(identity)) throw await startFailure(layout, "it exited");
    // Ready, and this one: another PostgreSQL answering on the socket is not ours starting.
    if (await exitCode(program!, args) === 0 && (await runningPostmaster(layout))?.pid === identity.pid) return;
  }
  throw await startFailure(layout, `it did not accept connections within ${READY_TIMEOUT_MS / 1000} s`);
}

async function startFailure(layout: PostgresLayout, why: string): Promise<IngotError> {
  const lines = await logTail(layout, 8);
  return new IngotError(`Cannot start PostgreSQL as ${why}${lines.length ? `; its log ends:\n  ${lines.join("\n  ")}` : ""}`, {
    code: "accessory-start-failed", hint: `Its whole log is ${layout.logFile}; the data is untouched`,
  });
}

/** A one-off PostgreSQL program on the data directory (fd 3), as its user, `input` on its standard input. */
async function runWithDataDir(install: PostgresInstall, layout: PostgresLayout, user: QemuUser | undefined, argv: string[], input: string): Promise<void> {
  const data = await open(layout.dataDir, "r");
  try {
    const [program, ...args] = unprivilegedCommand(argv, { user, dieWithParent: true });
    const child = spawn(program!, args, { stdio: ["pipe", "pipe", "pipe", data.fd] });
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr!.on("data", (chunk: Buffer) => { output += chunk.toString(); });
    child.stdin!.end(input);
    const code = await new Promise<number>((resolve, reject) => child.once("error", reject).once("close", (status) => resolve(status ?? 1)));
    // Single-user mode answers an error on a line of its own and goes on: its exit status says nothing.
    const failed = code !== 0 || /\b(ERROR|FATAL): /.test(output);
    if (failed) {
      throw new IngotError(`Cannot prepare PostgreSQL's data in ${layout.dataDir} as ${argv[0]} failed: ${output.trim().split("\n").slice(-6).join(" | ")}`, {
        code: "accessory-prepare-failed", hint: "Check the folder's owner and free space; the data is untouched",
      });
    }
  } finally {
    await data.close();
  }
}

function exitCode(program: string, args: string[]): Promise<number> {
  return new Promise((resolve) => spawn(program, args, { stdio: "ignore" }).once("error", () => resolve(1)).once("close", (code) => resolve(code ?? 1)));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
