// `ingot deploy IMAGE|DIR --env E [--bind ADDRESS] [--json]`: blue/green to an environment through
// the control plane (a folder is built first, here). Progress streams step by step; a deploy that
// fails leaves the previous version serving and exits non-zero with the reason.
import { stat } from "node:fs/promises";
import type { DeployReport } from "../deploy/deploy-engine.ts";
import { buildImage } from "../image/build.ts";
import { streamServer } from "../server/control-client.ts";
import { Vault } from "../vault/vault.ts";
import { flag, type Parsed } from "./args.ts";
import { deployProgress } from "./deploy-progress.ts";

/**
 * @example
 * // $ ingot deploy hello:2.0.0 --env prod
 * //    0.0s  deploy 4: hello:2.0.0 (sha256:3f2a…) to prod, config v2; new i-9c1d; replacing i-3f2a
 * //    7.9s  i-9c1d booting → healthy
 * //   12.4s  hello:2.0.0 serves prod at http://127.0.0.1:8080/
 */
export const deployVerb = {
  async run(args: Parsed): Promise<number> {
    const ref = args.positionals[0]!;
    const environment = flag(args, "env")!;
    const isFolder = await stat(ref).then((info) => info.isDirectory(), () => false);
    const image = isFolder ? (await buildImage(ref, { vault: await Vault.open(), log: (line) => console.error(line) })).digest : ref;
    const bind = flag(args, "bind");
    const progress = deployProgress(flag(args, "json") === "true");
    const report = await streamServer<DeployReport>("/v1/deploy", { environment, image, ...(bind ? { bindAddress: bind } : {}) }, progress.event);
    return progress.finish(report, "deploy");
  },
};
