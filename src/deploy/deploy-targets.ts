// Which image a rollback or a promotion deploys, chosen from the history alone (plain data in, one
// deployment out), so the rules are tested without a VM: never a rebuild, always a recorded digest.
import { IngotError } from "../errors.ts";
import type { Deployment } from "../state/deployments.ts";

/**
 * The image a rollback goes back to: the newest earlier deploy that succeeded with another image
 * than the one serving, or the one whose version (or digest) is `to`.
 *
 * @example
 * rollbackTarget("prod", history);        // hello:1.0.0 when hello:2.0.0 serves
 * rollbackTarget("prod", history, "1.0.0");
 */
export function rollbackTarget(environment: string, history: Deployment[], to?: string): Deployment {
  const newestFirst = [...history].sort((a, b) => b.id - a.id);
  const serving = newestFirst.find((deployment) => deployment.state === "succeeded");
  const candidates = newestFirst.filter((deployment) => deployment.state === "succeeded" && deployment.imageDigest !== serving?.imageDigest);
  const target = to === undefined ? candidates[0] : candidates.find((deployment) => matches(deployment, to));
  if (target) return target;
  const known = [...new Set(candidates.map((deployment) => deployment.imageRef))];
  if (to !== undefined && serving && matches(serving, to)) {
    throw new IngotError(`Cannot roll ${environment} back to ${to} as it serves that image now`, { code: "rollback-same", hint: known.length > 0 ? `Earlier images: ${known.join(", ")}` : "There is no earlier image to go back to" });
  }
  throw new IngotError(`Cannot roll ${environment} back${to ? ` to ${to}` : ""} as ${to ? "no successful deploy there had that version" : "no earlier deploy there succeeded with another image"}`, {
    code: "rollback-no-target", hint: known.length > 0 ? `Earlier images: ${known.join(", ")}` : `See ingot history --env ${environment}`,
  });
}

/**
 * The image a promotion deploys: the one serving `from`. An image that never became healthy there is
 * refused unless forced (then the newest deploy there, whatever its outcome).
 *
 * @example
 * promoteTarget("test", history).imageDigest; // the digest serving test
 */
export function promoteTarget(from: string, history: Deployment[], force = false): Deployment {
  const newestFirst = [...history].sort((a, b) => b.id - a.id);
  const serving = newestFirst.find((deployment) => deployment.state === "succeeded");
  if (serving) return serving;
  const newest = newestFirst[0];
  if (force && newest) return newest;
  throw new IngotError(`Cannot promote from ${from} as no image has become healthy there${newest ? `: its last deploy, ${newest.imageRef}, ${newest.state}` : ""}`, {
    code: "promote-never-healthy", hint: newest ? "Deploy a good image there first, or pass --force to promote it anyway" : `Deploy to ${from} first: ingot deploy IMAGE --env ${from}`,
  });
}

function matches(deployment: Deployment, to: string): boolean {
  const version = deployment.imageRef.slice(deployment.imageRef.lastIndexOf(":") + 1);
  return to === version || to === deployment.imageRef || (to.startsWith("sha256:") && deployment.imageDigest.startsWith(to));
}
