import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { debianPackages } from "./debian-packages.ts";

const run = promisify(execFile);

describe("debianPackages", () => {
  let directory: string;
  before(async () => {
    directory = await realpath(await mkdtemp(join(tmpdir(), "ingot-dpkg-")));
  });
  after(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  test("finds libc6 and the version dpkg-query reports, under both merged-usr spellings", async () => {
    // dpkg-query is the oracle; the code under test reads dpkg's files itself.
    const { stdout } = await run("dpkg-query", ["-W", "-f=${Version} ${Architecture}", "libc6"]);
    const [version, architecture] = stdout.trim().split(" ");
    const paths = [
      "/lib/x86_64-linux-gnu/libc.so.6",
      "/usr/lib/x86_64-linux-gnu/libc.so.6",
      "/lib64/ld-linux-x86-64.so.2",
    ];
    const owners = await debianPackages(paths);
    for (const path of paths) assert.deepEqual(owners.get(path), { package: "libc6", version, architecture }, path);
  });

  test("leaves out files no package owns", async () => {
    const stray = join(directory, "stray.so");
    await writeFile(stray, "");
    const owners = await debianPackages([stray, "/lib/x86_64-linux-gnu/libc.so.6"]);
    assert.equal(owners.has(stray), false);
    assert.equal(owners.size, 1);
  });

  test("reads a dpkg database: multi-arch list names, arch-less ones, symlinks and /usr spellings", async () => {
    const admin = join(directory, "dpkg");
    await mkdir(join(admin, "info"), { recursive: true });
    const real = join(directory, "libreal.so.1.2");
    const link = join(directory, "libreal.so.1");
    await writeFile(real, "");
    await symlink(real, link);
    await writeFile(
      join(admin, "status"),
      [
        "Package: libfoo1\nStatus: install ok installed\nArchitecture: amd64\nMulti-Arch: same\nVersion: 1.0-1\n" +
          "Description: foo\n Version: 9.9 in a description is not a field\n",
        "Package: libfoo1\nStatus: install ok installed\nArchitecture: i386\nVersion: 1.0-1\n",
        "Package: foo-data\nStatus: install ok installed\nArchitecture: all\nVersion: 2:3.4\n",
        "Package: real\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5\n",
      ].join("\n"),
    );
    await writeFile(join(admin, "info", "libfoo1:amd64.list"), "/.\n/usr\n/usr/lib/x86_64-linux-gnu/libfoo.so.1\n");
    await writeFile(join(admin, "info", "libfoo1:i386.list"), "/.\n/usr\n/usr/lib/i386-linux-gnu/libfoo.so.1\n");
    await writeFile(join(admin, "info", "foo-data.list"), "/.\n/usr/share/foo/data.txt\n/bin/foo-tool\n");
    await writeFile(join(admin, "info", "real.list"), `/.\n${real}\n`);

    const owners = await debianPackages(
      ["/lib/x86_64-linux-gnu/libfoo.so.1", "/usr/lib/i386-linux-gnu/libfoo.so.1", "/usr/bin/foo-tool", link],
      { adminDirectory: admin },
    );
    assert.deepEqual(owners.get("/lib/x86_64-linux-gnu/libfoo.so.1"), {
      package: "libfoo1",
      version: "1.0-1",
      architecture: "amd64",
    });
    assert.equal(owners.get("/usr/lib/i386-linux-gnu/libfoo.so.1")?.architecture, "i386");
    assert.deepEqual(owners.get("/usr/bin/foo-tool"), { package: "foo-data", version: "2:3.4", architecture: "all" });
    assert.deepEqual(owners.get(link), { package: "real", version: "5", architecture: "amd64" });
  });

  test("rejects a missing dpkg database with a hint", async () => {
    await assert.rejects(debianPackages(["/bin/sh"], { adminDirectory: join(directory, "nowhere") }), {
      name: "IngotError",
      code: "dpkg-unreadable",
    });
  });
});
