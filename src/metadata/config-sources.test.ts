import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "../../test/helpers.ts";
import { runtimeVariables, secretValues } from "./config-sources.ts";

test("-e takes KEY=VALUE (the first = splits) or a name passed on from ingot's environment", () => {
  assert.deepEqual(runtimeVariables(["A=1", "URL=x=y", "EMPTY=", "HOME"], { HOME: "/root" }), [["A", "1"], ["URL", "x=y"], ["EMPTY", ""], ["HOME", "/root"]]);
  assert.throws(() => runtimeVariables(["NOPE"], {}), /-e NOPE as it is neither KEY=VALUE nor set/);
  assert.throws(() => runtimeVariables(["=x"], {}), /neither KEY=VALUE/);
});

test("secrets come from ingot's environment or a dotenv file, never from the command line", async (t) => {
  const dir = await tempDir("ingot-secrets-");
  t.after(dir.remove);
  const file = join(dir.path, "prod.env");
  await writeFile(file, "# database\nDB_URL=postgres://u:p@h/db\nexport TOKEN = \"quoted value\"\n\nSINGLE='x=1'\n");
  assert.deepEqual(await secretValues(["API"], [file], { API: "k-123" }), [
    ["DB_URL", "postgres://u:p@h/db"], ["TOKEN", "quoted value"], ["SINGLE", "x=1"], ["API", "k-123"],
  ]);
  await assert.rejects(secretValues(["API=k-123"], [], {}), (error: Error & { hint?: string }) =>
    /secret API from the command line/.test(error.message) && !error.message.includes("k-123") && !(error.hint ?? "").includes("k-123"));
  await assert.rejects(secretValues(["MISSING"], [], {}), /MISSING as it is not set in ingot's environment/);
  await writeFile(file, "GOOD=1\nthis-line-is-a-leaked-password\n");
  await assert.rejects(secretValues([], [file], {}), (error: Error) => /line 2 is not KEY=VALUE/.test(error.message) && !error.message.includes("leaked"));
  await assert.rejects(secretValues([], [join(dir.path, "absent.env")], {}), /Cannot read the secret file/);
});
