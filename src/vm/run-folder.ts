// An instance's private folder for its unix sockets (QMP, metadata). Unix socket paths are limited
// to 108 bytes, and the metadata socket's path goes through /bin/sh in QEMU's guestfwd, so the
// folder is placed where its path is short and plain, never under whatever $TMPDIR says.
import { chown, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isRunning, ownIdentity, type ProcessIdentity, readOwner } from "../process/process-identity.ts";
import type { QemuUser } from "./qemu-args.ts";

/** Bases no longer than this keep `BASE/ingot-i-12345678-XXXXXX/metadata.sock` well under 108 bytes. */
const MAX_BASE_CHARS = 48;
/** Characters that mean nothing to /bin/sh, to socat's address syntax or to QEMU's option parser. */
const PLAIN_PATH = /^\/[A-Za-z0-9/._-]*$/;

export interface RunFolder {
  path: string;
  remove: () => Promise<void>;
  /** Hands a file in the folder to QEMU's user: the metadata socket its guestfwd connector opens. */
  handOver: (file: string) => Promise<void>;
  /** Names another owner: a detached QEMU owns its own folder, so the folder lives exactly as long as it. */
  setOwner: (owner: ProcessIdentity) => Promise<void>;
}

/**
 * $XDG_RUNTIME_DIR (private to the user, cleaned at logout) when its path is short and plain and
 * QEMU runs as ingot's user, else /tmp: a QEMU with its own user could not enter ingot's 0700
 * runtime folder to reach the sockets in its own run folder.
 *
 * @example runFolderBase({ XDG_RUNTIME_DIR: "/run/user/1000" }, undefined) // "/run/user/1000"
 */
export function runFolderBase(environment: NodeJS.ProcessEnv, user: QemuUser | undefined): string {
  const runtime = environment.XDG_RUNTIME_DIR;
  return !user && runtime && runtime.length <= MAX_BASE_CHARS && PLAIN_PATH.test(runtime) ? runtime : "/tmp";
}

/** The file in each run folder that names the ingot process that made it. */
const OWNER_FILE = "owner.json";

/**
 * A new 0700 folder for one instance, owned by its QEMU user when it has one, so that only that
 * QEMU (and ingot) can reach the sockets inside. It names the ingot process that made it, so the
 * folders of an ingot that was killed (SIGKILL runs no cleanup) are removed by the next one.
 *
 * @example
 * const folder = await createRunFolder("i-1a2b3c4d", user); // /tmp/ingot-i-1a2b3c4d-Xy12Ab
 */
export async function createRunFolder(label: string, user: QemuUser | undefined, base = runFolderBase(process.env, user)): Promise<RunFolder> {
  await removeOrphanedRunFolders(base);
  const path = await mkdtemp(join(base, `ingot-${label.replace(/[^A-Za-z0-9-]/g, "").slice(0, 16)}-`));
  await writeFile(join(path, OWNER_FILE), JSON.stringify(await ownIdentity()), { mode: 0o600 });
  const handOver = async (file: string): Promise<void> => {
    if (user) await chown(file, user.uid, user.gid);
  };
  await handOver(path);
  const setOwner = (owner: ProcessIdentity): Promise<void> => writeFile(join(path, OWNER_FILE), JSON.stringify(owner), { mode: 0o600 });
  return { path, handOver, setOwner, remove: () => rm(path, { recursive: true, force: true }) };
}

/**
 * Removes the run folders under `base` whose ingot is gone (its pid runs no more, or runs another
 * process). Folders without an owner file, or whose owner file cannot be read, are left alone.
 */
export async function removeOrphanedRunFolders(base: string): Promise<string[]> {
  const removed = [];
  for (const name of await readdir(base).catch(() => [] as string[])) {
    if (!name.startsWith("ingot-")) continue;
    const owner = await readOwner(join(base, name, OWNER_FILE));
    if (!owner || (await isRunning(owner))) continue;
    await rm(join(base, name), { recursive: true, force: true }).catch(() => {});
    removed.push(join(base, name));
  }
  return removed;
}
