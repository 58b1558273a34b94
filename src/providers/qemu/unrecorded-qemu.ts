// A QEMU that a control plane started but never recorded: killed between spawning it and saving
// its pid, the server left no record to adopt it by. The instance id that the provider puts on the
// kernel command line (ingot.hostname=ID) finds it, so a restarted server can end it.
import { readdir, readFile } from "node:fs/promises";
import { hasExited, processStartTime } from "../../process/process-identity.ts";

/**
 * Kills every QEMU process booted as instance `id` and resolves with their pids once they are gone;
 * none found is the usual case (the boot had not spawned QEMU yet). Its run folder and ports name
 * it as their owner, so they are freed as any dead instance's are.
 *
 * @example
 * await endUnrecordedQemu("i-3f2a"); // [4242]
 */
export async function endUnrecordedQemu(id: string): Promise<number[]> {
  const pids = await qemuProcessesOf(id);
  for (const { pid } of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Gone between the look and the kill.
    }
  }
  const deadline = Date.now() + 10_000;
  for (const identity of pids) {
    while (!(await hasExited(identity)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return pids.map(({ pid }) => pid);
}

async function qemuProcessesOf(id: string): Promise<{ pid: number; startTime: string }[]> {
  const hostname = new RegExp(`(^| )ingot\\.hostname=${id.replace(/[^A-Za-z0-9-]/g, "")}( |$)`);
  const found = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "")).split("\0");
    if (!argv[0]?.includes("qemu-system") || !argv.some((arg) => hostname.test(arg))) continue;
    const startTime = await processStartTime(Number(entry));
    if (startTime !== undefined) found.push({ pid: Number(entry), startTime });
  }
  return found;
}
