// Every verb of the CLI, declared as data: `--help`, completion and the parser read these
// declarations, and only the verb that runs has its file loaded (loading every verb's file, with
// the image builder, the vault and SQLite behind them, would add about 300 ms to each command).
import type { Parsed } from "./args.ts";
import type { OptionSpec, Verb } from "./verb.ts";

const JSON_OUTPUT: OptionSpec = { flags: "--json", description: "print JSON instead of a table" };
const ENVIRONMENT: OptionSpec = { flags: "--env <NAME>", description: "the environment; ingot env ls lists them", required: true };

/** In the order `ingot --help` lists them. */
export const verbs: Verb[] = [
  {
    name: "demo", summary: "the whole story on this machine: build, deploy, promote, blue/green under load, a broken version, rollback, logs",
    description: "Copies examples/notes to a temporary folder and builds it (v1), deploys it to dev and promotes the same digest to test (two instances, each environment with a PostgreSQL of its own), changes a page and builds v2 (only the app layer), deploys it blue/green to test under live load with a signed-in user's cookie, deploys a v3 that crashes at start (refused, v2 keeps serving), rolls back, shows an excerpt of the logs, and ends with a table of sizes, times and requests served and failed. The environments keep running unless --cleanup.",
    options: [
      { flags: "--cleanup", description: "remove dev and test at the end (instances, entry points, databases and their data), also after a failure" },
      { flags: "--json", description: "the summary as JSON on standard output (progress on standard error)" },
    ],
    run: async (args: Parsed) => (await import("./demo.ts")).demoVerb.run(args),
  },
  {
    name: "build", summary: "build an image of the app in DIR",
    description: "Builds from the inputs ingot.lock pins, and writes the lock when there is none or an input had to change (--locked refuses any change). An unchanged layer is reused, so a change to the app alone rebuilds only the app layer. Prints the image's reference, digest, layer sizes and build time.",
    arguments: [{ name: "[DIR]", description: "the app's folder, with its ingot.yaml (default: the current folder)" }],
    options: [
      { flags: "--tag <NAME:VERSION>", description: "tag the image with this name and version instead of ingot.yaml's" },
      { flags: "--kernel <PATH|VERSION>", description: "boot this kernel (a file, or a release on this host) instead of the locked one" },
      { flags: "--locked", description: "refuse to build when any input would differ from ingot.lock (CI)" },
      { flags: "--initrd", description: "layers as an initrd the guest unpacks into memory, instead of verified read-only disks" },
      JSON_OUTPUT,
    ],
    run: async (args: Parsed) => (await import("./build.ts")).buildVerb.run(args),
  },
  {
    name: "lock", summary: "pin the app's inputs in DIR/ingot.lock",
    description: "Pins every input (node, the kernel, init, the Debian packages the image's libraries come from) by digest without building; docs/lock.md.",
    arguments: [{ name: "[DIR]", description: "the app's folder, with its ingot.yaml (default: the current folder)" }],
    options: [{ flags: "--update", description: "re-resolve every input to what this host and the registry have now" }],
    run: async (args: Parsed) => (await import("./lock.ts")).lockVerb.run(args),
  },
  {
    name: "images", summary: "list the images in the vault",
    options: [JSON_OUTPUT],
    run: async (args: Parsed) => (await import("./images.ts")).imagesVerb.run(args),
  },
  {
    name: "inspect", summary: "layers, largest files, SBOM, provenance and audit of an image",
    description: "Shows the layers and their largest files, the runtime, kernel and command (with where the command came from), the SBOM (CycloneDX) with the locked inputs, the provenance and the audit record.",
    arguments: [{ name: "<IMAGE>", description: "NAME (its newest version), NAME:VERSION or a digest" }],
    options: [JSON_OUTPUT],
    run: async (args: Parsed) => (await import("./inspect.ts")).inspectVerb.run(args),
  },
  {
    name: "kernel", summary: "list the kernels in the vault",
    description: "Each kernel by digest, with the Debian source package it was built from.",
    arguments: [{ name: "[ls]", description: "list them (the default)" }],
    actions: ["ls"],
    options: [JSON_OUTPUT],
    run: async (args: Parsed) => (await import("./kernel.ts")).kernelVerb.run(args),
  },
  {
    name: "rm", summary: "remove an image's tag",
    arguments: [{ name: "<IMAGE>", description: "NAME:VERSION removes that tag, NAME its newest image's tags, a digest every tag of it" }],
    options: [],
    run: async (args: Parsed) => (await import("./rm.ts")).rmVerb.run(args),
  },
  {
    name: "run", summary: "boot an image (or build and boot a folder) in the foreground; Ctrl-C stops it",
    description: "The instance runs as environment dev unless --env says otherwise (ingot.yaml's values for it are baked in the image); the -e variables and the secrets reach it at boot through its own metadata endpoint, never the kernel command line. Prints the URL and a boot-to-healthy breakdown. An instance not healthy within healthcheck.startTimeout (120 s) is stopped and its last health answer shown (exit 1); one that cannot fetch its configuration powers off (exit 69). Ctrl-C stops it gracefully; otherwise ingot exits with the app's status.",
    arguments: [{ name: "<IMAGE|DIR>", description: "an image in the vault (NAME, NAME:VERSION, digest), or an app's folder to build first" }],
    options: [
      { flags: "-p, --publish <HOST:GUEST>", description: "forward host port HOST to the guest's declared port GUEST", repeatable: true },
      { flags: "-e <KEY=VALUE>", description: "set a runtime variable; -e KEY passes ingot's own value of KEY", repeatable: true },
      { flags: "--secret <NAME>", description: "pass the secret NAME, its value taken from ingot's environment", repeatable: true },
      { flags: "--secret-file <PATH>", description: "pass the secrets in PATH, one KEY=VALUE a line", repeatable: true },
      { flags: "--env <NAME>", description: "the environment of ingot.yaml to run in (default: dev)" },
      { flags: "--memory <SIZE>", description: "the instance's memory, e.g. 512M (default: ingot.yaml's)" },
      { flags: "--cpus <N>", description: "the instance's CPUs (default: ingot.yaml's)" },
    ],
    run: async (args: Parsed) => (await import("./run.ts")).runVerb.run(args),
  },
  {
    name: "export", summary: "write an image as one bootable GPT disk (raw, qcow2, vmdk, vhd) for any hypervisor or cloud",
    description: "The disk boots with UEFI firmware and no -kernel: an EFI system partition with ingot's kernel as a unified kernel image (its command line holds the layers' root hashes), then one partition per verified layer. It runs on its own, as environment --env (default prod) with the configuration baked into the image, no metadata service, networking by DHCP; its disks must be virtio. The same image gives the same bytes in every format. Nothing is left behind on failure; docs/export.md.",
    arguments: [{ name: "<IMAGE>", description: "an image in the vault (NAME, NAME:VERSION, digest), built as verified disks (not --initrd)" }],
    options: [
      { flags: "--format <FORMAT>", description: "raw, qcow2 (compressed), vmdk (streamOptimized) or vhd (dynamic)", required: true },
      { flags: "-o, --output <FILE>", description: "where to write it (default: NAME-VERSION.FORMAT in the current folder)" },
      { flags: "--env <NAME>", description: "the environment whose baked configuration the disk boots with (default: prod)" },
      { flags: "--force", description: "replace the output file if it exists" },
      JSON_OUTPUT,
    ],
    run: async (args: Parsed) => (await import("./export.ts")).exportVerb.run(args),
  },
  {
    name: "deploy", summary: "deploy an image (or build and deploy a folder) to an environment: blue/green, rolling or a canary",
    description: "Blue/green (the default) boots the new instances in parallel, waits until they are healthy and UP in the entry point, switches traffic in one act, then drains and stops the old ones. Rolling does it --batch at a time, never below capacity. A canary gives --percent of the requests to new instances (HAProxy weights) until deploy --promote or --abort, or ingot's judge decides with --auto. Any failure before the last switch leaves the old version serving (exit 1, with the reason and the failing instance's last console lines). A folder is built first. The first deploy to an environment starts its entry point; docs/deploy.md.",
    arguments: [{ name: "[IMAGE|DIR]", description: "an image in the vault (NAME, NAME:VERSION, digest), or an app's folder to build first" }],
    options: [
      ENVIRONMENT,
      { flags: "--strategy <NAME>", description: "blue-green (default: all new instances, then one switch), rolling (in batches) or canary (a share of the requests first)" },
      { flags: "--batch <N>", description: "rolling: new instances per batch (default 1)" },
      { flags: "--percent <N>", description: "canary: the share of requests its instances take, 1 to 99" },
      { flags: "--canary-instances <N>", description: "canary: how many new instances take the share (default 1)" },
      { flags: "--auto", description: "canary: ingot promotes it after the window unless its 5xx rate or p95 latency is worse than the old version's, and aborts it as soon as it is" },
      { flags: "--window <DURATION>", description: "canary with --auto: how long it is judged before it is promoted (default 5m)" },
      { flags: "--promote", description: "finish the running canary: the new version takes every request" },
      { flags: "--abort", description: "withdraw the running canary: the old version takes every request" },
      { flags: "--bind <ADDRESS>", description: "the address the entry point listens on (default 127.0.0.1; 0.0.0.0 exposes it); recorded" },
      JSON_OUTPUT,
    ],
    run: async (args: Parsed) => (await import("./deploy.ts")).deployVerb.run(args),
  },
  {
    name: "rollback", summary: "deploy the environment's previous image again, blue/green",
    description: "Deploys, by digest from the vault, the environment's previous image whose deploy succeeded, or the one --to names.",
    options: [ENVIRONMENT, { flags: "--to <VERSION>", description: "the version (or digest) to go back to; default: the previous one that succeeded" }, JSON_OUTPUT],
    run: async (args: Parsed) => (await import("./rollback.ts")).rollbackVerb.run(args),
  },
  {
    name: "promote", summary: "deploy the very image serving one environment to another, by digest",
    description: "An image that never became healthy in --from is refused unless --force. Nothing is rebuilt: the digest serving --from is deployed to --to, whose instances get --to's configuration and secrets.",
    options: [
      { flags: "--from <NAME>", description: "the environment whose serving image is promoted", required: true },
      { flags: "--to <NAME>", description: "the environment it is deployed to", required: true },
      { flags: "--force", description: "promote even an image that never became healthy in --from" },
      JSON_OUTPUT,
    ],
    run: async (args: Parsed) => (await import("./promote.ts")).promoteVerb.run(args),
  },
  {
    name: "status", summary: "entry URL, image, config version and instances of each environment",
    description: "Per environment: the entry URL, the serving image and config version, a deploy in progress, whether it is degraded (its image in a crash loop) and why, and each instance with its state, uptime and the entry point's view of its health.",
    options: [{ flags: "--env <NAME>", description: "only this environment" }, JSON_OUTPUT],
    run: async (args: Parsed) => (await import("./status.ts")).statusVerb.run(args),
  },
  {
    name: "history", summary: "an environment's deploys, rollbacks and promotions, newest first",
    options: [ENVIRONMENT, JSON_OUTPUT],
    run: async (args: Parsed) => (await import("./history.ts")).historyVerb.run(args),
  },
  {
    name: "events", summary: "an environment's recorded events: deploy steps, instance changes, replacements; -f follows new ones",
    description: "The newest events oldest first: deploy steps, instance state changes with their reason (a failure with its last console lines, indented), replacements, a crash loop; docs/deploy.md.",
    options: [
      ENVIRONMENT,
      { flags: "-n, --lines <N>", description: "how many of the newest events to print first (default 50)" },
      { flags: "-f, --follow", description: "go on printing new events as they are recorded, until Ctrl-C" },
      { flags: "--json", description: "print one JSON object an event, with the console lines of a failure" },
    ],
    run: async (args: Parsed) => (await import("./events.ts")).eventsVerb.run(args),
  },
  {
    name: "logs", summary: "the lines of instances, their consoles and entry points; -f follows new ones",
    description: "The newest lines oldest first, with a colour per instance on a terminal; an app's JSON lines are read for their level. --usage reports the store instead of printing lines; docs/logs.md.",
    arguments: [{ name: "[IMAGE]", description: "only lines of this app (NAME or NAME:VERSION)" }],
    options: [
      { flags: "--env <NAME>", description: "only this environment" },
      { flags: "--instance <ID>", description: "only this instance" },
      { flags: "-f, --follow", description: "go on printing new lines as they arrive, until Ctrl-C" },
      { flags: "--since <TIME>", description: "lines from this time on: an age (30s, 10m, 2h, 7d) or a date" },
      { flags: "--until <TIME>", description: "lines up to this time: an age or a date" },
      { flags: "--grep <TEXT>", description: "lines containing TEXT (ignoring case)" },
      { flags: "--level <LEVEL>", description: "lines at this level or more severe: debug, info, notice, warn, error, crit" },
      { flags: "--source <LIST>", description: "lines of these sources: app, console, entry (comma-separated)" },
      { flags: "-n, --lines <N>", description: "how many of the newest lines to print first (default 100)" },
      { flags: "--usage", description: "instead of lines: the store's size, each environment's lines and bytes, the syslog port, and each forward target's counters" },
      { flags: "--json", description: "print one JSON object a line" },
    ],
    run: async (args: Parsed) => (await import("./logs.ts")).logsVerb.run(args),
  },
  {
    name: "ps", summary: "every running instance, in all environments",
    options: [JSON_OUTPUT],
    run: async (args: Parsed) => (await import("./ps.ts")).psVerb.run(args),
  },
  {
    name: "stop", summary: "drain and stop an environment's instances; its entry point then answers 503",
    description: "The entry point stays on its port and answers 503 naming the environment; the next deploy starts instances again.",
    options: [ENVIRONMENT, JSON_OUTPUT],
    run: async (args: Parsed) => (await import("./stop.ts")).stopVerb.run(args),
  },
  {
    name: "scale", summary: "keep an environment at N instances of the image it serves, or (--reset) at its image's number",
    description: "Boots the missing instances until healthy and UP, or drains the extra ones out of the entry point and stops them. Refused during a deploy, for a stopped or never-deployed environment, and when the new instances would not fit in the host's memory; docs/deploy.md.",
    arguments: [{ name: "[N]", description: "the number of instances, 1 to 32; kept across deploys and restarts until --reset" }],
    options: [ENVIRONMENT, { flags: "--reset", description: "go back to the number the serving image's ingot.yaml says" }, JSON_OUTPUT],
    run: async (args: Parsed) => (await import("./scale.ts")).scaleVerb.run(args),
  },
  {
    name: "env", summary: "list the environments, or remove what one runs and holds (rm)",
    description: "rm drains and stops the environment's instances (as ingot stop), ends its entry point's HAProxy, stops and removes its accessories (their data kept unless --delete-data), deletes its variables and secrets and clears its entry port, so that its next deploy starts it afresh. Its history (deployments, events, audit) is kept. Refused while a deploy or a canary runs there; docs/deploy.md.",
    arguments: [
      { name: "[ls|rm]", description: "ls lists them (the default), rm NAME removes what NAME runs and holds" },
      { name: "[NAME]", description: "rm: the environment" },
    ],
    actions: ["ls", "rm"],
    options: [
      { flags: "--delete-data", description: "rm: delete its accessories' data too (kept by default, served again when they are added again)" },
      JSON_OUTPUT,
    ],
    run: async (args: Parsed) => (await import("./env.ts")).envVerb.run(args),
  },
  {
    name: "config", summary: "set, unset or list an environment's runtime variables",
    description: "The variables are versioned and reach the environment's instances on its next deploy; baked values in ingot.yaml are overridden by them, and secrets override both.",
    arguments: [
      { name: "<set|unset|ls>", description: "set KEY=VALUE …, unset KEY …, or ls" },
      { name: "[KEY=VALUE|KEY...]", description: "the variables to set or unset" },
    ],
    actions: ["set", "unset", "ls"],
    options: [ENVIRONMENT, JSON_OUTPUT],
    run: async (args: Parsed) => (await import("./config.ts")).configVerb.run(args),
  },
  {
    name: "secret", summary: "set, remove or list an environment's secrets (the value on standard input)",
    description: "A value never appears as an argument, in the image, on the kernel command line or in logs: it is read from standard input or --from-file, kept encrypted (AES-256-GCM) in the control plane's state and never shown again. Instances get it at boot from the metadata service.",
    arguments: [
      { name: "<set|rm|ls>", description: "set NAME (its value on standard input or --from-file), rm NAME, or ls" },
      { name: "[NAME]", description: "the secret's name" },
    ],
    actions: ["set", "rm", "ls"],
    options: [ENVIRONMENT, { flags: "--from-file <PATH>", description: "with set: read the value from PATH instead of standard input" }, JSON_OUTPUT],
    run: async (args: Parsed) => (await import("./secret.ts")).secretVerb.run(args),
  },
  {
    name: "accessory", summary: "add, list, remove an environment's accessories (a PostgreSQL for dev), read their logs, run psql",
    arguments: [
      { name: "<add|ls|logs|psql|rm>", description: "add KIND, ls, logs NAME, psql NAME [-- PSQL-ARGS], or rm NAME" },
      { name: "[KIND|NAME]", description: "add: the kind (postgres); logs, psql, rm: the accessory's name (db by default on add)" },
      { name: "[PSQL-ARGS...]", description: "psql: arguments for psql after --, e.g. -- -c 'select 1'" },
    ],
    actions: ["add", "ls", "logs", "psql", "rm"],
    options: [
      { flags: "--env <NAME>", description: "the environment (ls: all of them when not given)" },
      { flags: "--name <NAME>", description: "add: the accessory's name (default db, whose URL is DATABASE_URL; another name N gives N_DATABASE_URL)" },
      { flags: "--delete-data", description: "rm: delete its data too (kept by default, and served again when it is added again)" },
      { flags: "-n, --lines <N>", description: "logs: how many of the last lines (default 100)" },
      JSON_OUTPUT,
    ],
    run: async (args: Parsed) => (await import("./accessory.ts")).accessoryVerb.run(args),
  },
  {
    name: "server", summary: "run the control plane in the foreground, or show or stop it",
    description: "The control plane keeps the state (SQLite), the entry points, the metadata service, the log store and the deploy engine. Other verbs start it in the background when it is not running and talk to it over a unix socket only its owner can open; its instances and entry points keep serving when it stops.",
    arguments: [{ name: "[status|stop]", description: "status tells whether it runs (exit 3 when not), stop stops it" }],
    actions: ["status", "stop"],
    options: [],
    run: async (args: Parsed) => (await import("./server.ts")).serverVerb.run(args),
  },
  {
    name: "completion", summary: "print a shell completion script: source <(ingot completion bash)",
    arguments: [{ name: "<bash|zsh>", description: "the shell it is for" }],
    actions: ["bash", "zsh"],
    options: [],
    run: async (args: Parsed) => (await import("./completion.ts")).completionVerb.run(args),
  },
];
