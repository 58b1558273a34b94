// An environment's capacity: the number of instances deploys boot and the capacity keeper keeps. It
// is the number ingot scale set, else the one its image's ingot.yaml says (environments.E.instances).
import type { Environment } from "../state/environments.ts";
import type { DeploySettings } from "./deploy-settings.ts";

export interface Capacity {
  instances: number;
  /** What the image's ingot.yaml says, shown beside a scaled number. */
  imageInstances: number;
  /** Set by ingot scale: deploys keep it until ingot scale --reset. */
  scaled: boolean;
}

/**
 * @example
 * capacity({ desiredInstances: 3 }, { instances: 2 }); // { instances: 3, imageInstances: 2, scaled: true }
 * capacity({ desiredInstances: null }, { instances: 2 }); // { instances: 2, imageInstances: 2, scaled: false }
 */
export function capacity(environment: Pick<Environment, "desiredInstances">, settings: Pick<DeploySettings, "instances">): Capacity {
  const scaled = environment.desiredInstances !== null;
  return { instances: environment.desiredInstances ?? settings.instances, imageInstances: settings.instances, scaled };
}

/**
 * The image's settings with the environment's capacity in `instances`: what a deploy boots and the
 * keeper keeps.
 *
 * @example
 * const settings = withCapacity(deploySettings(manifest, "prod"), environments.get("prod"));
 */
export function withCapacity<T extends Pick<DeploySettings, "instances">>(settings: T, environment: Pick<Environment, "desiredInstances">): T {
  return { ...settings, instances: capacity(environment, settings).instances };
}
