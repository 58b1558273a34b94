// A file of this machine that goes into an image at another path, with its size; a missing one is
// named with what to do.
import { stat } from "node:fs/promises";
import { IngotError } from "../errors.ts";
import type { HostFile } from "./layer-plan.ts";

/**
 * @example
 * await hostFile("/var/…/node-22.23.5-…/bin/node", "/usr/local/bin/node"); // { path, realPath, size: 120034816 }
 */
export async function hostFile(realPath: string, path: string, hint?: string): Promise<HostFile> {
  const info = await stat(realPath).catch((error: unknown) => {
    throw new IngotError(`Cannot put ${path} into the image as ${realPath} does not exist`, { code: "input-missing", hint: hint ?? "Reinstall the package that provides it", cause: error });
  });
  return { path, realPath, size: info.size };
}
