// A process named by its pid and its start time, so a pid the kernel has handed to another process
// since is never mistaken for the one ingot started (HAProxy, QEMU, an ingot that crashed).
import { readdir, readFile } from "node:fs/promises";

/**
 * The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or undefined
 * when no such process runs.
 *
 * @example
 * await processStartTime(process.pid); // "1234567"
 */
export async function processStartTime(pid: number): Promise<string | undefined> {
  return (await statFields(`/proc/${pid}`))?.[19];
}

/**
 * True once the process has ended: its pid is gone or another process's, or every one of its threads
 * is a zombie. A killed process loses its command line before it closes its files, and its first
 * thread may be a zombie while the others still close them (listening sockets among them), so only
 * this says that its ports are free again.
 */
export async function hasExited(identity: { pid: number; startTime: string }): Promise<boolean> {
  const fields = await statFields(`/proc/${identity.pid}`);
  if (!fields || fields[19] !== identity.startTime) return true;
  const threads = await readdir(`/proc/${identity.pid}/task`).catch(() => [] as string[]);
  const states = await Promise.all(threads.map(async (thread) => (await statFields(`/proc/${identity.pid}/task/${thread}`))?.[0]));
  return [fields[0], ...states].every((state) => state === undefined || state === "Z" || state === "X");
}

/** The fields of PROC/stat after the command name (the state is index 0), or undefined when there is no such process or thread. */
async function statFields(proc: string): Promise<string[] | undefined> {
  const stat = await readFile(`${proc}/stat`, "utf8").catch(() => undefined);
  // The command name is in parentheses and may itself hold spaces: field 3 is index 0.
  return stat?.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** True while the process that had this pid and start time still runs. */
export async function isRunning(identity: { pid: number; startTime: string }): Promise<boolean> {
  return (await processStartTime(identity.pid)) === identity.startTime;
}

export interface ProcessIdentity {
  pid: number;
  startTime: string;
}

/** This process, as an owner file names it. */
export async function ownIdentity(): Promise<ProcessIdentity> {
  return { pid: process.pid, startTime: (await processStartTime(process.pid)) ?? "" };
}

/**
 * The process an owner file names; undefined when the file is missing, half written or not one.
 *
 * @example
 * await readOwner("/tmp/ingot-ports-0/41234"); // { pid: 4242, startTime: "1234567" }
 */
export async function readOwner(file: string): Promise<ProcessIdentity | undefined> {
  try {
    const owner = JSON.parse(await readFile(file, "utf8")) as Partial<ProcessIdentity>;
    return typeof owner.pid === "number" && typeof owner.startTime === "string" ? { pid: owner.pid, startTime: owner.startTime } : undefined;
  } catch {
    return undefined;
  }
}
