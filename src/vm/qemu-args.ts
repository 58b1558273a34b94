// QEMU's command line for one instance, computed as data so that it can be tested as data.
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import type { Outbound } from "../config/app-config.ts";
import { IngotError } from "../errors.ts";
import { unprivilegedCommand } from "../process/unprivileged.ts";

/** The id of the guest's one user network, which QMP names to change its forwards (qmp.ts). */
export const NETDEV_ID = "net0";

export interface PortForward {
  hostPort: number;
  guestPort: number;
}

/**
 * q35 without its built-in SATA controller and SMBus, which ingot guests never use: 5% faster to
 * healthy than plain q35 in bench:instances, and fewer devices. microvm boots faster still when it
 * boots, but under TCG it hangs in TSC calibration in 6 of 10 boots (no HPET or PM timer to
 * calibrate against) and has no keyboard controller for Ctrl-Alt-Del, the graceful stop
 * (docs/benchmarks.md).
 */
export const DEFAULT_MACHINE = "q35,sata=off,smbus=off";

/** An unprivileged identity for QEMU (qemu-user.ts); supplementary groups only where a device needs one. */
export interface QemuUser {
  uid: number;
  gid: number;
  groups: number[];
}

/**
 * QEMU's seccomp filter: no obsolete system calls and no changes to scheduling or CPU affinity.
 * Spawning stays allowed, as the metadata guestfwd starts a connector per guest connection, and so
 * do set*id calls, as libslirp's spawn calls setsid() (elevateprivileges=deny or =children kills
 * the connector: measured under QEMU 7.2). Raising privileges is prevented otherwise: QEMU starts
 * as an unprivileged user with no_new_privs (qemuCommand).
 */
export const SANDBOX = "on,obsolete=deny,resourcecontrol=deny";

/**
 * The files QEMU boots from, in the order an unprivileged QEMU inherits them as descriptors 3, 4, …
 * (ingot opens them: the vault may be in a folder only ingot's user can enter).
 */
export function bootFiles(spec: Pick<VmSpec, "kernel" | "initrd" | "layerDisks">): string[] {
  return [spec.kernel, ...(spec.initrd ? [spec.initrd] : []), ...(spec.layerDisks ?? [])];
}

/** Where QEMU opens each boot file: its own path, or the descriptor it inherited. */
function bootPaths(spec: VmSpec): string[] {
  return bootFiles(spec).map((file, index) => (spec.user ? `/proc/self/fd/${3 + index}` : file));
}

/** A guest address (inside QEMU's user network) that leads to a unix socket on the host. */
export interface GuestEndpoint {
  guestHost: string;
  guestPort: number;
  socket: string;
}

/** Guest endpoints beyond an instance's own (its environment's accessories), and the groups QEMU needs to open their sockets (a root ingot only). */
export interface GuestAccess {
  endpoints: GuestEndpoint[];
  groups: number[];
}

export interface VmSpec {
  /** QEMU's machine type with its options, without the accelerator; DEFAULT_MACHINE unless given. */
  machine?: string;
  kernel: string;
  /** An initrd-form image's layers; absent for a disk-form image. */
  initrd?: string;
  /** A disk-form image's layers, in order: each a read-only virtio disk (vda, vdb, …). */
  layerDisks?: string[];
  cmdline: string;
  cpus: number;
  memoryMiB: number;
  forwards: PortForward[];
  accelerator: "kvm" | "tcg";
  /** A QMP socket for control (graceful stop), when given. */
  qmpSocket?: string;
  /** A raw disk attached read-only in effect (-snapshot); ingot images need none, baselines do. */
  disk?: string;
  /**
   * The instance's endpoints on the host (metadata, logs): guest addresses whose TCP connections
   * QEMU hands, one connector process each, to a unix socket of this instance's own.
   */
  guestEndpoints?: GuestEndpoint[];
  /**
   * Who QEMU runs as. Given, setpriv drops to it before QEMU starts, and QEMU reads the kernel and
   * initrd through descriptors ingot opened (bootFiles), as the vault may be in a folder
   * only ingot's user can enter.
   */
  user?: QemuUser;
  /** True for an instance the control plane owns: QEMU must not die with the process that started it. */
  outlivesIngot?: boolean;
  /**
   * "internet": the user network unrestricted, for an instance whose environment may reach the
   * outside world; only with a `user`, whose sockets the host firewall filters (outbound-firewall.ts).
   */
  outbound?: Outbound;
}

