import assert from "node:assert/strict";
import { copyFile, lstat, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { IngotError } from "../errors.ts";
import { exists, fileSha256Hex, Vault } from "../vault/vault.ts";
import { archivePackage, fetchDeb, pinPackage, unpackedDeb, type PinnedPackage } from "./debian-archive.ts";
import { debianPackages } from "./debian-packages.ts";
import { readElf } from "./elf.ts";
import { libraryClosure } from "./library-closure.ts";

// These tests talk to the real archive through apt. A CI machine without apt must fail them, not pass by skipping.
const hasApt = await exists("/usr/bin/apt-get");
const skip = process.env.CI !== "true" && !hasApt ? "apt is not installed (Debian hosts only)" : false;
const LIBGCC = "/lib/x86_64-linux-gnu/libgcc_s.so.1";
// No archive serves a version with this suffix.
const UNSERVED_VERSION = "0.0-0ingot1";

function rejection(code: string, check: (error: IngotError) => void = () => {}) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof IngotError, String(error));
    assert.equal(error.code, code, error.message);
    assert.ok(error.hint);
    check(error);
    return true;
  };
}

const offline = async (): Promise<string> => {
  throw new Error("the test expected no download");
};

describe("debian archive", { skip }, () => {
  let directory: string;
  let emptyAptCache: string;
  let pinned: PinnedPackage;
  let count = 0;
  const freshVault = async (): Promise<Vault> => Vault.open(join(directory, `vault-${++count}`));
  const vaultLeftovers = async (vault: Vault): Promise<string[]> => {
    const folders = ["blobs/sha256", "tmp", "cache"].map((folder) => join(vault.root, folder));
    return (await Promise.all(folders.map((folder) => readdir(folder)))).flat();
  };

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), "ingot-debs-"));
    emptyAptCache = join(directory, "apt-cache");
    await mkdir(emptyAptCache);
    const installed = (await debianPackages([LIBGCC])).get(LIBGCC);
    assert.ok(installed, `dpkg names no package for ${LIBGCC}`);
    pinned = await pinPackage(installed);
  });
  after(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  test("pins the installed libgcc-s1 to a version the archive serves, by its .deb's sha256", async () => {
    assert.equal(pinned.name, "libgcc-s1");
    assert.equal(pinned.architecture, "amd64");
    assert.match(pinned.sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(await archivePackage(pinned.name, pinned.version, pinned.architecture), pinned);
  });

  test("downloads the .deb with apt once, verified, and unpacks it once", async () => {
    const vault = await freshVault();
    const blob = await fetchDeb(vault, pinned, { aptCacheDirectory: emptyAptCache });
    assert.equal(blob, vault.blobPath(`sha256:${pinned.sha256}`));
    assert.equal(await fileSha256Hex(blob), pinned.sha256);
    assert.deepEqual(await readdir(join(vault.root, "tmp")), []);
    assert.equal(await fetchDeb(vault, pinned, { aptCacheDirectory: emptyAptCache, download: offline }), blob);

    const tree = await unpackedDeb(vault, pinned, { download: offline });
    assert.equal(tree, join(vault.root, "cache", "debs", pinned.sha256));
    const library = join(tree, "lib", "x86_64-linux-gnu", "libgcc_s.so.1");
    assert.ok((await lstat(library)).isFile());
    assert.equal((await readElf(library))?.soname, "libgcc_s.so.1");
    // Once unpacked, the tree is all a build needs: not even the .deb is read again.
    await rm(blob);
    assert.equal(await unpackedDeb(vault, pinned, { download: offline }), tree);
  });

  test("takes the .deb from apt's cache when its bytes match, and skips one whose bytes do not", async () => {
    const source = await fetchDeb(await freshVault(), pinned, { aptCacheDirectory: emptyAptCache });
    const aptCache = join(directory, "apt-cache-filled");
    await mkdir(aptCache);
    const cachedName = `${pinned.name}_${pinned.version.replace(/:/g, "%3a")}_${pinned.architecture}.deb`;
    await copyFile(source, join(aptCache, cachedName));
    const fromCache = await freshVault();
    assert.equal(await fileSha256Hex(await fetchDeb(fromCache, pinned, { aptCacheDirectory: aptCache, download: offline })), pinned.sha256);

    await writeFile(join(aptCache, cachedName), "other bytes");
    const downloads: string[] = [];
    const mirror = async (wanted: PinnedPackage, into: string): Promise<string> => {
      downloads.push(wanted.name);
      await copyFile(source, join(into, "mirror.deb"));
      return join(into, "mirror.deb");
    };
    const fromMirror = await freshVault();
    assert.equal(await fileSha256Hex(await fetchDeb(fromMirror, pinned, { aptCacheDirectory: aptCache, download: mirror })), pinned.sha256);
    assert.deepEqual(downloads, ["libgcc-s1"]);
  });

  test("refuses a .deb whose sha256 is not the locked one, and keeps nothing", async () => {
    const vault = await freshVault();
    const wrong = { ...pinned, sha256: "0".repeat(64) };
    const actual = pinned.sha256;
    const check = (error: IngotError): void => {
      assert.ok(error.message.includes(`libgcc-s1:amd64=${pinned.version}`), error.message);
      assert.ok(error.message.includes(actual) && error.message.includes(wrong.sha256), error.message);
    };
    await assert.rejects(fetchDeb(vault, wrong, { aptCacheDirectory: emptyAptCache }), rejection("package-digest-mismatch", check));
    await assert.rejects(unpackedDeb(vault, wrong, { aptCacheDirectory: emptyAptCache }), rejection("package-digest-mismatch", check));
    assert.deepEqual(await vaultLeftovers(vault), ["debs"]);
    assert.deepEqual(await readdir(join(vault.root, "cache", "debs")), []);
  });

  test("refuses a locked version no archive serves and the vault lacks, with the hint to re-pin", async () => {
    const gone = { ...pinned, version: UNSERVED_VERSION };
    assert.equal(await archivePackage(gone.name, gone.version, gone.architecture), undefined);
    const vault = await freshVault();
    await assert.rejects(
      fetchDeb(vault, gone, { aptCacheDirectory: emptyAptCache }),
      rejection("package-not-served", (error) => {
        assert.ok(error.message.endsWith(`libgcc-s1:amd64=${UNSERVED_VERSION}`), error.message);
        assert.match(error.hint ?? "", /ingot lock --update/);
      }),
    );
    assert.deepEqual(await vaultLeftovers(vault), []);
  });

  test("pins apt's candidate when the archive no longer serves the installed version", async () => {
    const repinned = await pinPackage({ package: "libgcc-s1", version: UNSERVED_VERSION, architecture: "amd64" });
    assert.notEqual(repinned.version, UNSERVED_VERSION);
    assert.deepEqual(await archivePackage(repinned.name, repinned.version, "amd64"), repinned);
  });

  test("node's libraries resolve into the trees of the packages that ship them on the host", async () => {
    const host = await libraryClosure([process.execPath]);
    const owners = await debianPackages(host.files.map((file) => file.path));
    assert.equal(owners.size, host.files.length, "every library of node belongs to a package");
    const installed = new Map([...owners.values()].map((entry) => [`${entry.package}:${entry.architecture}`, entry]));
    const vault = await freshVault();
    const trees = await Promise.all([...installed.values()].map(async (entry) => unpackedDeb(vault, await pinPackage(entry))));
    const { files } = await libraryClosure([process.execPath], { trees });
    const sonames = (list: typeof files): string[] => list.map((file) => basename(file.path)).sort();
    assert.deepEqual(sonames(files), sonames(host.files));
    for (const file of files) assert.ok(file.tree !== undefined && file.realPath.startsWith(`${file.tree}/`), `${file.path} came from ${file.realPath}`);
  });

  test("refuses to pin a package no archive serves, with the hint to update apt's lists", async () => {
    await assert.rejects(
      pinPackage({ package: "ingot-no-such-package", version: "1.0" }),
      rejection("package-unavailable", (error) => {
        assert.ok(error.message.endsWith("ingot-no-such-package:amd64=1.0"), error.message);
        assert.match(error.hint ?? "", /apt-get update/);
      }),
    );
  });
});
