import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFile, mkdir, readFile, realpath, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { tempDir } from "../../test/helpers.ts";
import { EM_X86_64, type ElfInfo } from "./elf.ts";
import { findNativeAddons, loadsInGuest } from "./native-addons.ts";

// zlib's shared object: an x86-64 glibc ELF every Debian host has, standing in for a prebuilt addon.
const SHARED_OBJECT = "/lib/x86_64-linux-gnu/libz.so.1";
const EM_AARCH64 = 183;

test("prebuilt addons for other platforms are found but not loaded: only x86-64 glibc ELF objects are", async (t) => {
  const dir = await tempDir("ingot-addons-");
  t.after(dir.remove);
  const prebuilt = (platform: string): string => join(dir.path, "sodium-native", "prebuilds", platform, "sodium-native.node");
  const write = async (platform: string, bytes: Buffer): Promise<void> => {
    await mkdir(dirname(prebuilt(platform)), { recursive: true });
    await writeFile(prebuilt(platform), bytes);
  };
  await mkdir(dirname(prebuilt("linux-x64")), { recursive: true });
  await copyFile(await realpath(SHARED_OBJECT), prebuilt("linux-x64"));
  const arm64 = await readFile(prebuilt("linux-x64"));
  arm64.writeUInt16LE(EM_AARCH64, 18); // e_machine
  await write("linux-arm64", arm64);
  await write("darwin-x64", Buffer.concat([Buffer.from([0xcf, 0xfa, 0xed, 0xfe]), Buffer.alloc(60)])); // Mach-O 64
  await write("win32-x64", Buffer.concat([Buffer.from("MZ"), Buffer.alloc(62)])); // PE
  assert.deepEqual(await findNativeAddons(dir.path), {
    loadable: [prebuilt("linux-x64")],
    foreign: [prebuilt("darwin-x64"), prebuilt("linux-arm64"), prebuilt("win32-x64")],
  });
});

// The DT_NEEDED lists of sodium-native 5.1's linux-x64 and android-x64 prebuilds, and musl's and FreeBSD's libc.
test("an x86-64 addon for another C library (Android, musl, FreeBSD) is not loadable in a glibc guest; a 32-bit or relocatable one neither", () => {
  const glibc: ElfInfo = { class: 64, machine: EM_X86_64, type: "dyn", needed: ["libstdc++.so.6", "libm.so.6", "libgcc_s.so.1", "libc.so.6", "ld-linux-x86-64.so.2"], runpath: [], rpath: [] };
  assert.equal(loadsInGuest(glibc), true);
  assert.equal(loadsInGuest({ ...glibc, needed: [] }), true, "one that needs no library at all");
  assert.equal(loadsInGuest({ ...glibc, needed: ["libm.so", "libc++_shared.so", "libdl.so", "libc.so"] }), false);
  assert.equal(loadsInGuest({ ...glibc, needed: ["libc.musl-x86_64.so.1"] }), false);
  assert.equal(loadsInGuest({ ...glibc, needed: ["libc.so.7"] }), false);
  assert.equal(loadsInGuest({ ...glibc, class: 32 }), false);
  assert.equal(loadsInGuest({ ...glibc, type: "rel" }), false);
  assert.equal(loadsInGuest(undefined), false);
});
