// What one instance is told at boot through the metadata service: ingot's own variables, the
// runtime variables (-e) and the secrets, merged in that order so that a secret wins over a runtime
// variable of the same name. Baked variables are in the image; init applies these after them.
import { IngotError } from "../errors.ts";
import { variableNameProblem } from "./variable-name.ts";

export interface InstanceConfigInput {
  instanceId: string;
  image: { name: string; version: string; digest: string };
  platform: string;
  /** `-e KEY=VALUE`, in the order given; a later one wins. */
  runtimeEnv: [string, string][];
  secrets: [string, string][];
}

export interface InstanceConfig {
  instance: string;
  /**
   * Where init ships the app's lines (RFC 5424 over TCP) and the app name it gives them; set by the
   * provider, which knows the address the guest reaches its log endpoint at (init/README.md).
   */
  logs?: { address: string; app: string };
  /** The variables init adds after the baked ones, already merged. */
  env: Record<string, string>;
  /** Names whose values are secret: never printed, redacted wherever ingot shows the console. */
  secretNames: string[];
}

/**
 * @example
 * instanceConfig({ instanceId: "i-1", image, platform: "qemu", runtimeEnv: [["LOG", "debug"]], secrets: [["TOKEN", "s3"]] }).env;
 * // { INGOT_IMAGE: "hello:1.0.0@sha256:…", INGOT_INSTANCE_ID: "i-1", INGOT_PLATFORM: "qemu", LOG: "debug", TOKEN: "s3" }
 */
export function instanceConfig(input: InstanceConfigInput): InstanceConfig {
  const env: Record<string, string> = {
    INGOT_IMAGE: `${input.image.name}:${input.image.version}@${input.image.digest}`,
    INGOT_INSTANCE_ID: input.instanceId,
    INGOT_PLATFORM: input.platform,
  };
  for (const [origin, entries] of [["-e", input.runtimeEnv], ["secret", input.secrets]] as const) {
    for (const [name, value] of entries) {
      assertSettable(name, origin);
      if (value.includes("\0")) throw new IngotError(`Cannot pass ${name} as its value contains a NUL byte`, { code: "env-bad-value", hint: "Environment values cannot hold NUL bytes" });
      env[name] = value;
    }
  }
  const secretNames = [...new Set(input.secrets.map(([name]) => name))];
  return { instance: input.instanceId, env, secretNames };
}

function assertSettable(name: string, origin: string): void {
  const problem = variableNameProblem(name);
  if (problem === "invalid") {
    throw new IngotError(`Cannot pass the ${origin} variable ${JSON.stringify(name)} as it is not a variable name`, {
      code: "env-bad-name", hint: "Names are letters, digits and _, not starting with a digit: -e LOG_LEVEL=debug",
    });
  }
  if (problem === "reserved") {
    throw new IngotError(`Cannot pass the ${origin} variable ${name} as INGOT_ variables are set by ingot`, {
      code: "env-reserved", hint: "Choose another name; INGOT_ENV comes from --env",
    });
  }
}

/** The lines ingot prints about an instance's configuration: secrets by name only. */
export function describeConfig(config: InstanceConfig): string {
  return Object.entries(config.env)
    .map(([name, value]) => `${name}=${config.secretNames.includes(name) ? "[secret]" : value}`)
    .join(" ");
}
