import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { completionScript } from "./completion.ts";
import { verbs } from "./verbs.ts";

const run = promisify(execFile);
const BIN = fileURLToPath(new URL("../../bin/ingot", import.meta.url));

/** What bash offers for the command line `words` (the last one being the word completed). */
async function bashCompletes(script: string, ...words: string[]): Promise<string[]> {
  const { stdout } = await run("bash", ["-c", `${script}
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
_ingot
printf '%s\\n' "\${COMPREPLY[@]}"`, "bash", ...words]);
  return stdout.split("\n").filter(Boolean).sort();
}

test("the bash script completes verbs, their actions and their options", async () => {
  const script = (await run(BIN, ["completion", "bash"])).stdout;
  assert.deepEqual(await bashCompletes(script, "ingot", "ru"), ["run"]);
  assert.deepEqual(await bashCompletes(script, "ingot", "run", "--me"), ["--memory"]);
  assert.deepEqual(await bashCompletes(script, "ingot", "--verbose", "ru"), ["run"], "a global option before the verb");
  assert.deepEqual(await bashCompletes(script, "ingot", "server", ""), ["status", "stop"]);
  assert.deepEqual(await bashCompletes(script, "ingot", "config", "--env", "prod", ""), ["ls", "set", "unset"], "an option's value is not the action");
  assert.deepEqual(await bashCompletes(script, "ingot", "config", "set", ""), [], "after the action: file names (complete -o default)");
  assert.deepEqual(await bashCompletes(script, "ingot", "run", "-p", ""), [], "an option's value: file names");
  assert.deepEqual(await bashCompletes(script, "ingot", "help", "ins"), ["inspect"]);
  assert.deepEqual(await bashCompletes(script, "ingot", "images", "--"), ["--help", "--json", "--verbose"]);
  assert.match(script, /^complete -o default -F _ingot ingot$/m);
});

const hasZsh = await run("zsh", ["-fc", "true"]).then(() => true, () => false);

/** What the zsh script offers, with zsh's completion functions replaced by ones that print the candidates. */
async function zshCompletes(script: string, ...words: string[]): Promise<string[]> {
  const { stdout } = await run("zsh", ["-fc", `compdef() { :; }
_describe() { local -a items=("\${(@P)2}"); print -l -- "\${items[@]%%:*}"; }
compadd() { shift; print -l -- "$@"; }
_files() { print FILES; }
${script}
words=("$@"); CURRENT=$#; PREFIX=\${words[-1]}
_ingot`, "zsh", ...words]);
  const prefix = words.at(-1)!;
  return stdout.split("\n").filter((word) => word && (word === "FILES" || word.startsWith(prefix))).sort();
}

test("the zsh script completes verbs, their actions and their options", { skip: !hasZsh && process.env.CI !== "true" && "zsh is not installed (CI installs it, and fails without it)" }, async () => {
  const script = completionScript("zsh", verbs);
  assert.deepEqual(await zshCompletes(script, "ingot", "ru"), ["run"]);
  assert.deepEqual(await zshCompletes(script, "ingot", "run", "--me"), ["--memory"]);
  assert.deepEqual(await zshCompletes(script, "ingot", "--verbose", "ru"), ["run"]);
  assert.deepEqual(await zshCompletes(script, "ingot", "server", ""), ["status", "stop"]);
  assert.deepEqual(await zshCompletes(script, "ingot", "config", "--env", "prod", ""), ["ls", "set", "unset"]);
  assert.deepEqual(await zshCompletes(script, "ingot", "run", "-p", ""), ["FILES"]);
  assert.deepEqual(await zshCompletes(script, "ingot", "images", "--"), ["--help", "--json", "--verbose"]);
});

test("the zsh script describes verbs and options, quoting their descriptions, and registers itself", () => {
  const script = completionScript("zsh", verbs);
  assert.match(script, /^#compdef ingot$/m);
  assert.match(script, /compdef _ingot ingot/);
  for (const verb of verbs) assert.ok(script.includes(`'${verb.name}:${verb.summary.replaceAll("'", "'\\''")}'`), verb.name);
  assert.ok(script.includes("'--publish:forward host port HOST to the guest'\\''s declared port GUEST'"), "quotes in descriptions are escaped");
});
