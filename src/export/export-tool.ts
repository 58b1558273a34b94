// The host tools an export runs (objcopy, mkfs.fat, mtools, qemu-img), with the export's own words
// and error codes (src/process/host-tool.ts runs them).
import { type HostTool, runHostTool } from "../process/host-tool.ts";

/**
 * @example
 * await exportTool({ argv: ["mkfs.fat", "-F", "32", esp], debianPackage: "dosfstools" });
 */
export function exportTool(tool: Pick<HostTool, "argv" | "debianPackage" | "env">): Promise<void> {
  return runHostTool({ ...tool, purpose: "export the disk", codes: { missing: "export-tool-missing", failed: "export-tool-failed" } });
}
