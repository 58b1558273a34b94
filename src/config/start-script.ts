// The start script as npm would run it, worked out at build time into an argv: the image has neither
// npm nor a shell, so only a script that is one plain command can be taken as it is.
import { IngotError } from "../errors.ts";
import { variableNameProblem } from "../metadata/variable-name.ts";
import { refuse, type StartWord, scriptWords } from "./script-words.ts";

/** What the start script runs once npm's chains and its `VAR=value` prefixes are taken apart. */
export interface StartScript {
  /** Each script followed, as `scripts.NAME: TEXT`, first to last ("scripts.start: npm run serve"). */
  chain: string[];
  /** `VAR=value` prefixes, baked into the image's environment; a later script's win. */
  env: Record<string, string>;
  /** node with its flags, script and arguments, or a dependency's bin with its arguments. */
  program: { kind: "node"; argv: string[] } | { kind: "bin"; name: string; args: string[] };
}

/**
 * Follows scripts[name] the way `npm run NAME` would and returns what it runs, or refuses a script
 * that needs a shell, naming it and saying what to do instead.
 *
 * @example
 * parseStartScript({ start: "NODE_ENV=production fastify start -l info app.js" });
 * // { chain: ["scripts.start: NODE_ENV=production fastify start -l info app.js"], env: { NODE_ENV: "production" },
 * //   program: { kind: "bin", name: "fastify", args: ["start", "-l", "info", "app.js"] } }
 */
export function parseStartScript(scripts: Record<string, string>, name = "start"): StartScript {
  return follow(scripts, name, [], [], {});
}

/** Where the package that provides a bin keeps its file, relative to the app folder, and its `#!` line. */
export interface BinFile {
  path: string;
  shebang?: string;
}

/**
 * The argv the image runs for a parsed start script: a dependency's bin becomes `node FILE ARGS`,
 * FILE being the bin's file in its package (what node_modules/.bin/NAME links to).
 *
 * @example
 * startArgv(parseStartScript({ start: "fastify start app.js" }), new Map([["fastify", { path: "node_modules/fastify-cli/cli.js", shebang: "#!/usr/bin/env node" }]]));
 * // ["node", "node_modules/fastify-cli/cli.js", "start", "app.js"]
 */
export function startArgv(start: StartScript, bins: ReadonlyMap<string, BinFile>, devDependencies: string[] = []): string[] {
  if (start.program.kind === "node") return start.program.argv;
  const { name, args } = start.program;
  const bin = bins.get(name);
  const last = start.chain.at(-1)!;
  const colon = last.indexOf(": ");
  const where = `${last.slice(0, colon)} (${JSON.stringify(last.slice(colon + 2))})`;
  if (!bin) {
    throw new IngotError(`Cannot start the app as ${where} runs ${name}, which no production dependency provides (node_modules/.bin/${name})`, {
      code: "start-bin-missing",
      hint: devDependencies.includes(name)
        ? `Move ${name} from devDependencies to dependencies (npm install --save-prod ${name}): the image holds production dependencies only`
        : `Install the package that provides ${name} as a dependency, not a devDependency (npm install --save-prod PACKAGE), or give command: in ingot.yaml`,
    });
  }
  if (!runsWithNode(bin)) {
    throw new IngotError(`Cannot start the app as ${where} runs ${name}, whose file ${bin.path} is not a Node.js script (${bin.shebang ?? "no #! line"})`, {
      code: "start-bin-not-node",
      hint: "The image has no shell: give command: [PROGRAM, …] in ingot.yaml with a program the image can run",
    });
  }
  return ["node", bin.path, ...args];
}

/**
 * A bin runs with node when its `#!` line says so, or when it has none and is a .js file (npm's own
 * shims call node for those too); a `#!/bin/sh` wrapper would need a shell.
 */
function runsWithNode(bin: BinFile): boolean {
  if (bin.shebang !== undefined) return /\bnode(\s|$)/.test(bin.shebang);
  return /\.[cm]?js$/.test(bin.path);
}

