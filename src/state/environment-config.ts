// An environment's configuration and secrets read as one version: what a deploy hands its instances.
import { ConfigStore } from "./config-store.ts";
import type { StateDatabase } from "./database.ts";
import type { SecretStore } from "./secret-store.ts";

export interface EnvironmentConfig {
  /** The config version the deploy records: both lists below are exactly that version. */
  version: number;
  /** Runtime variables, sorted by name (instanceConfig's runtimeEnv). */
  runtimeEnv: [string, string][];
  /** Secret values in the clear, sorted by name (instanceConfig's secrets). */
  secrets: [string, string][];
}

/**
 * Reads config and secrets in one snapshot, so a `config set` landing between the two reads cannot
 * give a deploy values from two versions.
 *
 * @example
 * const { version, runtimeEnv, secrets } = environmentConfig(state, secretStore, "prod");
 * instanceConfig({ instanceId, image, platform: "qemu", runtimeEnv, secrets });
 * deployments.begin({ environment: "prod", imageRef, imageDigest, strategy: "blue-green", configVersion: version });
 */
export function environmentConfig(state: StateDatabase, secrets: SecretStore, environment: string): EnvironmentConfig {
  return state.read(() => {
    const config = new ConfigStore(state).snapshot(environment);
    const revealed = secrets.reveal(environment);
    return { version: config.version, runtimeEnv: Object.entries(config.values), secrets: Object.entries(revealed.values) };
  });
}
