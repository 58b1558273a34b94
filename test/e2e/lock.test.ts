// End to end: ingot.lock pins every input, so the same lock gives the same image in another vault,
// from another folder, whatever the host has installed; --locked refuses any drift.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cp, readdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { buildImage } from "../../src/image/build.ts";
import type { Sbom } from "../../src/image/sbom.ts";
import { LOCK_FILE, type LockFile, readLock } from "../../src/lock/lock-file.ts";
import { Vault } from "../../src/vault/vault.ts";
import { copyOfExample, sharedTestVault, tempDir } from "../helpers.ts";

let vault: Vault;
before(async () => {
  vault = await sharedTestVault();
});

async function writeLockJson(dir: string, lock: LockFile): Promise<void> {
  await writeFile(join(dir, LOCK_FILE), `${JSON.stringify(lock, null, 2)}\n`);
}

/** Another build of a locked package: the same files under another version, so another .deb (as a newer or older libgcc-s1 on another machine). */
async function repackedDeb(original: string, work: string, version: string): Promise<string> {
  const tree = join(work, "tree");
  execFileSync("dpkg-deb", ["-R", original, tree]);
  const control = join(tree, "DEBIAN", "control");
  await writeFile(control, (await readFile(control, "utf8")).replace(/^Version: .*$/m, `Version: ${version}`));
  const deb = join(work, "repacked.deb");
  execFileSync("dpkg-deb", ["--root-owner-group", "-Zxz", "-b", tree, deb], { env: { ...process.env, SOURCE_DATE_EPOCH: "0" } });
  return deb;
}

test("the first build writes ingot.lock pinning node, the kernel, init and node's Debian packages; the SBOM lists them; later builds need no registry", async (t) => {
  const first = await copyOfExample(new Date("2001-01-01T00:00:00Z"));
  const second = await copyOfExample(new Date("2024-06-15T12:34:56Z"));
  t.after(async () => { await first.remove(); await second.remove(); });

  const a = await buildImage(first.path, { vault });
  assert.deepEqual(a.lockChanges, ["no ingot.lock yet"]);
  const lock = (await readLock(first.path))!;
  assert.ok(lock.node && /^22\./.test(lock.node.version), "examples/hello asks for node@22");
  assert.deepEqual(lock.packages.map((item) => item.name).sort(), ["libc6", "libgcc-s1", "libstdc++6"], "node's libraries come from Debian packages");
  assert.match(lock.kernel.source, /^linux-source-/);
  assert.deepEqual((await buildImage(first.path, { vault })).lockChanges, [], "a second build leaves the lock alone");
  const sbom = await vault.readJson<Sbom>(a.manifest.sbom);
  for (const pinned of lock.packages) {
    assert.ok(sbom.components.some((component) => component.name === pinned.name && component.hashes?.[0]?.content === pinned.sha256), `the SBOM lists ${pinned.name} by its .deb's sha256`);
  }
  const node = sbom.components.find((component) => component.name === "node");
  assert.equal(node?.hashes?.[0]?.content, lock.node!.digest.slice(7), "node by its tarball's sha256");
  assert.match(node?.pedigree?.notes ?? "", /without the symbol table/, "the SBOM says the image's node is stripped");

  // Every locked input is in the vault now: another folder with the lock builds with the registry unreachable.
  await writeFile(join(second.path, LOCK_FILE), await readFile(join(first.path, LOCK_FILE)));
  const saved = process.env.npm_config_registry;
  process.env.npm_config_registry = "http://127.0.0.1:9"; // nothing listens on the discard port
  try {
    assert.equal((await buildImage(second.path, { vault, locked: true })).digest, a.digest);
  } finally {
    if (saved === undefined) delete process.env.npm_config_registry;
    else process.env.npm_config_registry = saved;
  }
});

test("another version of a locked package gives another image: the lock, not the host, decides the libraries", async (t) => {
  const app = await copyOfExample(new Date());
  const work = await tempDir("ingot-lock-deb-");
  t.after(async () => { await app.remove(); await work.remove(); });
  await buildImage(app.path, { vault });
  const lock = (await readLock(app.path))!;
  const libgcc = lock.packages.find((item) => item.name === "libgcc-s1")!;
  const repacked = await repackedDeb(vault.blobPath(`sha256:${libgcc.sha256}`), work.path, `${libgcc.version}+ingottest1`);
  const stored = await vault.putFile(repacked);
  await writeLockJson(app.path, { ...lock, packages: lock.packages.map((item) => item === libgcc ? { ...item, version: `${item.version}+ingottest1`, sha256: stored.digest.slice(7) } : item) });
  const other = await buildImage(app.path, { vault, locked: true });
  const sbom = await vault.readJson<Sbom>(other.manifest.sbom);
  assert.ok(sbom.components.some((component) => component.name === "libgcc_s.so.1" && component.version === `${libgcc.version}+ingottest1`), "the library is recorded from the locked package");
});

