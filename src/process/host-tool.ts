// Runs one of the host tools ingot calls (mkfs.erofs for a disk layer; objcopy, mkfs.fat, mtools,
// qemu-img for an export), turning a missing tool or a failure into an error that says what it was
// for, names the Debian package, and quotes the tool's own last words.
import { spawn } from "node:child_process";
import { IngotError } from "../errors.ts";

export interface HostTool {
  argv: string[];
  /** What it is run for, as the error says it: "export the disk", "write a disk-form layer". */
  purpose: string;
  /** The Debian package that has the tool, for the hint. */
  debianPackage: string;
  /** Error codes of a missing tool and of a failure; a full disk is "disk-full" whatever the tool. */
  codes: { missing: string; failed: string };
  /** What else the user can do when the tool is missing, e.g. "build with --initrd". */
  alternative?: string;
  /** The hint of a failure that is not a full disk (default: check the tool works on this host). */
  failedHint?: string;
  env?: Record<string, string>;
}

/**
 * @example
 * await runHostTool({ argv: ["mkfs.fat", "-F", "32", esp], purpose: "export the disk", debianPackage: "dosfstools",
 *   codes: { missing: "export-tool-missing", failed: "export-tool-failed" } });
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
      throw new IngotError(`Cannot ${tool.purpose} as ${command} is not installed`, {
        code: tool.codes.missing, hint: `apt-get install ${tool.debianPackage} (scripts/setup.sh installs it)${tool.alternative ? `, or ${tool.alternative}` : ""}`, cause: error,
      });
    }
    throw error;
  });
  if (status !== 0) {
    const full = /No space left|disk full|ENOSPC/i.test(stderr);
    const reason = stderr.trim().split("\n").slice(-3).join("; ") || `exit status ${status}`;
    throw new IngotError(`Cannot ${tool.purpose} as ${command} failed: ${reason}`, {
      code: full ? "disk-full" : tool.codes.failed,
      hint: full ? "Free some space where it is written; nothing was left behind" : tool.failedHint ?? `Check ${command} works on this host (apt-get install ${tool.debianPackage})`,
    });
  }
}
