// The CLI's entry: dispatches a verb to its file in src/cli/ and reports errors once, here.
import { IngotError } from "../errors.ts";
import { parseArgs, type Parsed } from "./args.ts";

interface Verb {
  summary: string;
  run: (args: Parsed) => Promise<number>;
}

const verbs: Record<string, () => Promise<Verb>> = {
  build: async () => (await import("./build.ts")).buildVerb,
  config: async () => (await import("./config.ts")).configVerb,
  deploy: async () => (await import("./deploy.ts")).deployVerb,
  env: async () => (await import("./env.ts")).envVerb,
  history: async () => (await import("./history.ts")).historyVerb,
  images: async () => (await import("./images.ts")).imagesVerb,
  inspect: async () => (await import("./inspect.ts")).inspectVerb,
  kernel: async () => (await import("./kernel.ts")).kernelVerb,
  lock: async () => (await import("./lock.ts")).lockVerb,
  promote: async () => (await import("./promote.ts")).promoteVerb,
  ps: async () => (await import("./ps.ts")).psVerb,
  rm: async () => (await import("./rm.ts")).rmVerb,
  rollback: async () => (await import("./rollback.ts")).rollbackVerb,
  run: async () => (await import("./run.ts")).runVerb,
  secret: async () => (await import("./secret.ts")).secretVerb,
  server: async () => (await import("./server.ts")).serverVerb,
  status: async () => (await import("./status.ts")).statusVerb,
  stop: async () => (await import("./stop.ts")).stopVerb,
};

const usage = `Usage: ingot <command> [options]

Commands:
  build [DIR] [--tag NAME:VERSION] [--kernel PATH|VERSION] [--locked] [--json]   build an image of the app in DIR
  lock [DIR] [--update]                                               pin the app's inputs in DIR/ingot.lock
  images [--json]                                                     list the images in the vault
  inspect IMAGE [--json]                                              layers, largest files, SBOM, provenance and audit
  kernel ls [--json]                                                  the kernels in the vault
  rm IMAGE                                                            remove an image's tag
  run IMAGE|DIR [-p HOST:GUEST] [--env NAME] [--memory SIZE] [--cpus N] boot it in the foreground; Ctrl-C stops

  deploy IMAGE|DIR --env E [--bind ADDRESS] [--json]                 blue/green deploy to an environment
  rollback --env E [--to VERSION] [--json]                            deploy the environment's previous image again
  promote --from E --to E [--force] [--json]                          deploy the digest serving one environment to another
  status [--env E] [--json]                                           entry URL, image, config version and instances
  history --env E [--json]                                            an environment's deploys, newest first
  ps [--json]                                                         every running instance
  stop --env E                                                        stop an environment's instances (its entry point answers 503)
  env ls [--json]                                                     the environments, their entry point and config version
  config set|unset|ls --env E [KEY=VALUE|KEY …]                       an environment's runtime variables
  secret set|rm|ls --env E [NAME] [--from-file PATH]                  an environment's secrets (value on stdin)
  server [status|stop]                                                the control plane: run it in the foreground, show or stop it

Options: --verbose (stack traces), --help`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage);
    return name ? 0 : 2;
  }
  const load = verbs[name];
  if (!load) throw new IngotError(`Cannot run ingot ${name} as it is not a command`, { code: "cli-unknown-command", hint: `Commands: ${Object.keys(verbs).join(", ")}` });
  const verb = await load();
  return verb.run(parseArgs(rest));
}

main(process.argv.slice(2)).then(
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
