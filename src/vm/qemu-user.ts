// Who QEMU runs as. Under a root ingot, each instance's QEMU gets its own unprivileged uid and gid,
// so a guest that breaks out of QEMU holds no privileges and cannot reach another instance's
// sockets (each run folder is 0700 and owned by its instance's uid). A non-root ingot runs QEMU as
// itself, which is already unprivileged.
import { randomInt } from "node:crypto";
import { statSync } from "node:fs";
import type { QemuUser } from "./qemu-args.ts";

/**
 * Instance uids and gids are drawn from [QEMU_ID_BASE, QEMU_ID_BASE + QEMU_ID_COUNT): above the
 * ranges distributions, systemd's dynamic users and container uid maps use (0x70000000 and below),
 * below systemd's reserved 0x7ffe0000 and up. They need no passwd entry.
 */
export const QEMU_ID_BASE = 0x7e000000;
export const QEMU_ID_COUNT = 0x01000000;

/**
 * @example
 * qemuUser("tcg"); // { uid: 2113987654, gid: 2113987654, groups: [] } as root, undefined otherwise
 */
export function qemuUser(accelerator: "kvm" | "tcg", isRoot = process.getuid?.() === 0): QemuUser | undefined {
  if (!isRoot) return undefined;
  const id = QEMU_ID_BASE + randomInt(QEMU_ID_COUNT);
  // /dev/kvm is root:kvm 0660: the kvm group lets the unprivileged QEMU open it.
  return { uid: id, gid: id, groups: accelerator === "kvm" ? [statSync("/dev/kvm").gid] : [] };
}
