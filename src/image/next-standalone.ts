// Next.js's standalone output (`output: "standalone"` in next.config): after `next build`, the folder
// .next/standalone holds a server.js and the node_modules Next traced as needed at run time, a tenth
// of the app's node_modules (sharp and SWC's compilers are left out). An image of it ships only that,
// plus the two folders Next leaves for a CDN and expects beside server.js: .next/static and public.
import { join } from "node:path";
import { exists } from "../vault/vault.ts";
import { appFileEntries, comparePaths, EXCLUDED_NAMES } from "./app-files.ts";
import type { Entry } from "./cpio.ts";

/** What an image of a standalone build is made of, in place of the app folder and its installed dependencies. */
export interface NextStandalone {
  appEntries: Entry[];
  /** The traced node_modules, the image's dependency layer; undefined when Next traced none. */
  nodeModules: string | undefined;
  command: string[];
  commandSource: string;
  /** server.js listens on HOSTNAME, which a VM's environment does not set; 0.0.0.0 says so plainly. */
  env: Record<string, string>;
}

/**
 * The standalone layout of a built app folder, or undefined when it has none.
 *
 * @example
 * await nextStandalone("/vault/tmp/build-x"); // { command: ["node", "server.js"], nodeModules: "…/.next/standalone/node_modules", … }
 */
export async function nextStandalone(builtDir: string): Promise<NextStandalone | undefined> {
  const standalone = join(builtDir, ".next", "standalone");
  if (!(await exists(join(standalone, "server.js")))) return undefined;
  const appEntries = await appFileEntries(standalone, "/app");
  for (const [from, to] of [[join(builtDir, ".next", "static"), "/app/.next/static"], [join(builtDir, "public"), "/app/public"]] as const) {
    // Each walk starts with its own root folder entry; the standalone walk already made /app.
    if (await exists(from)) appEntries.push(...(await appFileEntries(from, to, EXCLUDED_NAMES)));
  }
  const nodeModules = join(standalone, "node_modules");
  return {
    appEntries: appEntries.sort((a, b) => comparePaths(a.path, b.path)),
    nodeModules: (await exists(nodeModules)) ? nodeModules : undefined,
    command: ["node", "server.js"],
    commandSource: "Next.js standalone output (.next/standalone/server.js)",
    env: { HOSTNAME: "0.0.0.0" },
  };
}
