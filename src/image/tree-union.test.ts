import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { TreeUnion } from "./tree-union.ts";

describe("TreeUnion", () => {
  let directory: string;
  let first: string;
  let second: string;
  const file = async (tree: string, path: string, text = path): Promise<void> => {
    await mkdir(dirname(join(tree, path)), { recursive: true });
    await writeFile(join(tree, path), text);
  };
  const link = async (tree: string, path: string, target: string): Promise<void> => {
    await mkdir(dirname(join(tree, path)), { recursive: true });
    await symlink(target, join(tree, path));
  };

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), "ingot-union-"));
    first = join(directory, "first");
    second = join(directory, "second");
    await file(first, "/lib/x86_64-linux-gnu/libc.so.6", "first libc");
    await file(second, "/lib/x86_64-linux-gnu/libc.so.6", "second libc");
    await file(second, "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30");
    await link(second, "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "libstdc++.so.6.0.30");
    await link(first, "/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
    await file(second, "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
    await link(first, "/lib/loop-a", "loop-b");
    await link(first, "/lib/loop-b", "loop-a");
    await link(first, "/lib/up", "../../../../../../../../etc/hostname");
    // A folder that is an absolute symlink: the host would follow it to its own /etc.
    await link(second, "/hostetc", "/etc");
    await link(first, "/lib/folder", "/usr/lib/x86_64-linux-gnu");
  });
  after(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  test("lets the first tree that holds a path win, and merges folders", async () => {
    const union = new TreeUnion([first, second]);
    assert.deepEqual(await union.file("/lib/x86_64-linux-gnu/libc.so.6"), { realPath: join(first, "lib/x86_64-linux-gnu/libc.so.6"), tree: first });
    assert.equal((await new TreeUnion([second, first]).file("/lib/x86_64-linux-gnu/libc.so.6"))?.tree, second);
    assert.equal((await union.file("/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30"))?.tree, second);
  });

  test("follows relative symlinks from their folder and absolute ones from the union's root, across trees", async () => {
    const union = new TreeUnion([first, second]);
    assert.deepEqual(await union.file("/usr/lib/x86_64-linux-gnu/libstdc++.so.6"), {
      realPath: join(second, "usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30"), tree: second,
    });
    assert.deepEqual(await union.file("/lib64/ld-linux-x86-64.so.2"), {
      realPath: join(second, "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"), tree: second,
    });
    assert.equal((await union.file("/lib/folder/libstdc++.so.6"))?.realPath, join(second, "usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30"));
  });

  test("never reaches the host's files, and gives up on symlink loops", async () => {
    const union = new TreeUnion([first, second]);
    assert.equal(await union.file("/lib/up"), undefined);
    assert.equal(await union.file("/hostetc/hostname"), undefined);
    assert.equal(await union.file("/lib/loop-a"), undefined);
    assert.equal(await union.file("/lib/x86_64-linux-gnu"), undefined, "a folder is not a file");
    assert.equal(await union.file("/lib/x86_64-linux-gnu/libc.so.6/more"), undefined);
    await file(second, "/etc/hostname", "the guest's");
    assert.equal((await new TreeUnion([first, second]).file("/lib/up"))?.realPath, join(second, "etc/hostname"));
  });
});
