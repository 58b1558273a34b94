import { test } from "node:test";
import assert from "node:assert/strict";
import { formatBytes, printable, table } from "./format.ts";

test("control characters and bidirectional overrides are printed as escapes", () => {
  assert.equal(printable("a\x1b]0;pwned\x07.txt"), "a\\x1b]0;pwned\\x07.txt");
  assert.equal(printable("line\nbreak\r\x7f\x9b"), "line\\x0abreak\\x0d\\x7f\\x9b");
  assert.equal(printable("txt.\u202eexe"), "txt.\\u{202e}exe");
  assert.equal(printable("héllo wörld ✓"), "héllo wörld ✓");
});

test("table cells are printable and aligned on their escaped width", () => {
  assert.equal(table([["NAME", "SIZE"], ["\x1b[2Jx", "1 B"]]), "NAME      SIZE\n\\x1b[2Jx  1 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
});
