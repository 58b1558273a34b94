import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { access, copyFile, mkdir, mkdtemp, realpath, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { IngotError } from "../errors.ts";
import { readElf } from "./elf.ts";
import { libraryClosure, type ClosureFile } from "./library-closure.ts";

const run = promisify(execFile);

// ldd is the oracle: it asks the real ld.so to resolve the same program. The code under test never runs it.
async function ldd(root: string): Promise<{ paths: string[]; missing: string[] }> {
  const { stdout } = await run("ldd", [root]).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
  const paths: string[] = [];
  const missing: string[] = [];
  for (const line of stdout.split("\n").map((text) => text.trim())) {
    const arrow = /^(\S+) => (.*?)(?: \(0x[0-9a-f]+\))?$/.exec(line);
    if (arrow?.[2] === "not found") missing.push(arrow[1] ?? "");
    else if (arrow !== null) paths.push(arrow[2] ?? "");
    else if (line.startsWith("/")) paths.push(line.replace(/ \(0x[0-9a-f]+\)$/, ""));
  }
  return { paths: paths.sort(), missing: missing.sort() };
}

async function assertMatchesLdd(root: string, files: ClosureFile[]): Promise<void> {
  const oracle = await ldd(root);
  assert.deepEqual(oracle.missing, []);
  assert.deepEqual(files.map((file) => file.path).sort(), oracle.paths);
  const realPaths = await Promise.all(oracle.paths.map((path) => realpath(path)));
  assert.deepEqual(files.map((file) => file.realPath).sort(), [...new Set(realPaths)].sort());
}

const sources = {
  "helper.c": "int helper(void) { return 40; }\n",
  "greet.c": "int helper(void);\nint greet(void) { return helper() + 2; }\n",
  "main.c": "int greet(void);\nint main(void) { return greet() == 42 ? 0 : 1; }\n",
  "both.c": "int greet(void);\nint helper(void);\nint main(void) { return greet() == 42 && helper() == 40 ? 0 : 1; }\n",
};

/**
 * Builds `main` needing lib/libgreet.so, which needs lib/libhelper.so; with `needsHelper`, main also needs
 * libhelper.so itself (so ld.so has it loaded before libgreet.so asks).
 */
async function buildProgram(
  directory: string,
  flags: { main: string[]; greet: string[]; needsHelper?: boolean },
): Promise<{ main: string; lib: string }> {
  const lib = join(directory, "lib");
  await mkdir(lib, { recursive: true });
  for (const [name, text] of Object.entries(sources)) await writeFile(join(directory, name), text);
  await run("gcc", ["-shared", "-fPIC", "-o", join(lib, "libhelper.so"), join(directory, "helper.c")]);
  const greet = ["-shared", "-fPIC", "-o", join(lib, "libgreet.so"), join(directory, "greet.c")];
  await run("gcc", [...greet, `-L${lib}`, "-lhelper", ...flags.greet]);
  const main = join(directory, "main");
  const source = join(directory, flags.needsHelper === true ? "both.c" : "main.c");
  const link = [`-L${lib}`, "-lgreet", ...(flags.needsHelper === true ? ["-lhelper"] : []), `-Wl,-rpath-link,${lib}`];
  await run("gcc", ["-o", main, source, ...link, ...flags.main]);
  return { main, lib };
}

/** An ELF header claiming AArch64: ld.so skips such a file when searching for an x86-64 library. */
function aarch64Header(): Buffer {
  const header = Buffer.alloc(64);
  header.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  header.writeUInt16LE(3, 16);
  header.writeUInt16LE(183, 18);
  header.writeUInt32LE(1, 20);
  return header;
}

const INTERPRETER = "/lib64/ld-linux-x86-64.so.2";

/**
 * Lays the host's copies of `files` out as Debian's packages ship them, over two trees: libc's with
 * ld.so behind lib64's absolute symlink, libstdc++'s under /usr/lib behind a relative symlink.
 * Every other library goes to libc's tree unless `hostOnly` names it.
 */
async function packageTrees(directory: string, files: ClosureFile[], hostOnly: string[] = []): Promise<{ libc: string; cxx: string }> {
  const trees = { libc: join(directory, "libc-tree"), cxx: join(directory, "cxx-tree") };
  const place = async (tree: string, path: string, source: string): Promise<void> => {
    await mkdir(dirname(join(tree, path)), { recursive: true });
    await copyFile(source, join(tree, path));
  };
  for (const file of files) {
    const name = basename(file.path);
    if (hostOnly.includes(name)) continue;
    if (file.path === INTERPRETER) {
      await place(trees.libc, `/lib/x86_64-linux-gnu/${name}`, file.realPath);
      await mkdir(join(trees.libc, "lib64"), { recursive: true });
      await symlink(`/lib/x86_64-linux-gnu/${name}`, join(trees.libc, INTERPRETER));
    } else if (name.startsWith("libstdc++") && basename(file.realPath) !== name) {
      await place(trees.cxx, `/usr/lib/x86_64-linux-gnu/${basename(file.realPath)}`, file.realPath);
      await symlink(basename(file.realPath), join(trees.cxx, "usr/lib/x86_64-linux-gnu", name));
    } else {
      await place(trees.libc, `/lib/x86_64-linux-gnu/${name}`, file.realPath);
    }
  }
  return trees;
}

async function sonames(files: ClosureFile[]): Promise<string[]> {
  return (await Promise.all(files.map(async (file) => (await readElf(file.realPath))?.soname ?? basename(file.path)))).sort();
}

function rejection(code: string, check: (message: string) => void) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof IngotError);
    assert.equal(error.code, code);
    assert.ok(error.hint);
    check(error.message);
    return true;
  };
}

