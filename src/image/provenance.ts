// Where an image came from: the source commit of the app folder and whether it had uncommitted changes.
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const git = promisify(execFile);

/**
 * @example
 * await sourceProvenance("examples/hello"); // { commit: "3f2c…", dirty: false }
 */
export async function sourceProvenance(dir: string): Promise<{ commit: string | null; dirty: boolean }> {
  try {
    const { stdout: commit } = await git("git", ["rev-parse", "HEAD"], { cwd: dir });
    const { stdout: status } = await git("git", ["status", "--porcelain", "--", "."], { cwd: dir });
    return { commit: commit.trim(), dirty: status.trim() !== "" };
  } catch {
    // Not a git checkout (or git is not installed): the image records that it has no known commit.
    return { commit: null, dirty: false };
  }
}