test("--locked refuses a lock that names other inputs, naming each; a lock naming a .deb no archive serves is refused with a hint", async (t) => {
  const app = await copyOfExample(new Date());
  t.after(app.remove);
  await buildImage(app.path, { vault });
  const lock = (await readLock(app.path))!;
  await writeLockJson(app.path, { ...lock, node: { ...lock.node!, version: "20.0.0" }, init: { digest: `sha256:${"0".repeat(64)}` } });
  const before = await vault.tags();
  await assert.rejects(buildImage(app.path, { vault, locked: true }), (error: Error & { code?: string; hint?: string }) =>
    error.code === "lock-drift" && /node: 20\.0\.0 → 22\./.test(error.message) && /init: sha256:0000/.test(error.message) && /ingot lock/.test(error.hint ?? ""));
  assert.deepEqual(await vault.tags(), before, "nothing tagged");

  await writeLockJson(app.path, { ...lock, packages: lock.packages.map((item) => item.name === "libgcc-s1" ? { ...item, version: "0.0-ingot-gone", sha256: "0".repeat(64) } : item) });
  await assert.rejects(buildImage(app.path, { vault }), (error: Error & { code?: string; hint?: string }) =>
    /libgcc-s1/.test(error.message) && /0\.0-ingot-gone/.test(error.message) && /lock --update/.test(error.hint ?? ""));
});

test("the example's committed ingot.lock builds with --locked, as CI runs it", async (t) => {
  const app = await tempDir("ingot-hello-locked-");
  t.after(app.remove);
  await cp("examples/hello", app.path, { recursive: true });
  // The committed lock, not the checkout's file: other tests build examples/hello and may have re-pinned it.
  const committed = execFileSync("git", ["show", `HEAD:examples/hello/${LOCK_FILE}`]);
  await writeFile(join(app.path, LOCK_FILE), committed);
  const built = await buildImage(app.path, { vault, locked: true });
  assert.deepEqual(built.lockChanges, []);
  assert.deepEqual(await readFile(join(app.path, LOCK_FILE)), committed, "--locked never writes the lock");
});

test("a lock that is not valid is refused naming the entry, before anything is written to the vault", async (t) => {
  const app = await copyOfExample(new Date());
  const emptyVault = await tempDir("ingot-lock-invalid-vault-");
  t.after(async () => { await app.remove(); await emptyVault.remove(); });
  const lock = JSON.parse(await readFile(join("examples/hello", LOCK_FILE), "utf8")) as LockFile;
  await writeLockJson(app.path, { ...lock, packages: [{ ...lock.packages[0]!, sha256: "not-a-digest" }], extra: true } as LockFile);
  const fresh = await Vault.open(emptyVault.path);
  await assert.rejects(buildImage(app.path, { vault: fresh }), (error: Error & { code?: string }) =>
    error.code === "lock-invalid" && /packages\[0\]\.sha256/.test(error.message) && /extra: is not a key/.test(error.message));
  assert.deepEqual(await readdir(join(fresh.root, "blobs", "sha256")), [], "no blob written");
});

test("no host path, host name or build time reaches an image", async (t) => {
  const app = await copyOfExample(new Date());
  t.after(app.remove);
  const built = await buildImage(app.path, { vault });
  const now = new Date();
  // The app's and the vault's folders lie under the temp folder, so they stand for it ("/tmp" alone is the guest's /tmp).
  const forbidden = [process.cwd(), vault.root, app.path, now.toISOString().slice(0, 10), String(Math.floor(now.getTime() / 1000)).slice(0, 6)];
  // A two-letter host name ("vm") would match by chance; longer ones must not appear.
  if (hostname().length > 3) forbidden.push(hostname());
  const documents: [string, Buffer][] = [
    ["manifest", await vault.readBlob(built.digest)],
    ["sbom", await vault.readBlob(built.manifest.sbom)],
    ...(await Promise.all(built.manifest.layers.map(async (layer): Promise<[string, Buffer]> => [`${layer.name} file list`, await vault.readBlob(layer.files)]))),
    // The runtime layer is the registry's node binary, pinned by digest: its own build date is not ours.
    ...built.manifest.layers.filter((layer) => layer.name !== "runtime").map((layer): [string, Buffer] =>
      [`layer ${layer.name}`, execFileSync(layer.compression === "xz" ? "xz" : "zstd", ["-dc", vault.blobPath(layer.digest)], { maxBuffer: 256 * 1024 * 1024 })]),
  ];
  for (const [name, bytes] of documents) {
    for (const text of forbidden) assert.equal(bytes.includes(text), false, `${name} holds ${JSON.stringify(text)}`);
  }
  const attestations = await vault.attestations(built.digest);
  assert.ok(attestations.length > 0, "provenance is filed beside the image");
});
