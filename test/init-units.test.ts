// Runs the C init's host unit tests (JSON reader, HTTP response parser) as part of the Node suite.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
const initDir = fileURLToPath(new URL("../init", import.meta.url));

// No skip when make or gcc is missing: the parsers that handle secrets must always be tested.
test("make -C init unit builds and passes the init's JSON and HTTP unit tests", async () => {
  const result = await run("make", ["-C", initDir, "unit"], { timeout: 120_000 }).catch(
    (error: NodeJS.ErrnoException & { stdout?: string; stderr?: string }) => {
      assert.fail(`make -C init unit failed (${error.code ?? "?"}): ${error.message}\n${error.stdout ?? ""}${error.stderr ?? ""}`);
    },
  );
  assert.match(result.stdout, /json-test: all \d+ checks passed/);
});
