// A running QEMU instance: its console as lines, the app's exit status, and stop (graceful, then hard).
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, statSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { IngotError } from "../errors.ts";
import { bootFiles, qemuCommand, type VmSpec } from "./qemu-args.ts";
import { sendCtrlAltDel } from "./qmp.ts";
import { VmConsole } from "./vm-console.ts";

export type { VmState } from "./vm-console.ts";

export interface VmOptions {
  binary?: string;
  /** Applied to every console line before it is kept or shown: hides secret values. */
  redact?: (line: string) => string;
}

/**
 * @example
 * const vm = QemuVm.start(spec);
 * await vm.waitForLine(/listening/, 60_000);
 * await vm.stop(10_000);
 */
export class QemuVm extends VmConsole {
  readonly exited: Promise<number | null>;
  #process: ChildProcess;

  private constructor(readonly spec: VmSpec, binary: string, redact: (line: string) => string) {
    super(redact);
    // Its own process group: a Ctrl-C in the terminal reaches ingot, which stops the guest gracefully,
    // instead of killing QEMU outright. setpriv's parent-death signal kills QEMU if ingot itself is
    // killed (SIGKILL runs no exit handler), so no VM outlives the process that started it.
    this.#process = spawnQemu(spec, qemuCommand(spec, binary), { stdio: ["ignore", "pipe", "pipe"], detached: true });
    const killOnExit = (): void => { this.kill(); };
    process.once("exit", killOnExit);
    this.#process.once("exit", () => process.off("exit", killOnExit));
    this.exited = new Promise((resolve, reject) => {
      this.#process.on("error", (error: NodeJS.ErrnoException) => {
        this.state = "stopped";
        reject(error.code === "ENOENT"
          ? new IngotError("Cannot boot as setpriv is not installed", { code: "setpriv-missing", hint: "apt-get install util-linux", cause: error })
          : error);
      });
      this.#process.on("exit", (code) => {
        this.state = "stopped";
        this.emit("exit", code);
        resolve(code);
      });
    });
    this.exited.catch(() => {});
    for (const stream of [this.#process.stdout!, this.#process.stderr!]) {
      createInterface({ input: stream }).on("line", (raw) => this.acceptLine(raw));
    }
  }

  static start(spec: VmSpec, { binary = "qemu-system-x86_64", redact = (line) => line }: VmOptions = {}): QemuVm {
    assertCanBoot(spec, binary);
    return new QemuVm(spec, binary, redact);
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  /**
   * Graceful stop: ctrl-alt-del through QMP reaches init as SIGINT, init sends SIGTERM to the app and
   * powers off when it ends. Past `timeoutMs` the QEMU process is killed.
   */
  async stop(timeoutMs: number): Promise<void> {
    if (this.state === "stopped") return;
    this.state = "stopping";
    if (this.spec.qmpSocket) await sendCtrlAltDel(this.spec.qmpSocket).catch(() => this.#process.kill("SIGKILL"));
    else this.#process.kill("SIGKILL");
    const timer = setTimeout(() => this.#process.kill("SIGKILL"), timeoutMs);
    await this.exited.catch(() => {});
    clearTimeout(timer);
  }

  /** Hard stop; safe to call at any time, also after exit. */
  kill(): void {
    if (this.state !== "stopped") this.#process.kill("SIGKILL");
  }
}

/**
 * Starts QEMU's command (qemuCommand, or a variant of it in a benchmark). An unprivileged QEMU reads
 * the kernel, initrd and layer disks through descriptors 3, 4, … (bootFiles), opened here.
 */
export function spawnQemu(spec: VmSpec, [command, ...args]: string[], options: { stdio: ["ignore", "pipe" | "ignore" | number, "pipe" | "inherit" | number]; detached?: boolean }): ChildProcess {
  const inherited = spec.user ? bootFiles(spec).map((file) => openSync(file, "r")) : [];
  try {
    return spawn(command!, args, { ...options, stdio: [...options.stdio, ...inherited] });
  } finally {
    for (const fd of inherited) closeSync(fd);
  }
}

/** What booting needs on this host, refused before anything starts: QEMU, socat for metadata, readable boot files. */
export function assertCanBoot(spec: VmSpec, binary: string): void {
  if (!onPath(binary)) {
    throw new IngotError(`Cannot boot as ${binary} is not installed`, { code: "qemu-missing", hint: "apt-get install qemu-system-x86 (scripts/setup.sh installs it)" });
  }
  if (spec.guestEndpoints?.length && !onPath("socat")) {
    throw new IngotError("Cannot serve the instance its configuration and logs endpoints as socat is not installed", { code: "socat-missing", hint: "apt-get install socat (scripts/setup.sh installs it)" });
  }
  if (spec.user) for (const file of bootFiles(spec)) assertWorldReadable(file);
}

/** An unprivileged QEMU opens its boot files through /proc/self/fd, which checks the file's own mode. */
function assertWorldReadable(file: string): void {
  if ((statSync(file).mode & 0o004) === 0) {
    throw new IngotError(`Cannot boot as QEMU's unprivileged user cannot read the boot file: ${file}`, {
      code: "boot-file-private", hint: `Make it readable: chmod o+r ${file} (the vault's files follow the umask ingot ran under)`,
    });
  }
}

function onPath(binary: string): boolean {
  if (binary.includes("/")) return existsSync(binary);
  return (process.env.PATH ?? "/usr/bin:/bin").split(":").some((dir) => existsSync(join(dir, binary)));
}