/**
 * The command that starts QEMU: setpriv drops privileges (when there is a user to drop to) and sets
 * the parent-death signal after that, so that QEMU dies with ingot even when ingot is killed. Not
 * QEMU's own -runas: it changes the uid after start, which clears the parent-death signal, and a
 * killed ingot would leave its QEMU running.
 *
 * @example
 * qemuCommand(spec, "qemu-system-x86_64"); // ["setpriv", "--reuid", "2113929216", …, "--pdeathsig", "KILL", "--", "qemu-system-x86_64", …]
 */
export function qemuCommand(spec: VmSpec, binary: string): string[] {
  return unprivilegedCommand([binary, ...qemuArgs(spec)], { user: spec.user, dieWithParent: !spec.outlivesIngot });
}

/**
 * @example
 * qemuArgs({ kernel: "k", initrd: "i", cmdline: "console=ttyS0", cpus: 1, memoryMiB: 256, forwards: [], accelerator: "tcg" });
 * // ["-machine", "q35,accel=tcg", "-cpu", "max", "-smp", "1", "-m", "256", …]
 */
export function qemuArgs(spec: VmSpec): string[] {
  // The firewall filters by QEMU's uid: an unrestricted QEMU without one would reach the host.
  if (spec.outbound === "internet" && !spec.user) {
    throw new IngotError("Cannot start QEMU with outbound internet as it would run as ingot's own user, which the host firewall does not filter", {
      code: "outbound-needs-root", hint: "Run ingot as root, or set outbound: none in ingot.yaml",
    });
  }
  const [kernel, ...rest] = bootPaths(spec);
  const initrd = spec.initrd ? rest.shift() : undefined;
  // readonly=on: QEMU refuses any write; the guest's dm-verity then checks every block it reads.
  const disks = rest.flatMap((path, index) => ["-drive", `if=none,id=layer${index},file=${path.replaceAll(",", ",,")},format=raw,readonly=on`, "-device", `virtio-blk-pci,drive=layer${index}`]);
  const hostfwd = spec.forwards.map((forward) => `,hostfwd=tcp:127.0.0.1:${forward.hostPort}-:${forward.guestPort}`).join("");
  // QEMU runs the cmd through /bin/sh for each connection; commas in option values are doubled.
  const guestfwd = (spec.guestEndpoints ?? [])
    .map((endpoint) => `,guestfwd=tcp:${endpoint.guestHost}:${endpoint.guestPort}-cmd:socat - UNIX-CONNECT:${endpoint.socket.replaceAll(",", ",,")}`)
    .join("");
  return [
    "-machine", `${spec.machine ?? DEFAULT_MACHINE},accel=${spec.accelerator}`,
    "-cpu", spec.accelerator === "kvm" ? "host" : "max",
    "-smp", String(spec.cpus),
    "-m", String(spec.memoryMiB),
    "-kernel", kernel!,
    ...(initrd ? ["-initrd", initrd] : []),
    "-append", spec.cmdline,
    ...disks,
    // restrict=on: the guest reaches nothing on or beyond the host (10.0.2.2 is the host's loopback
    // otherwise: other instances, local databases) but the explicit forwards, metadata included.
    // restrict=off only for outbound internet, where the host firewall keeps the host out of reach.
    // No firmware option ROM for the NIC: iPXE is never used and costs boot time.
    "-netdev", `user,id=${NETDEV_ID},restrict=${spec.outbound === "internet" ? "off" : "on"}${hostfwd}${guestfwd}`,
    "-device", `virtio-net-pci,netdev=${NETDEV_ID},romfile=`,
    "-nographic", "-no-reboot", "-nodefaults",
    "-serial", "stdio",
    "-sandbox", SANDBOX,
    ...(spec.qmpSocket ? ["-qmp", `unix:${spec.qmpSocket},server=on,wait=off`] : []),
    ...(spec.disk ? ["-drive", `file=${spec.disk},if=virtio,format=raw`, "-snapshot"] : []),
  ];
}

/**
 * KVM when /dev/kvm can be opened and the CPU has hardware virtualization; software emulation
 * otherwise. The CPU check matters: some nested sandboxes expose a /dev/kvm (e.g. kvm-pvm) that
 * cannot run an ordinary guest kernel, which then hangs after the firmware. INGOT_ACCEL overrides.
 */
export function detectAccelerator(cpuinfo = readCpuinfo()): "kvm" | "tcg" {
  const forced = process.env.INGOT_ACCEL;
  if (forced === "kvm" || forced === "tcg") return forced;
  if (!existsSync("/dev/kvm") || !/^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo)) return "tcg";
  try {
    accessSync("/dev/kvm", constants.R_OK | constants.W_OK);
    return "kvm";
  } catch {
    return "tcg";
  }
}

function readCpuinfo(): string {
  try {
    return readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return "";
  }
}
