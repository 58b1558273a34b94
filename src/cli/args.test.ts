import { test } from "node:test";
import assert from "node:assert/strict";
import { flag, parseArgs } from "./args.ts";

test("a boolean option is true alone, and takes only true/false/1/0 as a value", () => {
  assert.equal(flag(parseArgs(["--json"]), "json"), "true");
  assert.equal(flag(parseArgs(["--json=false"]), "json"), "false");
  assert.equal(flag(parseArgs(["--json=0"]), "json"), "false");
  assert.equal(flag(parseArgs(["--json=1"]), "json"), "true");
  assert.deepEqual(parseArgs(["--json", "hello"]).positionals, ["hello"], "a boolean option does not take the next argument");
  assert.throws(() => parseArgs(["--json=no"]), (error: Error & { code?: string }) =>
    error.code === "cli-bad-value" && /Cannot read option --json=no as it takes true or false/.test(error.message));
});

test("options with values: --key value, --key=value, repeated keys in order", () => {
  const parsed = parseArgs(["run", "-p", "1:2", "--publish=3:4", "-p", "5:6"]);
  assert.deepEqual(parsed.flags.get("p"), ["1:2", "5:6"]);
  assert.equal(flag(parsed, "publish"), "3:4");
  assert.throws(() => parseArgs(["--memory"]), /--memory as it needs a value/);
});
