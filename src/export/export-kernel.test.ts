import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IngotError } from "../errors.ts";
import { storeKernel } from "../image/kernel-store.ts";
import { sha256Digest, Vault } from "../vault/vault.ts";
import { exportKernel } from "./export-kernel.ts";

/** The least a vmlinux needs for kernelBlob to take it: an x86-64 ELF64 with a PVH entry note ("Xen", type 18). */
function fakeVmlinux(marker: string): Buffer {
  const header = Buffer.alloc(64);
  header.writeUInt32BE(0x7f454c46, 0);
  header[4] = 2;
  header.writeUInt16LE(62, 18);
  const note = Buffer.alloc(24);
  note.writeUInt32LE(4, 0); // namesz
  note.writeUInt32LE(4, 4); // descsz
  note.writeUInt32LE(18, 8); // XEN_ELFNOTE_PHYS32_ENTRY
  note.write("Xen\0", 12, "latin1");
  return Buffer.concat([header, note, Buffer.from(marker)]);
}

async function kernelFolder(t: test.TestContext, withBzImage: boolean): Promise<{ dir: string; vault: Vault }> {
  const dir = await mkdtemp(join(tmpdir(), "ingot-export-kernel-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, "vmlinux"), fakeVmlinux("build 1"));
  if (withBzImage) await writeFile(join(dir, "bzImage"), "MZ the EFI application of build 1");
  return { dir, vault: await Vault.open(join(dir, "vault")) };
}

const kernelOf = (dir: string) => ({ version: "0.0.0-export-test", path: join(dir, "vmlinux"), builtFrom: "linux-source-6.1 test" });

test("storing ingot's kernel keeps the bzImage beside its vmlinux, and export boots exactly that file", async (t) => {
  const { dir, vault } = await kernelFolder(t, true);
  const stored = await storeKernel(vault, kernelOf(dir));
  assert.equal(stored.efi?.digest, sha256Digest(await readFile(join(dir, "bzImage"))));
  const manifest = { name: "hello", kernel: { digest: stored.digest, size: stored.size, format: stored.format, version: stored.release, cmdline: "" } };
  // Replaced on the host afterwards: the export still uses the vault's copy of the pinned build.
  await writeFile(join(dir, "bzImage"), "MZ another build");
  assert.equal(await readFile(await exportKernel(vault, manifest), "utf8"), "MZ the EFI application of build 1");
});

test("a kernel record made before bzImages were kept gains one when the kernel is stored again", async (t) => {
  const { dir, vault } = await kernelFolder(t, false);
  const before = await storeKernel(vault, kernelOf(dir));
  assert.equal(before.efi, undefined);
  await writeFile(join(dir, "bzImage"), "MZ installed later");
  const after = await storeKernel(vault, kernelOf(dir));
  assert.equal(after.digest, before.digest);
  assert.equal(after.efi?.digest, sha256Digest("MZ installed later"));
});

test("an image whose kernel has no bzImage in the vault is refused with how to get one", async (t) => {
  const { dir, vault } = await kernelFolder(t, false);
  const stored = await storeKernel(vault, kernelOf(dir));
  const manifest = { name: "hello", kernel: { digest: stored.digest, size: stored.size, format: stored.format, version: stored.release, cmdline: "" } };
  await assert.rejects(exportKernel(vault, manifest), (error: unknown) => error instanceof IngotError && error.code === "export-kernel-missing"
    && /^Cannot export hello as the vault has no EFI image \(bzImage\) of its kernel 0\.0\.0-export-test/.test(error.message) && /kernel\/install\.sh/.test(error.hint ?? ""));
});
