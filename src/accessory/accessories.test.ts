// Against a real PostgreSQL (Debian's), no QEMU: what an accessory creates, refuses, keeps and deletes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { endAccessories } from "../../test/control-plane.ts";
import { hasPostgres, tempDir } from "../../test/helpers.ts";
import { IngotError } from "../errors.ts";
import { AccessoryRecords } from "../state/accessories.ts";
import { StateDatabase } from "../state/database.ts";
import { SecretStore } from "../state/secret-store.ts";
import { ConfigStore } from "../state/config-store.ts";
import { Accessories } from "./accessories.ts";
import { passwordOf } from "./accessory-kind.ts";
import { findPostgres } from "./postgres-install.ts";
import { postgresUser, stopPostgres } from "./postgres-process.ts";
import { unprivilegedCommand } from "../process/unprivileged.ts";

// CI installs it (scripts/setup.sh): there a missing PostgreSQL fails these tests instead of skipping them.
const skip = !hasPostgres() && process.env.CI !== "true" && "missing: postgresql";

/** A home with its own state, and an end that stops what it started (by pid) and removes it. */
async function accessoryHome(t: { after: (fn: () => Promise<void>) => void }): Promise<{ home: string; state: StateDatabase; secrets: SecretStore; accessories: Accessories }> {
  const home = await tempDir("ingot-accessory-home-");
  const state = StateDatabase.open({ folder: join(home.path, "state") });
  t.after(async () => {
    await endAccessories(home.path);
    state.close();
    await home.remove();
  });
  const secrets = new SecretStore(state);
  return { home: home.path, state, secrets, accessories: new Accessories(state, secrets, home.path) };
}

function psql(accessory: { socketDir: string }, password: string, sql: string): string {
  return execFileSync(join(findPostgres().bindir, "psql"), ["-h", accessory.socketDir, "-U", "app", "-d", "app", "-tAc", sql], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PGPASSWORD: password } }).trim();
}

const refusedWith = (code: string, message: RegExp) => (error: unknown): boolean => {
  assert.ok(error instanceof IngotError, String(error));
  assert.equal(error.code, code);
  assert.match(error.message, message);
  return true;
};

test("an added PostgreSQL runs on its unix socket only, its URL a secret the user cannot change, its data kept across rm and add", { skip }, async (t) => {
  const { home, secrets, accessories } = await accessoryHome(t);
  const added = await accessories.add("dev", "postgres");
  assert.equal(added.state, "running");
  const url = secrets.reveal("dev").values.DATABASE_URL!;
  assert.match(url, /^postgres:\/\/app:[0-9a-f]{48}@10\.0\.2\.102:5432\/app$/);
  const password = passwordOf(url)!;
  psql(added, password, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)");
  const conf = await readFile(join(added.dataDir, "postgresql.auto.conf"), "utf8").catch(() => "");
  assert.doesNotMatch(conf, /listen_addresses/, "nothing but ingot's command line configures it");
  assert.throws(() => psql(added, "wrong", "SELECT 1"), /password authentication failed/, "a password is needed");
  assert.throws(() => execFileSync(join(findPostgres().bindir, "psql"), ["-h", added.socketDir, "-U", "postgres", "-d", "app", "-tAc", "SELECT 1"], { env: { ...process.env, PGPASSWORD: "" }, stdio: "pipe" }), "the superuser cannot log in at all");
  if (process.getuid?.() === 0) {
    const folder = await stat(added.socketDir);
    const postgres = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }));
    assert.deepEqual([folder.uid, folder.mode & 0o777], [postgres, 0o750], "PostgreSQL's user owns the socket folder; only its group may enter");
    assert.deepEqual(accessories.guestAccess("dev").groups, [folder.gid], "the environment's QEMUs get that group");
  }
  assert.deepEqual(accessories.guestAccess("dev").endpoints, [{ guestHost: "10.0.2.102", guestPort: 5432, socket: `${added.socketDir}/.s.PGSQL.5432` }]);
  assert.deepEqual(accessories.guestAccess("prod"), { endpoints: [], groups: [] });

  assert.throws(() => secrets.set("dev", "DATABASE_URL", "postgres://elsewhere/app"), refusedWith("variable-accessory-owned", /its accessory db provides it/));
  assert.throws(() => secrets.remove("dev", "DATABASE_URL"), refusedWith("variable-accessory-owned", /its accessory db provides it/));
  await assert.rejects(accessories.remove("dev", "db", { deleteData: false, runningInstances: 2 }), refusedWith("accessory-in-use", /as 2 instance\(s\) there use it/));

  await accessories.remove("dev", "db", { deleteData: false, runningInstances: 0 });
  assert.deepEqual(secrets.list("dev"), [], "its secret goes with it");
  assert.ok((await stat(join(added.dataDir, "PG_VERSION"))).isFile(), "its data stays");
  const again = await accessories.add("dev", "postgres");
  const newPassword = passwordOf(secrets.reveal("dev").values.DATABASE_URL!)!;
  assert.notEqual(newPassword, password, "added again, it gets a new password");
  assert.equal(psql(again, newPassword, "SELECT x FROM kept"), "7", "and serves the data it had");
  assert.throws(() => psql(again, password, "SELECT 1"), /password authentication failed/, "the old password no longer works");

  await accessories.remove("dev", "db", { deleteData: true, runningInstances: 0 });
  await assert.rejects(stat(join(home, "accessories", "dev", "db")), "--delete-data deletes it");
  assert.deepEqual(await accessories.list(), []);
});

