// QEMU's command line for one instance, computed as data so that it can be tested as data.
import { accessSync, constants, existsSync, readFileSync } from "node:fs";

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

export interface VmSpec {
  /** QEMU's machine type with its options, without the accelerator; DEFAULT_MACHINE unless given. */
  machine?: string;
  kernel: string;
  initrd: string;
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
   * The instance's metadata endpoint: a guest address whose TCP connections QEMU hands, one
   * connector process each, to a unix socket on the host.
   */
  metadata?: { guestHost: string; guestPort: number; socket: string };
}

/**
 * @example
 * qemuArgs({ kernel: "k", initrd: "i", cmdline: "console=ttyS0", cpus: 1, memoryMiB: 256, forwards: [], accelerator: "tcg" });
 * // ["-machine", "q35,accel=tcg", "-cpu", "max", "-smp", "1", "-m", "256", …]
 */
export function qemuArgs(spec: VmSpec): string[] {
  const hostfwd = spec.forwards.map((forward) => `,hostfwd=tcp:127.0.0.1:${forward.hostPort}-:${forward.guestPort}`).join("");
  // QEMU runs the cmd through /bin/sh for each connection; commas in option values are doubled.
  const guestfwd = spec.metadata
    ? `,guestfwd=tcp:${spec.metadata.guestHost}:${spec.metadata.guestPort}-cmd:socat - UNIX-CONNECT:${spec.metadata.socket.replaceAll(",", ",,")}`
    : "";
  return [
    "-machine", `${spec.machine ?? DEFAULT_MACHINE},accel=${spec.accelerator}`,
    "-cpu", spec.accelerator === "kvm" ? "host" : "max",
    "-smp", String(spec.cpus),
    "-m", String(spec.memoryMiB),
    "-kernel", spec.kernel,
    "-initrd", spec.initrd,
    "-append", spec.cmdline,
    // No firmware option ROM for the NIC: iPXE is never used and costs boot time.
    "-netdev", `user,id=net0${hostfwd}${guestfwd}`,
    "-device", "virtio-net-pci,netdev=net0,romfile=",
    "-nographic", "-no-reboot", "-nodefaults",
    "-serial", "stdio",
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
