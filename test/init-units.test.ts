// Runs the C init's own tests as part of the Node suite: host unit tests (JSON reader, HTTP response
// parser, syslog frames and lines, the log link's buffer, /proc/net/tcp lines) and its boot scenarios under QEMU.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
const initDir = fileURLToPath(new URL("../init", import.meta.url));

// No skip when make or gcc is missing: the parsers that handle secrets must always be tested.
test("make -C init unit builds and passes the init's JSON, HTTP, syslog, log link, command list and listening port unit tests", async () => {
  const result = await run("make", ["-C", initDir, "unit"], { timeout: 120_000 }).catch(
    (error: NodeJS.ErrnoException & { stdout?: string; stderr?: string }) => {
      assert.fail(`make -C init unit failed (${error.code ?? "?"}): ${error.message}\n${error.stdout ?? ""}${error.stderr ?? ""}`);
    },
  );
  assert.match(result.stdout, /json-test: all \d+ checks passed/);
  assert.match(result.stdout, /syslog-test: all \d+ checks passed/);
  assert.match(result.stdout, /link-test: all \d+ checks passed/);
  assert.match(result.stdout, /spec-test: all \d+ checks passed/);
  assert.match(result.stdout, /listen-test: all \d+ checks passed/);
});

// The init on its own under QEMU: DHCP and static network, Ctrl-Alt-Del, a SIGTERM-ignoring app, the
// metadata fetch (retry then success, precedence, debug without values, failing connector, 404), and
// log shipping (lines and their fields, an outage with dropped lines, throughput with the endpoint down).
test("make -C init test boots the init under QEMU in every scenario of init/test/boot-test.sh", async () => {
  // About 90 s on 2 idle cores without KVM; several times that when the machine is busy.
  const result = await run("make", ["-C", initDir, "test"], { timeout: 600_000, maxBuffer: 16 * 1024 * 1024 }).catch(
    (error: NodeJS.ErrnoException & { stdout?: string; stderr?: string }) => {
      // The FAIL lines first: the output's tail alone may start after the scenario that failed.
      const failed = (error.stdout ?? "").split("\n").filter((line) => line.startsWith("FAIL:")).join("\n");
      assert.fail(`make -C init test failed (${error.code ?? "?"}): ${failed || error.message}\n${(error.stdout ?? "").slice(-4000)}${error.stderr ?? ""}`);
    },
  );
  assert.match(result.stdout, /all boot checks passed/);
});