test("a variable the user set already is refused with what to do; another name gives another variable; a kind is checked", { skip }, async (t) => {
  const { state, secrets, accessories } = await accessoryHome(t);
  secrets.set("dev", "DATABASE_URL", "postgres://elsewhere/app");
  await assert.rejects(accessories.add("dev", "postgres"), (error: unknown) => {
    refusedWith("accessory-variable-taken", /^Cannot add accessory db to dev as its URL would be DATABASE_URL, which is already a secret there$/)(error);
    assert.match((error as IngotError).hint ?? "", /ingot secret rm --env dev DATABASE_URL.*--name NAME gives NAME_DATABASE_URL/);
    return true;
  });
  new ConfigStore(state).set("test", { DATABASE_URL: "postgres://elsewhere/app" });
  await assert.rejects(accessories.add("test", "postgres"), refusedWith("accessory-variable-taken", /already a config key there/));
  const other = await accessories.add("dev", "postgres", "analytics");
  assert.equal(other.variable, "ANALYTICS_DATABASE_URL");
  assert.equal(secrets.reveal("dev").values.DATABASE_URL, "postgres://elsewhere/app", "the user's secret is untouched");
  await assert.rejects(accessories.add("dev", "redis"), refusedWith("accessory-kind-unknown", /the known kinds are postgres/));
  await assert.rejects(accessories.add("nowhere", "postgres"), /environment/);
});

