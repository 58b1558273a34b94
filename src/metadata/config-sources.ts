// Where runtime variables and secrets come from on the command line. A secret is never a command
// line argument (ps would show it): `--secret NAME` reads ingot's own environment, `--secret-file`
// a dotenv file.
import { readFile } from "node:fs/promises";
import { IngotError } from "../errors.ts";

/**
 * `-e KEY=VALUE`, or `-e KEY` to pass on ingot's own value of KEY.
 *
 * @example
 * runtimeVariables(["LOG=debug", "HOME"], { HOME: "/root" }); // [["LOG", "debug"], ["HOME", "/root"]]
 */
export function runtimeVariables(values: string[], environment: NodeJS.ProcessEnv = process.env): [string, string][] {
  return values.map((value) => {
    const at = value.indexOf("=");
    if (at > 0) return [value.slice(0, at), value.slice(at + 1)];
    const inherited = environment[value];
    if (at === 0 || inherited === undefined) {
      throw new IngotError(`Cannot pass -e ${value} as it is neither KEY=VALUE nor set in ingot's environment`, {
        code: "env-bad-value", hint: `Write -e ${value || "KEY"}=VALUE`,
      });
    }
    return [value, inherited];
  });
}

/**
 * `--secret NAME` (value from ingot's environment) and `--secret-file PATH` (KEY=VALUE lines).
 *
 * @example
 * await secretValues(["API_TOKEN"], [".secrets.env"], process.env);
 */
export async function secretValues(names: string[], files: string[], environment: NodeJS.ProcessEnv = process.env): Promise<[string, string][]> {
  const secrets: [string, string][] = [];
  for (const file of files) secrets.push(...(await readDotenv(file)));
  for (const name of names) {
    if (name.includes("=")) {
      const key = name.slice(0, name.indexOf("="));
      throw new IngotError(`Cannot take the secret ${key} from the command line as anyone could read it there`, {
        code: "secret-on-command-line", hint: `Export it and name it: ${key}=… ingot run --secret ${key} IMAGE, or use --secret-file`,
      });
    }
    const value = environment[name];
    if (value === undefined) {
      throw new IngotError(`Cannot pass the secret ${name} as it is not set in ingot's environment`, {
        code: "secret-missing", hint: `Set it first: export ${name}=…, or put it in a --secret-file`,
      });
    }
    secrets.push([name, value]);
  }
  return secrets;
}

/** KEY=VALUE per line; blank lines and # comments skipped; one pair of surrounding quotes removed. */
async function readDotenv(path: string): Promise<[string, string][]> {
  const text = await readFile(path, "utf8").catch((error: unknown) => {
    throw new IngotError(`Cannot read the secret file ${path}`, { code: "secret-file-unreadable", hint: "Check the path and its permissions", cause: error });
  });
  const entries: [string, string][] = [];
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^(?:export\s+)?([^=\s]+)\s*=\s*(.*)$/.exec(line);
    if (!match) {
      // The line itself may be a secret: say where, never what.
      throw new IngotError(`Cannot read the secret file ${path} as line ${index + 1} is not KEY=VALUE`, { code: "secret-file-bad-line", hint: "One KEY=VALUE per line; # starts a comment" });
    }
    entries.push([match[1]!, unquote(match[2]!)]);
  }
  return entries;
}

function unquote(value: string): string {
  const quoted = /^(["'])(.*)\1$/.exec(value);
  return quoted ? quoted[2]! : value;
}
