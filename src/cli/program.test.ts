import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { Option } from "commander";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { IngotError } from "../errors.ts";
import type { Parsed } from "./args.ts";
import { runCli } from "./program.ts";
import type { Verb } from "./verb.ts";
import { verbs } from "./verbs.ts";

const BIN = fileURLToPath(new URL("../../bin/ingot", import.meta.url));

/** Runs argv against the real declarations, with each verb's body replaced by one that records what it got. */
async function parse(...argv: string[]): Promise<Parsed & { verb: string }> {
  let got: (Parsed & { verb: string }) | undefined;
  const recording = verbs.map((verb): Verb => ({ ...verb, run: async (args) => { got = { ...args, verb: verb.name }; return 0; } }));
  assert.equal(await runCli(argv, recording, { writeOut: () => {}, writeErr: () => {} }), 0);
  assert.ok(got, `no verb ran for ${argv.join(" ")}`);
  return got;
}

async function output(...argv: string[]): Promise<{ status: number; out: string; err: string }> {
  let [out, err] = ["", ""];
  const status = await runCli(argv, verbs, { writeOut: (text) => void (out += text), writeErr: (text) => void (err += text) });
  return { status, out, err };
}

const usageError = (code: string, message: RegExp, hint?: RegExp) => (error: unknown): boolean => {
  assert.ok(error instanceof IngotError, String(error));
  assert.equal(error.code, code);
  assert.equal(error.exitCode, 2, "a usage error exits 2");
  assert.match(error.message, message);
  if (hint) assert.match(error.hint ?? "", hint);
  return true;
};

test("repeated options keep every value in order; -p and --publish are one option", async () => {
  const parsed = await parse("run", "hello", "-p", "1:2", "--publish=3:4", "-p", "5:6", "-e", "A=1", "-e", "B=2", "--secret", "X", "--secret", "Y", "--memory", "256M", "--memory", "512M");
  assert.equal(parsed.verb, "run");
  assert.deepEqual(parsed.positionals, ["hello"]);
  assert.deepEqual(parsed.flags.get("publish"), ["1:2", "3:4", "5:6"]);
  assert.deepEqual(parsed.flags.get("e"), ["A=1", "B=2"]);
  assert.deepEqual(parsed.flags.get("secret"), ["X", "Y"]);
  assert.deepEqual(parsed.flags.get("memory"), ["512M"], "an option that is not repeatable keeps the last value");
  assert.deepEqual((await parse("run", "hello", "--secret-file", "a.env")).flags.get("secret-file"), ["a.env"]);
});

test("a boolean option is true alone, takes only true/false/1/0 as a value, and never takes the next word", async () => {
  const json = async (...argv: string[]): Promise<string | undefined> => (await parse("images", ...argv)).flags.get("json")?.at(-1);
  assert.equal(await json("--json"), "true");
  assert.equal(await json("--json=false"), "false");
  assert.equal(await json("--json=0"), "false");
  assert.equal(await json("--json=1"), "true");
  assert.equal(await json("--json=TRUE"), "true");
  assert.equal(await json("--json", "--json=false"), "false", "the last one wins");
  assert.equal(await json(), undefined);
  assert.deepEqual((await parse("inspect", "--json", "hello")).positionals, ["hello"]);
  await assert.rejects(parse("images", "--json=maybe"), usageError("cli-bad-value", /^Cannot read option --json=maybe as it takes true or false$/));
  assert.equal((await parse("build", "--tag", "--json=x")).flags.get("tag")?.[0], "--json=x", "an option's value is left as it is");
});

test("--verbose is accepted before and after the verb", async () => {
  assert.deepEqual((await parse("--verbose", "rm", "hello")).positionals, ["hello"]);
  assert.deepEqual((await parse("rm", "hello", "--verbose")).positionals, ["hello"]);
});

test("an unknown option or command is a usage error with a suggestion", async () => {
  await assert.rejects(parse("run", "hello", "--memroy", "1G"), usageError("cli-unknown-option", /^Cannot run ingot run as it has no option --memroy$/, /^Did you mean --memory\? ingot run --help lists its options$/));
  await assert.rejects(parse("images", "--jsno"), usageError("cli-unknown-option", /^Cannot run ingot images as it has no option --jsno$/, /Did you mean --json\?/));
  await assert.rejects(parse("imagse"), usageError("cli-unknown-command", /^Cannot run ingot imagse as it is not a command$/, /^Did you mean images\? ingot --help lists the commands$/));
  await assert.rejects(parse("help", "imagse"), usageError("cli-unknown-command", /^Cannot run ingot imagse as it is not a command$/, /Did you mean images\?/));
  await assert.rejects(parse("frobnicate"), usageError("cli-unknown-command", /^Cannot run ingot frobnicate as it is not a command$/, /^ingot --help lists the commands$/));
});

