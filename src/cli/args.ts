// A small argv parser: positionals, --flag, --key value, --key=value, -k value, repeated keys.
import { IngotError } from "../errors.ts";

export interface Parsed {
  positionals: string[];
  flags: Map<string, string[]>;
}

/** Options that take no value; given one (`--json=false`), it must be one of BOOLEAN_VALUES. */
const BOOLEAN = new Set(["json", "verbose", "help", "force", "locked", "update"]);
const BOOLEAN_VALUES: Record<string, "true" | "false"> = { true: "true", "1": "true", false: "false", "0": "false" };

export function parseArgs(argv: string[]): Parsed {
  const parsed: Parsed = { positionals: [], flags: new Map() };
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (!arg.startsWith("-") || arg === "-") {
      parsed.positionals.push(arg);
      continue;
    }
    const [rawKey, inline] = arg.replace(/^--?/, "").split(/=(.*)/s, 2) as [string, string | undefined];
    const value = BOOLEAN.has(rawKey) ? booleanValue(arg, inline) : inline ?? argv[++index];
    if (value === undefined) throw new IngotError(`Cannot read option ${arg} as it needs a value`, { code: "cli-missing-value", hint: `Write ${arg} VALUE` });
    parsed.flags.set(rawKey, [...(parsed.flags.get(rawKey) ?? []), value]);
  }
  return parsed;
}

/** `--json` is true; `--json=false` is false, not true: a value that is neither is an error. */
function booleanValue(arg: string, inline: string | undefined): "true" | "false" {
  if (inline === undefined) return "true";
  const value = BOOLEAN_VALUES[inline.toLowerCase()];
  if (!value) throw new IngotError(`Cannot read option ${arg} as it takes true or false`, { code: "cli-bad-value", hint: `Write ${arg.split("=")[0]}, or =true, =false, =1, =0` });
  return value;
}

export function flag(parsed: Parsed, name: string): string | undefined {
  return parsed.flags.get(name)?.at(-1);
}

/** Rejects options the verb does not know, naming them, before any work starts. */
export function allowOnly(parsed: Parsed, verb: string, known: string[]): void {
  const unknown = [...parsed.flags.keys()].filter((key) => !known.includes(key) && key !== "verbose");
  if (unknown.length > 0) {
    throw new IngotError(`Cannot run ingot ${verb} as it has no option ${unknown.map((key) => `--${key}`).join(", ")}`, {
      code: "cli-unknown-option", hint: `Options of ingot ${verb}: ${known.map((key) => `--${key}`).join(", ")}`,
    });
  }
}

/** The one image a verb acts on (inspect, rm, run); none or several is an error with the usage. */
export function oneImage(parsed: Parsed, verb: string, usage = "NAME:VERSION"): string {
  const [ref, ...extra] = parsed.positionals;
  if (!ref || extra.length > 0) {
    throw new IngotError(`Cannot run ingot ${verb} as it takes one image, got ${parsed.positionals.length}: ${parsed.positionals.join(" ") || "none"}`, {
      code: "cli-missing-argument", hint: `Write ingot ${verb} ${usage}; ingot images lists them`,
    });
  }
  return ref;
}
