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
    "`outbound`: an environment's own value wins over the top-level one; `ingot run --env E` and deploys boot",
    "E's instances with it. `internet` lets the guest open connections to any address that is not the host's",
    "(its loopback through 10.0.2.2, any of its addresses, link-local and cloud metadata 169.254.169.254),",
    "enforced by ingot's nftables table `inet ingot` (docs/design-notes.md, \"The guest reaches only what ingot gives it\").",
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
