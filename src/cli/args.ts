// What a verb's body receives from the parser (commander): positionals, and each option's values by
// its long name, in the order given.
import type { Command, Option } from "commander";
import { IngotError } from "../errors.ts";

export interface Parsed {
  positionals: string[];
  /** `publish` → ["8080:8080", "9090:9090"]; a boolean option's value is "true" or "false". */
  flags: Map<string, string[]>;
}

const BOOLEAN_VALUES: Record<string, boolean> = { true: true, "1": true, false: false, "0": false };

export function flag(parsed: Parsed, name: string): string | undefined {
  return parsed.flags.get(name)?.at(-1);
}

/** `-n, --lines <N>`: how many of the newest lines (or events) to print first. */
export function lineCount(parsed: Parsed, defaultCount: number): number {
  const lines = flag(parsed, "lines");
  if (lines === undefined) return defaultCount;
  if (!/^\d+$/.test(lines)) throw new IngotError(`Cannot read -n ${lines} as it is not a number of lines`, { code: "cli-bad-value", exitCode: 2, hint: "Write -n 100" });
  return Number(lines);
}

/** The parsed command's operands and options, keyed by long name (`--secret-file` → "secret-file"). */
export function parsedArgs(command: Command): Parsed {
  const values = command.opts();
  const flags = new Map<string, string[]>();
  for (const option of command.options.filter((option) => !option.negate)) {
    const value: unknown = values[option.attributeName()];
    if (value === undefined) continue;
    flags.set(optionName(option), Array.isArray(value) ? value.map(String) : [String(value)]);
  }
  return { positionals: [...command.args], flags };
}

/**
 * Rewrites `--json=false` as `--no-json` and `--json=true` as `--json` for the command's boolean
 * options, which commander would otherwise reject as unknown; any other value is an error.
 */
export function booleanValues(argv: string[], command: Command): string[] {
  const rewritten: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === "--") return [...rewritten, ...argv.slice(index)];
    const option = command.options.find((candidate) => candidate.long === arg || candidate.short === arg);
    // The next word is this option's value, even when it looks like `--json=…`.
    if (option?.required) {
      rewritten.push(arg, ...argv.slice(index + 1, index + 2));
      index++;
      continue;
    }
    rewritten.push(booleanValue(arg, command));
  }
  return rewritten;
}

function booleanValue(arg: string, command: Command): string {
  const [, long, inline] = /^(--[^=]+)=(.*)$/s.exec(arg) ?? [];
  const option = command.options.find((candidate) => candidate.long === long && !candidate.negate);
  if (!long || inline === undefined || !option || option.required || option.optional) return arg;
  const value = BOOLEAN_VALUES[inline.toLowerCase()];
  if (value === undefined) {
    throw new IngotError(`Cannot read option ${arg} as it takes true or false`, { code: "cli-bad-value", exitCode: 2, hint: `Write ${long}, or ${long}=true, =false, =1, =0` });
  }
  return value ? long : `--no-${long.slice(2)}`;
}

function optionName(option: Option): string {
  return (option.long ?? option.short ?? "").replace(/^--?/, "");
}