describe("libraryClosure", () => {
  let directory: string;
  let count = 0;
  const fresh = async (): Promise<string> => {
    const path = join(directory, `case-${++count}`);
    await mkdir(path);
    return path;
  };
  before(async () => {
    directory = await realpath(await mkdtemp(join(tmpdir(), "ingot-closure-")));
  });
  after(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  test("finds what ldd finds for system programs, interpreter included", async () => {
    const roots = [process.execPath, "/usr/bin/curl"];
    for (const root of roots) {
      if (!(await access(root).then(() => true, () => false))) continue;
      const { files } = await libraryClosure([root]);
      await assertMatchesLdd(root, files);
      const interpreter = (await readElf(root))?.interpreter;
      assert.ok(files.find((file) => file.path === interpreter)?.neededBy.includes(root));
      assert.ok(files.some((file) => file.path.endsWith("/libc.so.6")));
      assert.deepEqual(files.map((file) => file.path), files.map((file) => file.path).sort());
    }
  });

  test("merges several roots without duplicates", async () => {
    const roots = [process.execPath, "/bin/sh"];
    const { files } = await libraryClosure(roots);
    const libc = files.filter((file) => file.path.endsWith("/libc.so.6"));
    assert.equal(libc.length, 1);
    assert.ok(libc[0]?.neededBy.includes(process.execPath));
    assert.ok(libc[0]?.neededBy.includes("/bin/sh"));
  });

  test("a static binary needs nothing", async () => {
    const work = await fresh();
    await writeFile(join(work, "static.c"), "int main(void) { return 0; }\n");
    const binary = join(work, "static");
    await run("gcc", ["-static", "-o", binary, join(work, "static.c")]);
    assert.deepEqual(await libraryClosure([binary]), { files: [] });
  });

  test("follows DT_RUNPATH with $ORIGIN, and the library's own RUNPATH for its dependencies", async () => {
    const work = await fresh();
    const { main, lib } = await buildProgram(work, { main: ["-Wl,-rpath,$ORIGIN/lib"], greet: ["-Wl,-rpath,$ORIGIN"] });
    assert.deepEqual((await readElf(main))?.runpath, ["$ORIGIN/lib"]);
    await run(main);
    const { files } = await libraryClosure([main]);
    await assertMatchesLdd(main, files);
    assert.deepEqual(files.find((file) => file.path === join(lib, "libgreet.so"))?.neededBy, [main]);
    const helper = files.find((file) => file.path === join(lib, "libhelper.so"));
    assert.deepEqual(helper?.neededBy, [join(lib, "libgreet.so")]);
  });

  test("follows DT_RPATH, which libraries inherit from the program that loads them", async () => {
    const work = await fresh();
    const flags = { main: ["-Wl,--disable-new-dtags", "-Wl,-rpath,${ORIGIN}/lib"], greet: [] };
    const { main, lib } = await buildProgram(work, flags);
    assert.deepEqual((await readElf(main))?.rpath, ["${ORIGIN}/lib"]);
    assert.deepEqual((await readElf(main))?.runpath, []);
    await run(main);
    const { files } = await libraryClosure([main]);
    await assertMatchesLdd(main, files);
    assert.ok(files.some((file) => file.path === join(lib, "libhelper.so")));
  });

  test("does not let libraries inherit DT_RUNPATH, as ld.so does not", async () => {
    const work = await fresh();
    const { main, lib } = await buildProgram(work, { main: ["-Wl,-rpath,$ORIGIN/lib"], greet: [] });
    assert.deepEqual((await ldd(main)).missing, ["libhelper.so"]);
    await assert.rejects(
      libraryClosure([main]),
      rejection("library-unresolved", (message) => {
        assert.ok(message.includes(`libhelper.so (needed by ${join(lib, "libgreet.so")})`), message);
        assert.ok(!message.includes("libgreet.so (needed by"), message);
      }),
    );
  });

  test("takes $ORIGIN of a symlinked program from its real folder", async () => {
    const work = await fresh();
    const { main, lib } = await buildProgram(work, { main: ["-Wl,-rpath,$ORIGIN/lib"], greet: ["-Wl,-rpath,$ORIGIN"] });
    await mkdir(join(work, "bin"));
    const link = join(work, "bin", "app");
    await symlink(main, link);
    await run(link);
    const { files } = await libraryClosure([link]);
    assert.deepEqual(files.find((file) => file.path === join(lib, "libgreet.so"))?.neededBy, [link]);
  });

  test("expands $LIB as Debian's ld.so does, and a library's $ORIGIN from the path it was found by", async () => {
    const work = await fresh();
    const { main, lib } = await buildProgram(work, { main: ["-Wl,-rpath,$ORIGIN/$LIB"], greet: ["-Wl,-rpath,$ORIGIN"] });
    await symlink(".", join(lib, "x86_64-linux-gnu"));
    await run(main);
    const { files } = await libraryClosure([main]);
    await assertMatchesLdd(main, files);
    const helper = files.find((file) => file.path === join(lib, "x86_64-linux-gnu", "libhelper.so"));
    assert.equal(helper?.realPath, join(lib, "libhelper.so"));
  });

  test("skips a candidate built for another machine, as ld.so does", async () => {
    const work = await fresh();
    const wrong = join(work, "wrong");
    const flags = { main: ["-Wl,-rpath,$ORIGIN/wrong:$ORIGIN/lib"], greet: ["-Wl,-rpath,$ORIGIN"] };
    const { main, lib } = await buildProgram(work, flags);
    await mkdir(wrong);
    await writeFile(join(wrong, "libgreet.so"), aarch64Header());
    await run(main);
    const { files } = await libraryClosure([main]);
    await assertMatchesLdd(main, files);
    assert.ok(files.some((file) => file.path === join(lib, "libgreet.so")));
  });

  test("reports every missing library with the object that needs it", async () => {
    const work = await fresh();
    const flags = { main: ["-Wl,-rpath,$ORIGIN/lib"], greet: ["-Wl,-rpath,$ORIGIN"], needsHelper: true };
    const { main, lib } = await buildProgram(work, flags);
    await unlink(join(lib, "libgreet.so"));
    await unlink(join(lib, "libhelper.so"));
    await assert.rejects(
      libraryClosure([main]),
      rejection("library-unresolved", (message) => {
        assert.match(message, /^Cannot find the shared libraries as /);
        assert.ok(message.includes(`libgreet.so (needed by ${main})`), message);
        assert.ok(message.includes(`libhelper.so (needed by ${main})`), message);
      }),
    );
  });

  test("searches only the given folders when searchPaths is set", async () => {
    const { files } = await libraryClosure([process.execPath], { searchPaths: ["/usr/lib/x86_64-linux-gnu"] });
    assert.ok(files.some((file) => file.path === "/usr/lib/x86_64-linux-gnu/libc.so.6"));
    await assert.rejects(
      libraryClosure([process.execPath], { searchPaths: [] }),
      rejection("library-unresolved", (message) => {
        assert.ok(message.includes(`libc.so.6 (needed by ${process.execPath})`), message);
      }),
    );
  });

  test("resolves every library in package trees, following their symlinks inside the union", async () => {
    const work = await fresh();
    const host = await libraryClosure([process.execPath]);
    const trees = await packageTrees(work, host.files);
    const { files } = await libraryClosure([process.execPath], { trees: [trees.libc, trees.cxx] });
    assert.deepEqual(await sonames(files), await sonames(host.files));
    for (const file of files) {
      assert.ok(file.tree !== undefined && file.realPath.startsWith(`${file.tree}/`), `${file.path} came from ${file.realPath}`);
      const hostFile = host.files.find((other) => basename(other.path) === basename(file.path));
      assert.deepEqual(file.neededBy.map((path) => basename(path)).sort(), hostFile?.neededBy.map((path) => basename(path)).sort());
    }
    // The absolute symlink is followed in the union (the host has the same path, which must not be used).
    const interpreter = files.find((file) => file.path === INTERPRETER);
    assert.equal(interpreter?.realPath, join(trees.libc, "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"));
    const cxx = files.find((file) => basename(file.path).startsWith("libstdc++"));
    if (cxx !== undefined && cxx.tree === trees.cxx) {
      // The host's merged /usr has it under /lib too; the tree only ships /usr/lib, which ld.so reaches next.
      assert.match(cxx.path, /^\/usr\/lib\/x86_64-linux-gnu\//);
      assert.equal(dirname(cxx.realPath), join(trees.cxx, "usr/lib/x86_64-linux-gnu"));
    }
  });

  test("lets the first tree that holds a path win", async () => {
    const work = await fresh();
    const host = await libraryClosure([process.execPath]);
    const trees = await packageTrees(work, host.files);
    const decoy = join(work, "decoy-tree");
    await mkdir(join(decoy, "lib/x86_64-linux-gnu"), { recursive: true });
    const libc = host.files.find((file) => file.path.endsWith("/libc.so.6"));
    assert.ok(libc);
    await copyFile(libc.realPath, join(decoy, libc.path));
    const treeOfLibc = async (order: string[]): Promise<string | undefined> =>
      (await libraryClosure([process.execPath], { trees: order })).files.find((file) => file.path === libc.path)?.tree;
    assert.equal(await treeOfLibc([trees.libc, decoy, trees.cxx]), trees.libc);
    assert.equal(await treeOfLibc([decoy, trees.libc, trees.cxx]), decoy);
  });

  test("falls back to the host for a library no tree holds and for $ORIGIN folders", async () => {
    const work = await fresh();
    const host = await libraryClosure([process.execPath]);
    const trees = await packageTrees(work, host.files, ["libgcc_s.so.1"]);
    const { main, lib } = await buildProgram(work, { main: ["-Wl,-rpath,$ORIGIN/lib"], greet: ["-Wl,-rpath,$ORIGIN"] });
    const { files } = await libraryClosure([main, process.execPath], { trees: [trees.libc, trees.cxx] });
    const hostLibgcc = host.files.find((file) => basename(file.path) === "libgcc_s.so.1");
    assert.ok(hostLibgcc, "node needs libgcc_s.so.1");
    const hostFiles = files.filter((file) => file.tree === undefined);
    assert.deepEqual(hostFiles.map((file) => file.path).sort(), [join(lib, "libgreet.so"), join(lib, "libhelper.so"), hostLibgcc.path].sort());
    for (const file of hostFiles) assert.equal(file.realPath, await realpath(file.path));
    assert.equal(files.find((file) => file.path.endsWith("/libc.so.6"))?.tree, trees.libc);
    assert.deepEqual(await sonames(files.filter((file) => !file.path.startsWith(lib))), await sonames(host.files));
  });

  test("rejects roots that are not x86-64 ELF binaries", async () => {
    const work = await fresh();
    const script = join(work, "start.sh");
    await writeFile(script, "#!/bin/sh\nexec node server.js\n");
    const arm = join(work, "arm-binary");
    await writeFile(arm, aarch64Header());
    await assert.rejects(
      libraryClosure([script]),
      rejection("elf-unsupported", (message) => assert.ok(message.endsWith(`not an ELF binary: ${script}`))),
    );
    await assert.rejects(
      libraryClosure([arm]),
      rejection("elf-unsupported", (message) => assert.match(message, /machine 183, not x86-64/)),
    );
  });
});
