// `ingot completion bash|zsh`: prints a completion script made from the verbs' declarations, which
// completes verbs, their actions (`server status|stop`) and their options.
import { Option } from "commander";
import { IngotError } from "../errors.ts";
import type { Parsed } from "./args.ts";
import type { Verb } from "./verb.ts";
import { verbs } from "./verbs.ts";

type Shell = "bash" | "zsh";

/** What completion needs to know of a verb: its words, and which options take the next word. */
interface Completions {
  name: string;
  summary: string;
  actions: string[];
  options: { word: string; description: string }[];
  valued: string[];
}

const HELP = { word: "--help", description: "show help" };
const VERBOSE = { word: "--verbose", description: "print stack traces with errors" };
/** Before the verb. */
const GLOBAL_OPTIONS = [HELP, { word: "--version", description: "print ingot's version" }, VERBOSE];

/**
 * @example
 * // $ source <(ingot completion bash)
 * // $ ingot run --me<TAB>   →   ingot run --memory
 */
export const completionVerb = {
  async run(args: Parsed): Promise<number> {
    const shell = args.positionals[0];
    if (shell !== "bash" && shell !== "zsh") {
      throw new IngotError(`Cannot write a completion script for ${shell} as ingot knows bash and zsh`, { code: "cli-bad-value", exitCode: 2, hint: "Write ingot completion bash, or ingot completion zsh" });
    }
    process.stdout.write(completionScript(shell, verbs));
    return 0;
  },
};

export function completionScript(shell: Shell, declared: Verb[]): string {
  const all = [...declared.map(completions), { name: "help", summary: "show a command's arguments and options", actions: declared.map((verb) => verb.name), options: [], valued: [] }];
  return shell === "bash" ? bashScript(all) : zshScript(all);
}

function completions(verb: Verb): Completions {
  const options = verb.options.map((spec) => new Option(spec.flags, spec.description));
  return {
    name: verb.name, summary: verb.summary, actions: verb.actions ?? [],
    options: [
      ...options.flatMap((option) => [option.short, option.long].filter((word) => word !== undefined).map((word) => ({ word, description: option.description }))),
      HELP, VERBOSE,
    ],
    valued: options.filter((option) => option.required).flatMap((option) => [option.short, option.long].filter((word) => word !== undefined)),
  };
}

/** Finds the verb (the first word not an option) and counts the words after it, skipping option values. */
const FIND_VERB = `  for ((i = 1; i < current; i++)); do
    word=\${words[i]}
    if [[ $word == -* ]]; then
      [[ " \${valued[*]} " == *" $word "* ]] && ((i++))
      continue
    fi
    if [[ -z $verb ]]; then verb=$word; _ingot_declarations; else ((count++)); fi
  done`;

function bashScript(all: Completions[]): string {
  const cases = all.map((verb) => `    ${verb.name}) actions=(${verb.actions.join(" ")}); flags=(${verb.options.map((option) => option.word).join(" ")}); valued=(${verb.valued.join(" ")}) ;;`);
  return `# ingot completion for bash: source <(ingot completion bash)
_ingot_declarations() {
  case $verb in
${cases.join("\n")}
  esac
}

_ingot() {
  local words=("\${COMP_WORDS[@]}") current=$COMP_CWORD cur=\${COMP_WORDS[COMP_CWORD]}
  local verb="" count=0 i word actions=() flags=() valued=()
${FIND_VERB}
  if [[ -z $verb ]]; then
    COMPREPLY=($(compgen -W "${all.map((verb) => verb.name).join(" ")} ${GLOBAL_OPTIONS.map((option) => option.word).join(" ")}" -- "$cur"))
  elif [[ " \${valued[*]} " == *" \${words[current-1]} "* ]]; then
    COMPREPLY=()
  elif [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "\${flags[*]}" -- "$cur"))
  elif ((count == 0 && \${#actions[@]} > 0)); then
    COMPREPLY=($(compgen -W "\${actions[*]}" -- "$cur"))
  fi
}

# -o default: file names where nothing above applies (DIR, PATH, option values).
complete -o default -F _ingot ingot
`;
}

function zshScript(all: Completions[]): string {
  const described = (word: string, description: string): string => quote(`${word.replaceAll(":", "\\:")}:${description}`);
  const cases = all.map((verb) => [
    `    ${verb.name})`,
    `      actions=(${verb.actions.join(" ")})`,
    `      flags=(${verb.options.map((option) => described(option.word, option.description)).join(" ")})`,
    `      valued=(${verb.valued.join(" ")}) ;;`,
  ].join("\n"));
  return `#compdef ingot
# ingot completion for zsh: source <(ingot completion zsh), or save it as _ingot in a folder of $fpath
_ingot_declarations() {
  case $verb in
${cases.join("\n")}
  esac
}

_ingot() {
  local current=$((CURRENT - 1)) verb="" count=0 i word
  local -a actions flags valued
  local -a verbs=(${all.map((verb) => described(verb.name, verb.summary)).join(" ")})
  local -a global=(${GLOBAL_OPTIONS.map((option) => described(option.word, option.description)).join(" ")})
  # zsh counts words from 1, the command first: current and words[i+1] count from 0 as bash does.
${FIND_VERB.replaceAll("${words[i]}", "${words[i+1]}")}
  if [[ -z $verb ]]; then
    if [[ $PREFIX == -* ]]; then _describe option global; else _describe command verbs; fi
  elif (( \${valued[(Ie)\${words[current]}]} )); then
    _files
  elif [[ $PREFIX == -* ]]; then
    _describe option flags
  elif (( count == 0 && \${#actions} > 0 )); then
    compadd -- "\${actions[@]}"
  else
    _files
  fi
}

if [[ $funcstack[1] == _ingot ]]; then _ingot "$@"; else compdef _ingot ingot; fi
`;
}

/** A word in single quotes for the shell. */
function quote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}
