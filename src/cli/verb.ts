// What a verb declares about itself: the data `--help`, completion and the parser are made from.
import type { Parsed } from "./args.ts";

/**
 * One option, in commander's syntax: `<VALUE>` takes a value, no `<…>` makes it a boolean
 * (`--json`, `--json=false`).
 *
 * @example
 * { flags: "-p, --publish <HOST:GUEST>", description: "forward a host port to a guest port", repeatable: true }
 */
export interface OptionSpec {
  flags: string;
  description: string;
  /** Given more than once, every value is kept in order (`-p 80:80 -p 443:443`); otherwise the last wins. */
  repeatable?: boolean;
  /** Without it the verb does not run (`--env` of the environment verbs). */
  required?: boolean;
}

/** One argument, in commander's syntax: `<IMAGE>` required, `[DIR]` optional, `[KEY...]` any number. */
export interface ArgumentSpec {
  name: string;
  description: string;
}

/**
 * A verb of the CLI. `run` receives the positionals and options already checked against the
 * declarations: an unknown option or a missing value never reaches it.
 */
export interface Verb {
  name: string;
  /** One line: `ingot --help` lists it beside the name. */
  summary: string;
  /** What the verb does beyond its summary, for `ingot VERB --help` and docs/cli.md; plain sentences. */
  description?: string;
  arguments?: ArgumentSpec[];
  /** The words the first argument can be (`server status|stop`), for completion. */
  actions?: string[];
  options: OptionSpec[];
  run(args: Parsed): Promise<number>;
}
