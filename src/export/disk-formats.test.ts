import { test } from "node:test";
import assert from "node:assert/strict";
import { IngotError } from "../errors.ts";
import { diskFormat } from "./disk-formats.ts";

test("the four formats are known; any other is refused naming them", () => {
  for (const name of ["raw", "qcow2", "vmdk", "vhd"]) assert.equal(diskFormat(name), name);
  for (const name of ["iso", "vpc", "RAW", "", "toString"]) {
    assert.throws(() => diskFormat(name), (error: unknown) => error instanceof IngotError && error.code === "export-format-unknown"
      && error.message === `Cannot export as ${name} as it is not a disk format ingot writes: raw, qcow2, vmdk, vhd`);
  }
});