/**
 * An argv as a reader would type it, quoting only what needs it: `node app.js ''`.
 *
 * @example
 * formatArgv(["redis-server", "--save", ""]); // "redis-server --save ''"
 */
export function formatArgv(argv: string[]): string {
  return argv.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`)).join(" ");
}

/** Node's options that take their value as the next word, so the script is not mistaken for it. */
const NODE_OPTIONS_WITH_VALUE = new Set([
  "-r", "--require", "--import", "--loader", "--experimental-loader", "-C", "--conditions", "--env-file", "--env-file-if-exists",
  "--input-type", "--inspect-port", "--debug-port", "--title", "--disable-warning", "--redirect-warnings", "--openssl-config",
  "--icu-data-dir", "--dns-result-order", "--unhandled-rejections", "--max-http-header-size", "--heapsnapshot-signal",
  "--diagnostic-dir", "--report-dir", "--report-directory", "--report-filename", "--report-signal", "--secure-heap",
  "--secure-heap-min", "--tls-cipher-list", "--tls-keylog", "--trace-event-categories", "--trace-event-file-pattern",
  "--use-largepages", "--watch-path", "--cpu-prof-dir", "--cpu-prof-name", "--heap-prof-dir", "--heap-prof-name",
  "--localstorage-file", "--experimental-config-file", "--stack-size",
]);

/**
 * The script node runs for an argv `node [OPTIONS] SCRIPT …`: undefined when there is none
 * (`node -e CODE`, `node` alone).
 *
 * @example
 * nodeScriptOf(["node", "--enable-source-maps", "-r", "dotenv/config", "dist/main.js"]); // "dist/main.js"
 */
export function nodeScriptOf(argv: string[]): string | undefined {
  for (let index = 1; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === "--") return argv[index + 1];
    if (["-e", "--eval", "-p", "--print", "-i", "--interactive", "--test", "--run"].includes(arg)) return undefined;
    if (!arg.startsWith("-") || arg === "-") return arg === "-" ? undefined : arg;
    if (NODE_OPTIONS_WITH_VALUE.has(arg)) index++;
  }
  return undefined;
}

const MAX_CHAIN = 16;

function follow(scripts: Record<string, string>, name: string, seen: string[], extraArgs: string[], outerEnv: Record<string, string>): StartScript {
  const text = scripts[name];
  const link = `scripts.${name}: ${text ?? ""}`;
  if (text === undefined) {
    const from = seen.length > 0 ? `scripts.${seen.at(-1)!} runs npm run ${name}, and ` : "";
    throw new IngotError(`Cannot start the app as ${from}package.json has no scripts.${name}`, {
      code: "start-script-missing", hint: `Add "${name}" to scripts in package.json, or give command: in ingot.yaml`,
    });
  }
  if (seen.includes(name) || seen.length >= MAX_CHAIN) {
    throw new IngotError(`Cannot start the app as its scripts run each other in a loop: ${[...seen, name].map((item) => `scripts.${item}`).join(" → ")}`, {
      code: "start-script-cycle", hint: "Make one of them run the app (node FILE), or give command: in ingot.yaml",
    });
  }
  const chain = [...seen, name];
  const where = `scripts.${name}`;
  const words = scriptWords(text, where);
  const env = { ...outerEnv };
  let index = takeAssignments(words, 0, env, where, text);
  // `env A=b cmd` and `cross-env A=b cmd` only set variables for the command, which baking does too.
  while (index < words.length && (words[index]!.text === "env" || words[index]!.text === "cross-env") && !words[index]!.quoted) {
    if (words[index + 1]?.text.startsWith("-")) refuse(where, text, `${words[index]!.text} ${words[index + 1]!.text} changes the environment in a way ingot cannot bake`);
    index = takeAssignments(words, index + 1, env, where, text);
  }
  if (words[index]?.text === "exec") index++;
  const rest = words.slice(index).map((word) => word.text);
  const [program, ...args] = rest;
  if (program === undefined || program === "") refuse(where, text, "it runs no program");
  const withChain = (result: StartScript): StartScript => ({ ...result, chain: [link, ...result.chain] });

  const target = runTarget(program, args, where, text);
  if (target) return withChain(follow(scripts, target.script, chain, [...target.args, ...extraArgs], env));
  if (program === "node") {
    const argv = ["node", ...args, ...extraArgs];
    if (nodeScriptOf(argv) === undefined && !argv.some((arg) => ["-e", "--eval", "-p", "--print"].includes(arg))) refuse(where, text, "it runs node without a script");
    return { chain: [link], env, program: { kind: "node", argv } };
  }
  const bin = /^(?:\.\/)?node_modules\/\.bin\/([^/]+)$/.exec(program)?.[1] ?? (program === "npx" ? npxBin(args, where, text) : program);
  if (program === "npx") args.shift();
  if (SHELL_BUILTINS.has(bin)) refuse(where, text, `${bin} is a shell command`);
  if (bin.includes("/")) {
    refuse(where, text, `it runs the file ${bin} directly, which takes its #! line and a shell`, `Write "node ${bin}" in the script, or give command: [node, ${bin}] in ingot.yaml`);
  }
  return { chain: [link], env, program: { kind: "bin", name: bin, args: [...args, ...extraArgs] } };
}

