// The file a Node app starts from must be in the image: a typo in `command` or package.json's
// `main` would otherwise show only when the instance boots and exits at once.
import { posix } from "node:path";
import { IngotError } from "../errors.ts";
import { nodeScriptOf } from "../config/start-script.ts";
import type { Entry } from "./cpio.ts";

/** The app's working folder in the guest, against which node resolves a relative script. */
const WORKDIR = "/app";

/**
 * Refuses a `node SCRIPT …` command whose script is nowhere among the image's entries, trying the
 * names node itself would (SCRIPT, SCRIPT.js/.mjs/.cjs, a folder's index.js or package.json).
 * node's own options before the script (`node --enable-source-maps dist/main.js`) are skipped.
 *
 * @example
 * assertEntryFile(["node", "server.js"], appEntries); // throws entry-missing unless /app/server.js is there
 */
export function assertEntryFile(command: string[], entries: Entry[]): void {
  const program = command[0];
  const script = nodeScriptOf(command);
  if (program === undefined || posix.basename(program) !== "node" || script === undefined) return;
  const path = posix.resolve(WORKDIR, script);
  const paths = new Set(entries.map((entry) => entry.path));
  const candidates = [path, `${path}.js`, `${path}.mjs`, `${path}.cjs`, `${path}/index.js`, `${path}/package.json`];
  if (candidates.some((candidate) => paths.has(candidate))) return;
  throw new IngotError(`Cannot start the app as its entry file is not in the image: ${path}`, {
    code: "entry-missing",
    hint: "Fix command in ingot.yaml, or main or the start script in package.json; a file made by the build script must be made inside the app folder",
  });
}
