import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { cliReference, REGENERATE } from "./cli-docs.ts";
import type { Verb } from "./verb.ts";
import { verbs } from "./verbs.ts";

test("docs/cli.md is the reference generated from the verbs' declarations", async () => {
  assert.equal(await readFile("docs/cli.md", "utf8"), cliReference(), `docs/cli.md is stale; regenerate it: ${REGENERATE}`);
});

test("every verb has a section with its usage, arguments and options, and a row in the index", () => {
  const reference = cliReference();
  for (const verb of verbs) {
    const section = reference.split(`\n## ingot ${verb.name}\n`)[1]?.split("\n## ")[0];
    assert.ok(section, `${verb.name}: a section`);
    assert.match(reference, new RegExp(`^\\| \\[\`${verb.name}\`\\]\\(#ingot-${verb.name}\\) \\|`, "m"), `${verb.name}: a row in the index`);
    assert.match(section, new RegExp(`^ingot ${verb.name} \\[options\\]`, "m"), `${verb.name}: its usage`);
    for (const argument of verb.arguments ?? []) assert.ok(section.includes(`| \`${argument.name.replaceAll("|", "\\|")}\` |`), `${verb.name}: ${argument.name}`);
    for (const option of verb.options) assert.ok(section.includes(`| \`${option.flags.replaceAll("|", "\\|")}\` | ${option.description.replaceAll("|", "\\|")}`), `${verb.name}: ${option.flags}`);
  }
});

test("a new verb appears with its description, and pipes and tags cannot break the tables", () => {
  const accessory: Verb = {
    name: "widget", summary: "manage widgets", description: "Widgets go in <environments>.",
    arguments: [{ name: "<add|rm>", description: "add or rm" }],
    actions: ["add", "rm"],
    options: [{ flags: "--kind <a|b>", description: "a|b", required: true }, { flags: "-x <V>", description: "x", repeatable: true }, { flags: "--json", description: "json" }],
    run: async () => 0,
  };
  const reference = cliReference([accessory]);
  assert.ok(reference.includes("| [`widget`](#ingot-widget) | manage widgets |"));
  assert.ok(reference.includes("\n## ingot widget\n\nManage widgets.\n\nWidgets go in &lt;environments>.\n\n```\ningot widget [options] <add|rm>\n```\n\nActions: `add`, `rm`.\n"));
  assert.ok(reference.includes("| `<add\\|rm>` | add or rm |"));
  assert.ok(reference.includes("| `--kind <a\\|b>` | a\\|b (required) |"));
  assert.ok(reference.includes("| `-x <V>` | x (repeatable) |"));
  assert.ok(!reference.includes("--no-"), "the hidden --no-json forms are not listed");
});

test("the README's command overview and examples name only verbs and options that exist", async () => {
  const readme = await readFile("README.md", "utf8");
  assert.ok(readme.includes("(docs/cli.md)"), "the README links the reference");
  const overview = readme.split("\n## Commands\n")[1]?.split("\n## ")[0] ?? "";
  const named = [...overview.matchAll(/^\| [^|]+ \| (.+) \|$/gm)].flatMap((row) => [...row[1]!.matchAll(/`([a-z-]+)`/g)].map((word) => word[1]!));
  assert.ok(named.length >= verbs.length / 2, "the overview names the verbs");
  for (const name of named) assert.ok(verbs.some((verb) => verb.name === name), `README names ${name}, which is no verb`);
  const examples = [...readme.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((block) => block[1]).join("");
  for (const [, name, rest] of examples.matchAll(/^ingot ([a-z-]+)(.*?)(?:\s+#.*)?$/gm)) {
    const verb = verbs.find((candidate) => candidate.name === name);
    assert.ok(verb, `README runs ingot ${name}, which is no verb`);
    const flags = verb.options.flatMap((option) => option.flags.split(/[ ,]+/).filter((word) => word.startsWith("-")));
    for (const [flag] of rest!.matchAll(/(?<=\s)--?[a-z][\w-]*/g)) assert.ok(flags.includes(flag), `README runs ingot ${name} ${flag}, which it does not declare`);
  }
});
