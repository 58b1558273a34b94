// The one way ingot starts a program with fewer privileges than its own: setpriv, which drops to an
// identity (when there is one to drop to) and forbids gaining any back (no_new_privs).
import type { QemuUser } from "../vm/qemu-args.ts";

/**
 * `dieWithParent` sets the parent-death signal after the drop (setpriv applies it last), so that the
 * program dies with ingot even when ingot is killed; a program that outlives ingot goes without.
 *
 * @example
 * unprivilegedCommand(["postgres", "-D", "/proc/self/fd/3"], { user: { uid: 101, gid: 104, groups: [] }, dieWithParent: false });
 * // ["setpriv", "--reuid", "101", "--regid", "104", "--clear-groups", "--no-new-privs", "--", "postgres", …]
 */
export function unprivilegedCommand(argv: string[], options: { user?: QemuUser | undefined; dieWithParent: boolean }): string[] {
  const { user } = options;
  const identity = user
    ? ["--reuid", String(user.uid), "--regid", String(user.gid), ...(user.groups.length > 0 ? ["--groups", user.groups.join(",")] : ["--clear-groups"])]
    : [];
  return ["setpriv", ...identity, "--no-new-privs", ...(options.dieWithParent ? ["--pdeathsig", "KILL"] : []), "--", ...argv];
}