test("a missing value, a missing required option or argument, or an extra argument is a usage error with a hint", async () => {
  await assert.rejects(parse("run", "hello", "--memory"), usageError("cli-missing-value", /^Cannot read option --memory as it needs a value$/, /^Write --memory SIZE$/));
  await assert.rejects(parse("run", "hello", "-p"), usageError("cli-missing-value", /^Cannot read option --publish as it needs a value$/, /^Write --publish HOST:GUEST$/));
  await assert.rejects(parse("config", "ls"), usageError("cli-missing-option", /^Cannot run ingot config as it needs --env$/, /^Write --env NAME; ingot config --help lists its options$/));
  await assert.rejects(parse("inspect"), usageError("cli-missing-argument", /^Cannot run ingot inspect as it needs IMAGE$/, /^Usage: ingot inspect \[options\] <IMAGE>$/));
  await assert.rejects(parse("rm", "a", "b"), usageError("cli-unexpected-argument", /^Cannot run ingot rm as it takes at most 1, got: a b$/));
  await assert.rejects(parse("images", "x"), usageError("cli-unexpected-argument", /^Cannot run ingot images as it takes no arguments, got: x$/));
});

test("every verb's --help, and help VERB, lists all its arguments and options with their descriptions", async () => {
  for (const verb of verbs) {
    const help = await output(verb.name, "--help");
    assert.equal(help.status, 0);
    assert.deepEqual(await output("help", verb.name), help, "help VERB is VERB --help");
    // Commander wraps descriptions to the terminal's width.
    const text = help.out.replace(/\s+/g, " ");
    assert.ok(text.startsWith(`Usage: ingot ${verb.name} `), text);
    assert.ok(text.includes(verb.summary), `${verb.name}: the summary`);
    for (const argument of verb.arguments ?? []) assert.ok(text.includes(argument.description.replace(/\s+/g, " ")), `${verb.name}: ${argument.name}`);
    for (const option of verb.options) {
      assert.ok(text.includes(`${option.flags} ${option.description}`), `${verb.name}: ${option.flags} and its description`);
    }
    assert.ok(text.includes("--verbose print stack traces"), `${verb.name}: the global options`);
  }
});

test("--help lists every verb, --version prints package.json's version, and no verb is a usage error", async () => {
  const help = await output("--help");
  assert.equal(help.status, 0);
  for (const verb of verbs) assert.match(help.out, new RegExp(`^  ${verb.name} .*${verb.summary.slice(0, 20).replace(/[()]/g, "\\$&")}`, "m"));
  const { version } = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  assert.deepEqual(await output("--version"), { status: 0, out: `${version}\n`, err: "" });
  const none = await output();
  assert.equal(none.status, 2);
  assert.match(none.err, /^Usage: ingot <command> \[options\]/);
});

test("through bin/ingot, a usage error prints error: and hint: and exits 2; with --verbose, its stack too", async () => {
  const ingot = (...argv: string[]): Promise<{ code: number; stderr: string }> => new Promise((resolve) => {
    execFile(BIN, argv, (error, _stdout, stderr) => resolve({ code: typeof error?.code === "number" ? error.code : 0, stderr }));
  });
  assert.deepEqual(await ingot("run", "hello", "--memroy", "1G"), {
    code: 2, stderr: "error: Cannot run ingot run as it has no option --memroy\nhint: Did you mean --memory? ingot run --help lists its options\n",
  });
  const verbose = await ingot("images", "--jsno", "--verbose");
  assert.equal(verbose.code, 2);
  assert.match(verbose.stderr, /^error: Cannot run ingot images as it has no option --jsno\nhint: .*\nIngotError: .*\n {4}at /);
});

test("every option a verb's file reads is declared in verbs.ts", async () => {
  for (const verb of verbs) {
    const source = await readFile(new URL(`./${verb.name}.ts`, import.meta.url), "utf8");
    const declared = verb.options.map((option) => new Option(option.flags).name());
    for (const [, name] of source.matchAll(/(?:flag\(args, |flags\.get\()"([\w-]+)"/g)) {
      assert.ok(declared.includes(name!), `src/cli/${verb.name}.ts reads ${name}, which verbs.ts does not declare for ${verb.name}`);
    }
  }
});