/** Commands only a shell has, and shells themselves: none is in the image. */
const SHELL_BUILTINS = new Set(["cd", "export", "source", ".", "set", "unset", "eval", "sh", "bash", "zsh", "dash", "true", "false", "test", "["]);

/** Leading `NAME=value` words from `index` on, into env; the index of the first other word. */
function takeAssignments(words: StartWord[], index: number, env: Record<string, string>, where: string, text: string): number {
  for (; index < words.length && words[index]!.assignment; index++) {
    const { name, value } = words[index]!.assignment!;
    if (variableNameProblem(name) === "reserved") refuse(where, text, `it sets ${name}, which ingot sets itself`, "Remove it from the script; ingot sets INGOT_* in every instance");
    env[name] = value;
  }
  return index;
}

/** Which script `npm run X`, `npm start`, `yarn X` or `pnpm X` runs, with the arguments passed on to it. */
function runTarget(program: string, args: string[], where: string, text: string): { script: string; args: string[] } | undefined {
  if (program !== "npm" && program !== "yarn" && program !== "pnpm") return undefined;
  const words = args.filter((arg) => !["-s", "--silent", "-q", "--quiet"].includes(arg));
  const [verb, ...rest] = words;
  if (verb === undefined) refuse(where, text, `${program} alone runs no script`);
  if (verb.startsWith("-")) refuse(where, text, `${program} ${verb} is an option ingot cannot follow`);
  const isRun = ["run", "run-script", "rum", "urn"].includes(verb);
  const script = verb === "start" || verb === "restart" ? "start" : isRun ? rest.shift() : program === "npm" ? undefined : verb;
  // npm's other commands install, publish, …; yarn and pnpm run a script by its bare name.
  if (script === undefined || ["install", "add", "exec", "dlx", "x"].includes(script)) refuse(where, text, `${[program, verb, ...(isRun ? [script ?? ""] : [])].join(" ").trim()} is not a script run ingot can follow`);
  if (script.startsWith("-")) refuse(where, text, `${program} ${verb} ${script} is an option ingot cannot follow`);
  // Before "--", an option is npm's own (--prefix, --workspace …) and changes what runs.
  const separator = rest.indexOf("--");
  const before = separator < 0 ? rest : rest.slice(0, separator);
  const option = before.find((arg) => arg.startsWith("-"));
  if (option && program === "npm") refuse(where, text, `npm ${verb} ${script} ${option} is an option ingot cannot follow`);
  return { script, args: separator < 0 ? rest : [...before, ...rest.slice(separator + 1)] };
}

function npxBin(args: string[], where: string, text: string): string {
  const [bin] = args;
  if (bin === undefined || bin.startsWith("-")) refuse(where, text, `npx ${bin ?? ""} is not a plain bin ingot can follow`.replace(/ +is/, " is"));
  return bin;
}
