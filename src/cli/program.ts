// The commander program made from the verbs' declarations: it parses, answers --help, --version
// and `help VERB`, and turns its usage errors into IngotErrors (exit status 2).
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option, type OutputConfiguration, type ParseOptionsResult } from "commander";
import { IngotError } from "../errors.ts";
import { booleanValues, parsedArgs, type Parsed } from "./args.ts";
import type { OptionSpec, Verb } from "./verb.ts";

const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

/** A command whose boolean options also take a value: `--json=false` (see booleanValues). */
class IngotCommand extends Command {
  override createCommand(name?: string): IngotCommand {
    return new IngotCommand(name);
  }

  override parseOptions(argv: string[]): ParseOptionsResult {
    return super.parseOptions(booleanValues(argv, this));
  }
}

/**
 * Parses argv, runs the verb it names and returns its exit status; help and the version are
 * printed through `output`.
 *
 * @example
 * process.exitCode = await runCli(process.argv.slice(2), verbs);
 */
export async function runCli(argv: string[], verbs: Verb[], output: Pick<OutputConfiguration, "writeOut" | "writeErr"> = {}): Promise<number> {
  let status = 0;
  const program = cliProgram(verbs, async (verb, args) => { status = await verb.run(args); }, output);
  // `help NAME` of a NAME that is no verb: the unknown command's error and suggestion, not the whole help.
  const [first, name] = argv;
  const words = first === "help" && name !== undefined && !verbs.some((verb) => verb.name === name) ? [name] : argv;
  try {
    await program.parseAsync(words, { from: "user" });
    return status;
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    // Help or the version, printed already; help for no command at all is a usage error.
    return error.exitCode === 0 ? 0 : 2;
  }
}

/**
 * The program `ingot --help` describes: one command a verb, with its arguments and options, and
 * the global options. runCli parses with it; docs/cli.md is rendered from it (cli-docs.ts).
 *
 * @example
 * cliProgram(verbs).commands.map((command) => command.name()); // ["build", "lock", …]
 */
export function cliProgram(verbs: Verb[], run: (verb: Verb, args: Parsed) => Promise<void> = async () => {}, output: Pick<OutputConfiguration, "writeOut" | "writeErr"> = {}): Command {
  // Before the commands: each copies its parent's output settings when it is made.
  const program = new IngotCommand("ingot")
    .description("Cast an application into one immutable, minimal, bootable machine image")
    .usage("<command> [options]")
    .configureOutput({ ...output, outputError: () => {} })
    .configureHelp({ showGlobalOptions: true })
    .exitOverride((error) => { throw usageError(error, program); })
    .version(version, "-V, --version", "print ingot's version")
    .helpOption("-h, --help", "show this help")
    .helpCommand("help [COMMAND]", "show a command's arguments and options")
    .option("--verbose", "print stack traces with errors");
  for (const verb of verbs) {
    // `ingot --help` lists the summary; `ingot VERB --help` adds what the verb does in full.
    const command = program.command(verb.name).summary(verb.summary).description(verb.description ? `${verb.summary}\n\n${verb.description}` : verb.summary)
      .exitOverride((error) => { throw usageError(error, command); })
      .action(async () => run(verb, parsedArgs(command)));
    for (const argument of verb.arguments ?? []) command.argument(argument.name, argument.description);
    for (const spec of verb.options) addOption(command, spec);
  }
  return program;
}

function addOption(command: Command, spec: OptionSpec): void {
  const option = new Option(spec.flags, [spec.description, spec.required && "(required)", spec.repeatable && "(repeatable)"].filter(Boolean).join(" "));
  if (spec.repeatable) option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
  if (spec.required) option.makeOptionMandatory();
  command.addOption(option);
  // `--json=false` reaches commander as --no-json (see booleanValues).
  if (!option.required && !option.optional && option.long) command.addOption(new Option(`--no-${option.long.slice(2)}`).hideHelp());
}

/** Commander's usage errors in ingot's form; help and the version pass through. */
function usageError(error: CommanderError, command: Command): Error {
  const verb = command.parent ? `ingot ${command.name()}` : "ingot";
  const quoted = /'([^']*)'/.exec(error.message)?.[1] ?? "";
  const suggestion = /\(Did you mean (.+)\?\)/.exec(error.message)?.[1];
  const didYouMean = suggestion ? `Did you mean ${suggestion}? ` : "";
  const usage = (message: string, code: string, hint: string): IngotError => new IngotError(message, { code, hint, exitCode: 2 });
  switch (error.code) {
    case "commander.unknownOption":
      return usage(`Cannot run ${verb} as it has no option ${quoted}`, "cli-unknown-option", `${didYouMean}${verb} --help lists its options`);
    case "commander.unknownCommand":
      return usage(`Cannot run ingot ${quoted} as it is not a command`, "cli-unknown-command", `${didYouMean}ingot --help lists the commands`);
    case "commander.optionMissingArgument": {
      const { name, value } = describeOption(command, quoted);
      return usage(`Cannot read option ${name} as it needs a value`, "cli-missing-value", `Write ${name} ${value}`);
    }
    case "commander.missingMandatoryOptionValue": {
      const { name, value } = describeOption(command, quoted);
      return usage(`Cannot run ${verb} as it needs ${name}`, "cli-missing-option", `Write ${name} ${value}; ${verb} --help lists its options`);
    }
    case "commander.missingArgument":
      return usage(`Cannot run ${verb} as it needs ${quoted}`, "cli-missing-argument", `Usage: ${verb} ${command.usage()}`);
    case "commander.excessArguments": {
      const most = command.registeredArguments.length;
      return usage(`Cannot run ${verb} as it takes ${most === 0 ? "no arguments" : `at most ${most}`}, got: ${command.args.join(" ")}`, "cli-unexpected-argument", `Usage: ${verb} ${command.usage()}`);
    }
    default:
      return error;
  }
}

/** The name and value placeholder of the option with these flags: "-p, --publish <HOST:GUEST>". */
function describeOption(command: Command, flags: string): { name: string; value: string } {
  const option = command.options.find((candidate) => candidate.flags === flags);
  return { name: option?.long ?? option?.short ?? flags, value: /<(.+)>/.exec(flags)?.[1] ?? "VALUE" };
}
