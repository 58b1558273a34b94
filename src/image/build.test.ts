import { test } from "node:test";
import assert from "node:assert/strict";
import { tempDir } from "../../test/helpers.ts";
import { Vault } from "../vault/vault.ts";
import { buildImage } from "./build.ts";

test("a --tag outside the tag grammar fails before any work (a missing kernel would fail next)", async (t) => {
  const dir = await tempDir("ingot-build-");
  t.after(dir.remove);
  const vault = await Vault.open(dir.path);
  for (const [tag, message] of [
    ["a".repeat(300), /^Cannot tag the image as its name is longer than 128 characters: "a{59}…$/],
    ["hello:../../../tmp/x", /^Cannot tag the image as its version does not start with a letter, digit or '_'.*: "\.\.\/\.\.\/\.\.\/tmp\/x"$/],
    ["../x:1.0.0", /its name is not lowercase letters and digits/],
    [`hello:${"1".repeat(129)}`, /its version is longer than 128 characters/],
  ] as const) {
    await assert.rejects(buildImage("examples/hello", { tag, vault, kernel: "/nonexistent/vmlinuz" }), (error: Error & { code?: string }) =>
      error.code === "tag-invalid" && message.test(error.message), tag);
  }
  assert.deepEqual(await vault.tags(), []);
});
