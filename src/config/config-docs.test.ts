import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { configReference } from "./config-docs.ts";

test("docs/config.md is the reference generated from the schema", async () => {
  assert.equal(await readFile("docs/config.md", "utf8"), configReference(), "regenerate it: node --import tsx src/config/config-docs.ts > docs/config.md");
});
