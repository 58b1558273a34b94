// Renders the command-line reference (docs/cli.md) from the program `ingot --help` prints, so the
// two cannot drift: a verb added to verbs.ts appears here when the file is regenerated, and
// cli-docs.test.ts fails until it is.
import type { Argument, Command, Help, Option } from "commander";
import { cliProgram } from "./program.ts";
import type { Verb } from "./verb.ts";
import { verbs as declaredVerbs } from "./verbs.ts";

export const REGENERATE = "npm run docs";

/**
 * @example
 * cliReference(verbs).startsWith("# ingot command line"); // true
 */
export function cliReference(verbs: Verb[] = declaredVerbs): string {
  const program = cliProgram(verbs);
  const help = program.createHelp();
  const commands = help.visibleCommands(program);
  return [
    "# ingot command line",
    "",
    `Generated from the verbs' declarations (\`src/cli/verbs.ts\`, made into a program by \`src/cli/program.ts\`) by \`${REGENERATE}\`;`,
    "`src/cli/cli-docs.test.ts` fails when this file is stale. `ingot --help` and `ingot VERB --help` (or `ingot help VERB`) print the same",
    "declarations on the terminal.",
    "",
    "```",
    help.commandUsage(program),
    "```",
    "",
    "| command | what it does |",
    "| --- | --- |",
    ...commands.map((command) => `| ${commandLink(command, verbs, help)} | ${cell(help.subcommandDescription(command))} |`),
    "",
    "## Global options",
    "",
    "Accepted before or after the command.",
    "",
    ...optionTable(help.visibleOptions(program)),
    "",
    "## Conventions",
    "",
    "- IMAGE is `name:version`, `name` (its newest build), a digest or a unique digest prefix. The vault",
    "  of images lives in `$INGOT_HOME` (default `~/.local/share/ingot`).",
    "- An option marked (repeatable) may be given more than once, and keeps every value in order; any",
    "  other option given twice keeps the last. `--json=false` (or `=0`) turns a boolean option off.",
    "- `--verbose`, anywhere, adds stack traces to errors. Errors are printed as `error: …` with a",
    "  `hint: …` saying what to do.",
    "- Exit status: 0 on success; 2 for a usage error (an unknown command or option, with a suggestion;",
    "  a missing value or argument); 1 for other errors, unless a command says otherwise below.",
    ...verbs.flatMap((verb) => verbSection(verb, program, help)),
    "",
  ].join("\n");
}

function verbSection(verb: Verb, program: Command, help: Help): string[] {
  const command = program.commands.find((candidate) => candidate.name() === verb.name);
  if (!command) throw new Error(`The program has no command for the verb ${verb.name}`);
  const options = help.visibleOptions(command).filter((option) => option.long !== "--help");
  return [
    "",
    `## ingot ${verb.name}`,
    "",
    `${prose(capitalized(verb.summary))}.`,
    ...(verb.description ? ["", prose(verb.description)] : []),
    "",
    "```",
    help.commandUsage(command),
    "```",
    ...(verb.actions ? ["", `Actions: ${verb.actions.map((action) => `\`${action}\``).join(", ")}.`] : []),
    ...(command.registeredArguments.length > 0 ? ["", ...argumentTable(command.registeredArguments)] : []),
    ...(options.length > 0 ? ["", ...optionTable(options)] : []),
  ];
}

function commandLink(command: Command, verbs: Verb[], help: Help): string {
  // The help command has no section of its own: it prints the sections' text.
  if (!verbs.some((verb) => verb.name === command.name())) return `\`${code(help.subcommandTerm(command))}\``;
  return `[\`${command.name()}\`](#ingot-${command.name()})`;
}

function argumentTable(args: readonly Argument[]): string[] {
  const term = (argument: Argument): string => {
    const name = `${argument.name()}${argument.variadic ? "..." : ""}`;
    return argument.required ? `<${name}>` : `[${name}]`;
  };
  return ["| argument | meaning |", "| --- | --- |", ...args.map((argument) => `| \`${code(term(argument))}\` | ${cell(argument.description)} |`)];
}

function optionTable(options: readonly Option[]): string[] {
  return ["| option | meaning |", "| --- | --- |", ...options.map((option) => `| \`${code(option.flags)}\` | ${cell(option.description)} |`)];
}

/** Prose for a table cell: a pipe would end the cell, and `<word` would start an HTML tag. */
function cell(text: string): string {
  return code(prose(text));
}

/** Text for a code span in a table cell, where an entity would print as written. */
function code(text: string): string {
  return text.replaceAll("|", "\\|").replace(/\s+/g, " ");
}

function prose(text: string): string {
  return text.replace(/<(?=[A-Za-z/])/g, "&lt;");
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(cliReference());
