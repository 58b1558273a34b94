import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { environmentName, variableName, variableValue } from "./names.ts";

describe("environmentName", () => {
  it("accepts lowercase names up to 32 characters", () => {
    for (const name of ["dev", "prod", "staging-2", "a", `a${"b".repeat(31)}`]) assert.equal(environmentName(name), name);
  });

  it("refuses names that could not be a path, a HAProxy section or a host label", () => {
    for (const name of ["", "Prod", "2nd", "-x", "a_b", "a.b", "../etc", `a${"b".repeat(32)}`]) {
      assert.throws(() => environmentName(name), { code: "environment-name-invalid" }, name);
    }
  });
});

describe("variableName", () => {
  it("accepts environment variable names", () => {
    for (const name of ["DATABASE_URL", "_private", "a1", "LogLevel"]) assert.equal(variableName(name, "config key"), name);
  });

  it("refuses names that are not environment variable names", () => {
    for (const name of ["", "1ST", "A-B", "A B", "A=B", "é"]) assert.throws(() => variableName(name, "secret name"), { code: "variable-name-invalid" }, name);
  });

  it("refuses INGOT_*, which ingot sets itself (as -e does: names are case-sensitive)", () => {
    for (const name of ["INGOT_PORT", "INGOT_"]) assert.throws(() => variableName(name, "config key"), { code: "variable-name-reserved" }, name);
    for (const name of ["INGOTX", "ingot_env"]) assert.equal(variableName(name, "config key"), name);
  });
});

describe("variableValue", () => {
  it("refuses a NUL byte and accepts anything else", () => {
    assert.throws(() => variableValue("A", "x\0y"), { code: "variable-value-invalid" });
    assert.equal(variableValue("A", "multi\nline ünïcode="), "multi\nline ünïcode=");
  });
});
