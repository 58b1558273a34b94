// Renders the reference of ingot.yaml (docs/config.md) from the schema, so the two cannot drift.
import { appKeys } from "./app-schema.ts";

/**
 * @example
 * configReference().startsWith("# ingot.yaml"); // true
 */
export function configReference(): string {
  const rows = Object.entries(appKeys).map(([key, spec]) => `| \`${key}\` | ${spec.description.replaceAll("|", "\\|")} |`);
  return [
    "# ingot.yaml",
    "",
    "Every key is optional. Unknown keys are rejected, and every problem is reported at once with its",
    "path. Generated from `src/config/app-schema.ts` by `node --import tsx src/config/config-docs.ts > docs/config.md`.",
    "",
    "| key | meaning |",
    "| --- | --- |",
    ...rows,
    "",
    "Precedence of environment variables inside the guest: baked `env` < baked `environments.<env>.env`.",
    "",
    "```yaml",
    "name: hello",
    "runtime: node@22",
    "command: [node, server.js]",
    "ports:",
    "  http: 8080",
    "healthcheck:",
    "  path: /health",
    "  interval: 1s",
    "  timeout: 2s",
    "  healthy: 1",
    "resources:",
    "  cpus: 1",
    "  memory: 256M",
    "env:",
    "  GREETING: hello",
    "environments:",
    "  prod:",
    "    env:",
    "      LOG_LEVEL: warn",
    "```",
    "",
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(configReference());
