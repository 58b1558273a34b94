// The image audit: what an attacker who gets code execution in the app would find useful inside it.
import type { FileIndexEntry } from "./build.ts";
import type { ImageManifest } from "./manifest.ts";

export interface Audit {
  /** Programs that give an interactive shell. */
  shells: string[];
  /** Programs that install more software. */
  packageManagers: string[];
  /** Files with the setuid or setgid bit, a way to gain privileges. */
  setuidFiles: string[];
  /** SSH servers, a way in from outside. */
  sshd: string[];
  appUser: { uid: number; gid: number; runsAsRoot: boolean };
  /** True when none of the above was found and the app does not run as root. */
  ok: boolean;
}

const SHELLS = new Set(["sh", "bash", "dash", "ash", "zsh", "ksh", "csh", "tcsh", "fish", "busybox", "toybox"]);
const PACKAGE_MANAGERS = new Set(["apt", "apt-get", "dpkg", "rpm", "yum", "dnf", "apk", "pip", "pip3", "npm", "npx", "yarn", "pnpm", "corepack", "gem"]);
const SSH_SERVERS = new Set(["sshd", "dropbear", "dropbearmulti"]);
const SETUID_OR_SETGID = 0o6000;

/**
 * Audits an image's file list (every layer's, in order) and its manifest's user. Symlinks count by
 * their own name too: /bin/sh → busybox is a shell whatever it points at.
 *
 * @example
 * const audit = auditImage([{ path: "/bin/sh", type: "file", mode: 0o755, size: 125_560 }], manifest);
 * audit.shells; // ["/bin/sh"]
 * audit.ok;     // false
 */
export function auditImage(files: FileIndexEntry[], manifest: Pick<ImageManifest, "user">): Audit {
  const programs = files.filter((file) => file.type === "file" || file.type === "symlink");
  const named = (names: Set<string>): string[] => unique(programs.filter((file) => names.has(basename(file.path))).map((file) => file.path));
  const shells = named(SHELLS);
  const packageManagers = named(PACKAGE_MANAGERS);
  const sshd = named(SSH_SERVERS);
  // Only regular files: a setgid directory just passes its group on to new files.
  const setuidFiles = unique(files.filter((file) => file.type === "file" && (file.mode & SETUID_OR_SETGID) !== 0).map((file) => file.path));
  const { uid, gid } = manifest.user;
  const runsAsRoot = uid === 0;
  return {
    shells, packageManagers, setuidFiles, sshd,
    appUser: { uid, gid, runsAsRoot },
    ok: shells.length === 0 && packageManagers.length === 0 && setuidFiles.length === 0 && sshd.length === 0 && !runsAsRoot,
  };
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** A later layer may list a path an earlier one has; report it once, sorted. */
function unique(paths: string[]): string[] {
  return [...new Set(paths)].sort();
}
