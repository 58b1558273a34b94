import { test } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "../../test/helpers.ts";
import { IngotError } from "../errors.ts";
import { findPostgres } from "./postgres-install.ts";

async function fakeInstall(root: string, major: string): Promise<void> {
  await mkdir(join(root, major, "bin"), { recursive: true });
  for (const binary of ["postgres", "initdb", "pg_isready", "psql"]) {
    await writeFile(join(root, major, "bin", binary), "#!/bin/sh\n");
    await chmod(join(root, major, "bin", binary), 0o755);
  }
}

test("the newest major version installed is found, by number rather than by name", async (t) => {
  const root = await tempDir("ingot-pg-root-");
  t.after(root.remove);
  await fakeInstall(root.path, "9");
  await fakeInstall(root.path, "15");
  await mkdir(join(root.path, "17", "bin"), { recursive: true }); // a leftover with no server in it
  assert.deepEqual(findPostgres(root.path, () => undefined), { bindir: join(root.path, "15", "bin"), major: "15" });
});

test("without PostgreSQL the error names the package to install", async (t) => {
  const root = await tempDir("ingot-pg-root-");
  t.after(root.remove);
  assert.throws(() => findPostgres(join(root.path, "none"), () => undefined), (error: unknown) => {
    assert.ok(error instanceof IngotError);
    assert.equal(error.code, "accessory-postgres-missing");
    assert.match(error.hint ?? "", /apt-get install postgresql/);
    return true;
  });
});
