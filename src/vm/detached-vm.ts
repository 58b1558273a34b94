// An instance that outlives the process that started it: QEMU in its own session without a
// parent-death signal, its serial console appended to a file in the run folder, controlled through
// QMP. Whoever holds its record (pid, start time, QMP socket, console file) can adopt it later.
import { open, stat } from "node:fs/promises";
import { IngotError } from "../errors.ts";
import { isRunning, type ProcessIdentity, processStartTime } from "../process/process-identity.ts";
import type { VmSpec } from "./qemu-args.ts";
import { qemuCommand } from "./qemu-args.ts";
import { assertCanBoot, spawnQemu, type VmOptions } from "./qemu-vm.ts";
import { sendCtrlAltDel } from "./qmp.ts";
import { VmConsole } from "./vm-console.ts";

/** What a control plane keeps to find the instance again. */
export interface DetachedRecord extends ProcessIdentity {
  qmpSocket: string;
  consoleFile: string;
}

/** How often the console file is read and the process looked for. */
const POLL_MS = 100;

/**
 * @example
 * const vm = await DetachedVm.start({ ...spec, outlivesIngot: true }, "/tmp/ingot-i-1-Ab12Cd/console.log");
 * const again = await DetachedVm.adopt(vm.record); // in another process, after a restart
 * await again.stop(10_000);
 */
export class DetachedVm extends VmConsole {
  readonly exited: Promise<number | null>;
  #offset = 0;
  #partial = "";
  #timer: NodeJS.Timeout | undefined;

  private constructor(readonly record: DetachedRecord, redact: (line: string) => string) {
    super(redact);
    this.state = "running";
    this.exited = new Promise((resolve) => {
      const poll = async (): Promise<void> => {
        await this.#readConsole();
        if (await isRunning(record)) return;
        clearInterval(this.#timer);
        await this.#readConsole();
        this.state = "stopped";
        this.emit("exit", null);
        resolve(null);
      };
      this.#timer = setInterval(() => void poll(), POLL_MS);
    });
  }

  static async start(spec: VmSpec & { qmpSocket: string }, consoleFile: string, { binary = "qemu-system-x86_64", redact = (line) => line }: VmOptions = {}): Promise<DetachedVm> {
    assertCanBoot(spec, binary);
    const console = await open(consoleFile, "a", 0o600);
    try {
      // Its own session: no terminal signal and no death of this process reaches it.
      const child = spawnQemu(spec, qemuCommand(spec, binary), { stdio: ["ignore", console.fd, console.fd], detached: true });
      child.unref();
      const pid = await new Promise<number>((resolve, reject) => {
        child.once("spawn", () => resolve(child.pid!)).once("error", (error) => reject(new IngotError(`Cannot boot as ${(error as Error).message}`, { code: "qemu-spawn", hint: "apt-get install util-linux qemu-system-x86", cause: error })));
      });
      const startTime = await processStartTime(pid);
      if (startTime === undefined) throw new IngotError(`Cannot boot as QEMU exited at once; its console is in ${consoleFile}`, { code: "qemu-exited", hint: `Read ${consoleFile}` });
      return new DetachedVm({ pid, startTime, qmpSocket: spec.qmpSocket, consoleFile }, redact);
    } finally {
      await console.close();
    }
  }

  /** Takes over a running instance from its record; refused when that process is gone (or its pid reused). */
  static async adopt(record: DetachedRecord, { redact = (line: string) => line }: Pick<VmOptions, "redact"> = {}): Promise<DetachedVm> {
    if (!(await isRunning(record))) {
      throw new IngotError(`Cannot adopt the instance of pid ${record.pid} as it no longer runs`, { code: "instance-gone", hint: `Its last console lines are in ${record.consoleFile}; replace the instance` });
    }
    return new DetachedVm(record, redact);
  }

  get pid(): number {
    return this.record.pid;
  }

  /** Graceful stop through QMP (init sends SIGTERM to the app); killed past `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    if (this.state === "stopped") return;
    this.state = "stopping";
    await sendCtrlAltDel(this.record.qmpSocket).catch(() => this.kill());
    const timer = setTimeout(() => this.kill(), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Hard stop of this very process (never another that took its pid). */
  kill(): void {
    void isRunning(this.record).then((running) => { if (running) process.kill(this.record.pid, "SIGKILL"); });
  }

  async #readConsole(): Promise<void> {
    const size = await stat(this.record.consoleFile).then((info) => info.size, () => this.#offset);
    if (size <= this.#offset) return;
    const file = await open(this.record.consoleFile, "r");
    try {
      const buffer = Buffer.alloc(size - this.#offset);
      await file.read(buffer, 0, buffer.length, this.#offset);
      this.#offset = size;
      const lines = (this.#partial + buffer.toString("utf8")).split("\n");
      this.#partial = lines.pop() ?? "";
      for (const line of lines) this.acceptLine(line);
    } finally {
      await file.close();
    }
  }
}
