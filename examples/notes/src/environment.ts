// Which environment the instance runs in, as ingot tells it (INGOT_ENV and friends), and what
// changes with it: the log level and the banner on the page. The same image runs everywhere, so
// this is read at start, never baked at build time.

export interface Environment {
  /** INGOT_ENV as given (dev, test, prod or any other name); "local" when the app runs outside ingot. */
  name: string;
  /** pino's level: debug where people develop (dev, local), info elsewhere; LOG_LEVEL wins. */
  logLevel: string;
  /** INGOT_IMAGE: name:version@sha256:…, the image this instance booted. */
  image: string | undefined;
  /** INGOT_INSTANCE_ID: which instance answered, so a page shows blue or green. */
  instance: string | undefined;
}

const LOG_LEVELS = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

/**
 * @example
 * detectEnvironment({ INGOT_ENV: "prod", INGOT_INSTANCE_ID: "i-3" }); // { name: "prod", logLevel: "info", instance: "i-3", … }
 */
export function detectEnvironment(env: NodeJS.ProcessEnv = process.env): Environment {
  const name = env.INGOT_ENV || "local";
  const byEnvironment = name === "dev" || name === "local" ? "debug" : "info";
  const override = env.LOG_LEVEL?.toLowerCase();
  return {
    name,
    logLevel: override && LOG_LEVELS.has(override) ? override : byEnvironment,
    image: env.INGOT_IMAGE || undefined,
    instance: env.INGOT_INSTANCE_ID || undefined,
  };
}
