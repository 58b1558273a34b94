// `ingot deploy IMAGE|DIR --env E [--bind ADDRESS] [--json]`: blue/green to an environment through
// the control plane (a folder is built first, here). Progress streams step by step; a deploy that
// fails leaves the previous version serving and exits non-zero with the reason.
import { stat } from "node:fs/promises";
import type { DeployReport } from "../deploy/deploy-engine.ts";
import { IngotError } from "../errors.ts";
import { buildImage } from "../image/build.ts";
import { streamServer } from "../server/control-client.ts";
import { Vault } from "../vault/vault.ts";
import { allowOnly, flag, oneImage, type Parsed } from "./args.ts";
import { deployProgress } from "./deploy-progress.ts";

/**
 * @example
 * // $ ingot deploy hello:2.0.0 --env prod
 * //    0.0s  deploy 4: hello:2.0.0 (sha256:3f2a…) to prod, config v2; new i-9c1d; replacing i-3f2a
 * //    7.9s  i-9c1d booting → healthy
 * //   12.4s  hello:2.0.0 serves prod at http://127.0.0.1:8080/
 */
export const deployVerb = {
  summary: "deploy an image (or build and deploy a folder) to an environment, blue/green",
  async run(args: Parsed): Promise<number> {
    allowOnly(args, "deploy", ["env", "bind", "json"]);
    const ref = oneImage(args, "deploy", "NAME[:VERSION] --env E, or ingot deploy DIR --env E");
    const environment = requiredFlag(args, "env", "deploy", "--env prod");
    const isFolder = await stat(ref).then((info) => info.isDirectory(), () => false);
    const image = isFolder ? (await buildImage(ref, { vault: await Vault.open(), log: (line) => console.error(line) })).digest : ref;
    const bind = flag(args, "bind");
    const progress = deployProgress(flag(args, "json") === "true");
    const report = await streamServer<DeployReport>("/v1/deploy", { environment, image, ...(bind ? { bindAddress: bind } : {}) }, progress.event);
    return progress.finish(report, "deploy");
  },
};

/** An option a verb cannot do without: its absence is a usage error with an example. */
export function requiredFlag(args: Parsed, name: string, verb: string, example: string): string {
  const value = flag(args, name);
  if (value === undefined || value === "") {
    throw new IngotError(`Cannot run ingot ${verb} as it needs --${name}`, { code: "cli-missing-option", hint: `For example: ingot ${verb} … ${example}` });
  }
  return value;
}
