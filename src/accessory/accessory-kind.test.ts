import { test } from "node:test";
import assert from "node:assert/strict";
import { IngotError } from "../errors.ts";
import { accessoryKind, accessoryName, accessoryVariable, databaseUrl, freeGuestPort, passwordOf } from "./accessory-kind.ts";

test("an unknown kind is refused with the known ones listed", () => {
  assert.equal(accessoryKind("postgres"), "postgres");
  assert.throws(() => accessoryKind("mysql"), (error: unknown) => {
    assert.ok(error instanceof IngotError);
    assert.equal(error.code, "accessory-kind-unknown");
    assert.match(error.message, /"mysql" .* the known kinds are postgres$/);
    return true;
  });
});

test("names are safe in a path and a variable; db gives DATABASE_URL, another name its own variable", () => {
  assert.equal(accessoryName("db"), "db");
  for (const bad of ["", "DB", "1db", "db/../x", "a".repeat(33)]) assert.throws(() => accessoryName(bad), /accessory name/);
  assert.equal(accessoryVariable("db"), "DATABASE_URL");
  assert.equal(accessoryVariable("analytics-2"), "ANALYTICS_2_DATABASE_URL");
});

test("guest ports start at PostgreSQL's own and skip the taken ones; the URL carries the password, which can be read back", () => {
  assert.equal(freeGuestPort([]), 5432);
  assert.equal(freeGuestPort([5432, 5434]), 5433);
  assert.equal(freeGuestPort([5432, 5433]), 5434);
  const url = databaseUrl("9f2c01", 5433);
  assert.equal(url, "postgres://app:9f2c01@10.0.2.102:5433/app");
  assert.equal(passwordOf(url), "9f2c01");
  assert.equal(passwordOf("postgres://app@db.internal/app"), undefined, "a URL the user set holds no password of ours");
});
