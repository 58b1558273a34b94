// The CLI's entry: parses argv against the verbs' declarations, runs the verb and reports errors
// once, here.
import { IngotError } from "../errors.ts";
import { runCli } from "./program.ts";
import { verbs } from "./verbs.ts";

runCli(process.argv.slice(2), verbs).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const verbose = process.argv.includes("--verbose");
    if (error instanceof IngotError) {
      console.error(`error: ${error.message}`);
      if (error.hint) console.error(`hint: ${error.hint}`);
      if (verbose) console.error(error.stack);
      process.exit(error.exitCode);
    } else {
      console.error(`error: ${(error as Error).message ?? String(error)}`);
      console.error(verbose ? (error as Error).stack : "hint: this is a bug in ingot; run again with --verbose and report the stack trace");
    }
    process.exit(1);
  },
);
