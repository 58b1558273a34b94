import { test } from "node:test";
import assert from "node:assert/strict";
import { HBA_CONF, initdbArgs, postgresLayout, psqlArgs, serverArgs, setupStatements, socketFolder } from "./postgres-plan.ts";

test("the data lives under INGOT_HOME; the socket folder is short, stable per home and accessory, and outside it", () => {
  assert.deepEqual(postgresLayout("/h", "dev", "db"), { folder: "/h/accessories/dev/db", dataDir: "/h/accessories/dev/db/data", logFile: "/h/accessories/dev/db/postgres.log" });
  const folder = socketFolder("/tmp", "/h", "dev", "db");
  assert.match(folder, /^\/tmp\/ingot-pg-dev-db-[0-9a-f]{10}$/);
  assert.equal(socketFolder("/tmp", "/h", "dev", "db"), folder, "a restarted server finds it again");
  assert.notEqual(socketFolder("/tmp", "/other", "dev", "db"), folder, "two homes never share a socket");
  const longest = socketFolder("/tmp", "/h", "a".repeat(32), "b".repeat(32));
  assert.ok(`${longest}/.s.PGSQL.5432`.length < 108, "a unix socket path fits in sun_path");
});

test("PostgreSQL listens on no TCP port, only its unix socket, and every role needs a password", () => {
  const args = serverArgs("/usr/lib/postgresql/X/bin", "/tmp/s");
  assert.equal(args[0], "/usr/lib/postgresql/X/bin/postgres");
  assert.ok(args.includes("listen_addresses="), "no TCP");
  assert.ok(args.includes("unix_socket_directories=/tmp/s"));
  assert.deepEqual(args.slice(1, 3), ["-D", "/proc/self/fd/3"], "the data directory through a descriptor");
  assert.deepEqual(HBA_CONF.split("\n").filter((line) => line && !line.startsWith("#")), ["local all all scram-sha-256"]);
  assert.ok(initdbArgs("/b").includes("-E") && initdbArgs("/b").includes("UTF8"));
  assert.deepEqual(psqlArgs("/b", "/tmp/s", ["-c", "select 1"]), ["/b/psql", "-h", "/tmp/s", "-p", "5432", "-U", "app", "-d", "app", "-c", "select 1"]);
});

test("a new cluster gets the app's role and database, a kept one a new password; nothing but hex goes into a statement", () => {
  assert.equal(setupStatements("ab12", true), "CREATE ROLE app LOGIN PASSWORD 'ab12'\nCREATE DATABASE app OWNER app\n");
  assert.equal(setupStatements("ab12", false), "ALTER ROLE app PASSWORD 'ab12'\n");
  assert.throws(() => setupStatements("x'; DROP ROLE app; --", true));
});
