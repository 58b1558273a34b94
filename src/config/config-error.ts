// The error of a configuration file with problems: every problem at once, each with its key path.
import { IngotError } from "../errors.ts";
import type { ConfigProblem } from "./schema.ts";

/** Problems in an app's configuration (ingot.yaml or package.json), all of them, each with its path. */
export class ConfigError extends IngotError {
  override name = "ConfigError";
  constructor(readonly file: string, readonly problems: ConfigProblem[]) {
    super(
      `Cannot use ${file} as it has ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n` +
        problems.map((p) => `  ${p.path}: ${p.message}${p.hint ? ` (${p.hint})` : ""}`).join("\n"),
      { code: "config-invalid", hint: "Fix the keys above; docs/config.md lists every key" },
    );
  }
}
