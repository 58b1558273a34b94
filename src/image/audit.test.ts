import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { auditImage } from "./audit.ts";
import type { FileIndexEntry } from "./build.ts";

const app = { user: { name: "app", uid: 1000, gid: 1000 } };
const file = (path: string, mode = 0o755, size = 1000): FileIndexEntry => ({ path, type: "file", mode, size });
const dir = (path: string, mode = 0o755): FileIndexEntry => ({ path, type: "dir", mode, size: 0 });

/** What ingot itself puts in a Node image: no shell, nothing setuid. */
const clean: FileIndexEntry[] = [
  dir("/dev"), dir("/tmp", 0o1777), { path: "/dev/console", type: "device", mode: 0o600, size: 0 },
  file("/init"), file("/etc/passwd", 0o644), file("/usr/local/bin/node"), file("/lib/x86_64-linux-gnu/libc.so.6"),
  { path: "/lib64", type: "symlink", mode: 0o777, size: 0, target: "/lib/x86_64-linux-gnu" },
  dir("/app"), file("/app/server.js", 0o644), file("/app/shell.js", 0o644), dir("/app/sh"),
];

describe("auditImage", () => {
  test("passes a minimal image that runs as an unprivileged user", () => {
    assert.deepEqual(auditImage(clean, app), {
      shells: [], packageManagers: [], setuidFiles: [], sshd: [],
      appUser: { uid: 1000, gid: 1000, runsAsRoot: false }, ok: true,
    });
  });

  test("finds shells by name, symlinks included, once each", () => {
    const audit = auditImage([
      ...clean, file("/bin/busybox"), file("/bin/bash"),
      { path: "/bin/sh", type: "symlink", mode: 0o777, size: 0, target: "busybox" },
      file("/bin/bash"),
    ], app);
    assert.deepEqual(audit.shells, ["/bin/bash", "/bin/busybox", "/bin/sh"]);
    assert.equal(audit.ok, false);
  });

  test("finds package managers and ssh servers", () => {
    const audit = auditImage([...clean, file("/usr/bin/apt-get"), file("/usr/local/bin/npm"), file("/usr/sbin/sshd"), file("/usr/sbin/dropbear")], app);
    assert.deepEqual(audit.packageManagers, ["/usr/bin/apt-get", "/usr/local/bin/npm"]);
    assert.deepEqual(audit.sshd, ["/usr/sbin/dropbear", "/usr/sbin/sshd"]);
    assert.equal(audit.ok, false);
  });

  test("finds setuid and setgid files but not setgid or sticky folders", () => {
    const audit = auditImage([...clean, file("/usr/bin/passwd", 0o4755), file("/usr/bin/wall", 0o2755), dir("/var/mail", 0o2775)], app);
    assert.deepEqual(audit.setuidFiles, ["/usr/bin/passwd", "/usr/bin/wall"]);
    assert.equal(audit.ok, false);
  });

  test("flags an app that runs as root", () => {
    const audit = auditImage(clean, { user: { name: "root", uid: 0, gid: 0 } });
    assert.deepEqual(audit.appUser, { uid: 0, gid: 0, runsAsRoot: true });
    assert.equal(audit.ok, false);
  });
});
