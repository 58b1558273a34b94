// Runs one of the host tools an export needs (objcopy, mkfs.fat, mtools, qemu-img), turning a
// missing tool or a failure into an error that names the Debian package or the tool's own words.
import { spawn } from "node:child_process";
import { IngotError } from "../errors.ts";

export interface HostTool {
  argv: string[];
  /** The Debian package that has the tool, for the hint. */
  debianPackage: string;
  env?: Record<string, string>;
}

/**
 * @example
 * await runHostTool({ argv: ["mkfs.fat", "-F", "32", esp], debianPackage: "dosfstools" });
 */
export async function runHostTool(tool: HostTool): Promise<void> {
  const [command, ...args] = tool.argv;
  const child = spawn(command!, args, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...tool.env } });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  const status = await new Promise<number>((resolve, reject) => child.on("error", reject).on("close", (code) => resolve(code ?? 1))).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") {
      throw new IngotError(`Cannot export the disk as ${command} is not installed`, { code: "export-tool-missing", hint: `apt-get install ${tool.debianPackage} (scripts/setup.sh installs it)`, cause: error });
    }
    throw error;
  });
  if (status !== 0) {
    const reason = stderr.trim().split("\n").slice(-3).join("; ") || `exit status ${status}`;
    throw new IngotError(`Cannot export the disk as ${command} failed: ${reason}`, {
      code: /No space left|disk full|ENOSPC/i.test(stderr) ? "disk-full" : "export-tool-failed",
      hint: /No space left|ENOSPC/i.test(stderr) ? "Free some space where the disk is written; nothing was left behind" : `Check ${command} works on this host (apt-get install ${tool.debianPackage})`,
    });
  }
}