test("the server's start adopts a running PostgreSQL and starts a stopped one again, on the same data", { skip }, async (t) => {
  const { home, state, secrets, accessories } = await accessoryHome(t);
  const added = await accessories.add("dev", "postgres");
  const password = passwordOf(secrets.reveal("dev").values.DATABASE_URL!)!;
  psql(added, password, "CREATE TABLE survives (x int); INSERT INTO survives VALUES (1)");
  const records = new AccessoryRecords(state);
  const first = records.get("dev", "db")!;
  await accessories.startAll();
  assert.equal(records.get("dev", "db")!.pid, first.pid, "a running one is adopted, not started twice");
  await stopPostgres({ pid: first.pid!, startTime: first.processStart! });
  const lines: string[] = [];
  await new Accessories(state, secrets, home, (line) => lines.push(line)).startAll();
  const restarted = records.get("dev", "db")!;
  assert.notEqual(restarted.pid, first.pid);
  assert.match(lines.join("\n"), /^accessory db of dev: started \(pid \d+\)$/m);
  assert.equal(psql(added, password, "SELECT x FROM survives"), "1");

  // While the server runs, one that dies is started again by the watch.
  const stopWatching = accessories.watch(100);
  t.after(stopWatching);
  await stopPostgres({ pid: restarted.pid!, startTime: restarted.processStart! });
  for (const deadline = Date.now() + 30_000; records.get("dev", "db")!.pid === restarted.pid && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.notEqual(records.get("dev", "db")!.pid, restarted.pid, "started again while the server runs");
  stopWatching();
  assert.equal(psql(added, password, "SELECT x FROM survives"), "1");
});

test("data from another major version is refused with what to do, and left as it was", { skip }, async (t) => {
  const { home, accessories } = await accessoryHome(t);
  const dataDir = join(home, "accessories", "dev", "db", "data");
  await mkdir(dataDir, { recursive: true });
  const newer = String(Number(findPostgres().major) + 1);
  await writeFile(join(dataDir, "PG_VERSION"), `${newer}\n`);
  await assert.rejects(accessories.add("dev", "postgres"), (error: unknown) => {
    refusedWith("accessory-data-version", new RegExp(`as its data was made by PostgreSQL ${newer}, a newer major version$`))(error);
    assert.match((error as IngotError).hint ?? "", new RegExp(`apt-get install postgresql-${newer}\\); the data is untouched`));
    return true;
  });
  assert.equal(await readFile(join(dataDir, "PG_VERSION"), "utf8"), `${newer}\n`);
  assert.deepEqual(await accessories.list(), [], "nothing was recorded");
  await writeFile(join(dataDir, "notes.txt"), "mine");
  await writeFile(join(dataDir, "PG_VERSION"), "");
  await assert.rejects(accessories.add("dev", "postgres"), refusedWith("accessory-data-foreign", /holds files but no PG_VERSION/));
});

test("a PostgreSQL serving the data with no record of it is adopted; a socket another one holds fails the start with PostgreSQL's reason", { skip }, async (t) => {
  const { state, secrets, accessories } = await accessoryHome(t);
  const added = await accessories.add("dev", "postgres");
  const password = passwordOf(secrets.reveal("dev").values.DATABASE_URL!)!;
  const records = new AccessoryRecords(state);
  const serving = records.get("dev", "db")!;
  // As if a server had been killed between the start and its record.
  records.setProcess("dev", "db", null);
  await accessories.ensure("dev");
  assert.equal(records.get("dev", "db")!.pid, serving.pid, "adopted, not started twice");
  assert.equal(psql(added, password, "SELECT 1"), "1");

  // Another PostgreSQL's lock on the socket: PostgreSQL refuses, ingot says why. A process of
  // PostgreSQL's user stands for the other one (a pid it may not signal would count as gone).
  await accessories.remove("dev", "db", { deleteData: false, runningInstances: 0 });
  const [program, ...args] = unprivilegedCommand(["sleep", "120"], { user: postgresUser(), dieWithParent: true });
  const other = spawn(program!, args, { stdio: "ignore" });
  t.after(() => { other.kill(); });
  await mkdir(added.socketDir, { recursive: true });
  await writeFile(join(added.socketDir, ".s.PGSQL.5432.lock"), `${other.pid}\n/elsewhere\n`);
  await assert.rejects(accessories.add("dev", "postgres"), (error: unknown) => {
    refusedWith("accessory-start-failed", /^Cannot start PostgreSQL as it exited; its log ends:\n.*lock file ".*\.s\.PGSQL\.5432\.lock" already exists/s)(error);
    assert.match((error as IngotError).hint ?? "", /postgres\.log; the data is untouched$/);
    return true;
  });
  assert.deepEqual((await accessories.list("dev")).map((accessory) => accessory.state), ["stopped"], "recorded, stopped, its data kept");
});
