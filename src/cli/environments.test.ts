// Through bin/ingot: environments, runtime variables and secrets go through the control plane,
// which the first verb starts in the background; a secret's value never comes back out.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { runIngot } from "../../test/control-plane.ts";
import { tempDir } from "../../test/helpers.ts";
import { AuditLog } from "../state/audit.ts";
import { StateDatabase } from "../state/database.ts";

const ingot = runIngot;

test("env ls, config set|unset|ls and secret set|rm|ls work through the background server, versioned and audited", async (t) => {
  const home = await tempDir("ingot-env-");
  t.after(async () => {
    await ingot(home.path, ["server", "stop"]);
    await home.remove();
  });
  assert.match((await ingot(home.path, ["env", "ls"])).stdout, /^NAME\s+ENTRY POINT\s+CONFIG\ndev\s+-\s+v0\ntest\s+-\s+v0\nprod\s+-\s+v0\n$/);
  assert.equal((await ingot(home.path, ["config", "set", "--env", "prod", "LOG_LEVEL=info", "WORKERS=4"])).stdout, "prod: config v1\n");
  assert.equal((await ingot(home.path, ["config", "unset", "--env", "prod", "WORKERS"])).stdout, "prod: config v2\n");
  assert.match((await ingot(home.path, ["config", "ls", "--env", "prod"])).stdout, /^KEY\s+VALUE\s+SET IN\nLOG_LEVEL\s+info\s+v1\n$/);

  const secretValue = "s3cr3t-Xq9-hunter2";
  assert.equal((await ingot(home.path, ["secret", "set", "--env", "prod", "DB_PASSWORD"], `${secretValue}\n`)).stdout, "prod: DB_PASSWORD set (config v3)\n");
  const listed = await ingot(home.path, ["secret", "ls", "--env", "prod", "--json"]);
  assert.deepEqual(JSON.parse(listed.stdout), [{ name: "DB_PASSWORD", version: 3 }]);
  const onCommandLine = await ingot(home.path, ["secret", "set", "--env", "prod", `TOKEN=${secretValue}`]);
  assert.equal(onCommandLine.code, 1);
  assert.match(onCommandLine.stderr, /^error: Cannot take the secret TOKEN from the command line/m);
  assert.equal(onCommandLine.stderr.includes(secretValue), false, "the refused value is not echoed");
  const unknown = await ingot(home.path, ["config", "set", "--env", "staging", "A=1"]);
  assert.match(unknown.stderr, /^error: Cannot find environment staging .*dev, test, prod/m);
  assert.equal((await ingot(home.path, ["secret", "rm", "--env", "prod", "DB_PASSWORD"])).stdout, "prod: DB_PASSWORD removed (config v4)\n");
  assert.match((await ingot(home.path, ["env", "ls"])).stdout, /^prod\s+-\s+v4$/m);

  const stateFolder = join(home.path, "state");
  const state = StateDatabase.open({ folder: stateFolder });
  const audit = new AuditLog(state).list();
  state.close();
  assert.deepEqual(audit.map((record) => `${record.verb} ${record.outcome}`).reverse(), ["config set ok", "config unset ok", "secret set ok", "config set failed", "secret rm ok"]);
  for (const name of await readdir(stateFolder)) {
    assert.equal((await readFile(join(stateFolder, name))).includes(secretValue), false, `${name} never holds the secret in clear`);
  }
});

test("env rm refuses an unknown environment, and removes a never-deployed one's variables and secrets, audited", async (t) => {
  const home = await tempDir("ingot-env-rm-");
  t.after(async () => {
    await ingot(home.path, ["server", "stop"]);
    await home.remove();
  });
  const unknown = await ingot(home.path, ["env", "rm", "staging"]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^error: Cannot find environment staging as it does not exist: known are dev, test, prod\nhint: /m);

  await ingot(home.path, ["config", "set", "--env", "test", "LOG_LEVEL=info", "WORKERS=4"]);
  await ingot(home.path, ["secret", "set", "--env", "test", "API_TOKEN"], "t0ken\n");
  const removed = await ingot(home.path, ["env", "rm", "test"]);
  assert.equal(removed.code, 0, removed.stderr);
  assert.equal(removed.stdout, "test: stopped 0 instances; no entry point ran; deleted 2 variables and 1 secret\nits next deploy starts test afresh\n");
  assert.equal((await ingot(home.path, ["secret", "ls", "--env", "test", "--json"])).stdout.trim(), "[]");
  assert.equal((await ingot(home.path, ["config", "ls", "--env", "test", "--json"])).stdout.trim(), "[]");
  const again = await ingot(home.path, ["env", "rm", "test", "--json"]);
  assert.deepEqual(JSON.parse(again.stdout), { environment: "test", instances: [], entryPoint: null, accessories: [], variables: 0, secrets: 0, forgotten: false });

  const state = StateDatabase.open({ folder: join(home.path, "state") });
  const audit = new AuditLog(state).list();
  state.close();
  assert.deepEqual(audit.filter((record) => record.verb === "env rm").map((record) => `${JSON.stringify(record.arguments)} ${record.outcome}`).reverse(),
    ['{"environment":"staging","deleteData":false} failed', '{"environment":"test","deleteData":false} ok', '{"environment":"test","deleteData":false} ok']);
});
