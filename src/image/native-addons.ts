// The native addons (*.node) of an installed node_modules tree that the guest will load, whose shared
// libraries go into the image. Packages such as sodium-native ship prebuilt addons for every platform
// under prebuilds/ (macOS, Windows, arm64, Android, musl) and pick one at run time: the others stay in the
// image as the app's files, never loaded there, and no library is looked up for them (a Mach-O file
// has none to find, and an arm64 one would fail the build for libraries no guest needs).
import { EM_X86_64, type ElfInfo, readElf } from "./elf.ts";
import { findFiles } from "./node-deps.ts";

export interface NativeAddons {
  /** x86-64 ELF shared objects for glibc: the guest's loader can load them. */
  loadable: string[];
  /** Addons for another platform, left unread. */
  foreign: string[];
}

/**
 * @example
 * await findNativeAddons("/tmp/deps/node_modules");
 * // { loadable: [".../sodium-native/prebuilds/linux-x64/sodium-native.node"],
 * //   foreign: [".../prebuilds/darwin-arm64/sodium-native.node", ".../prebuilds/linux-x64/sodium-native.musl.node", …] }
 */
export async function findNativeAddons(dir: string): Promise<NativeAddons> {
  const addons: NativeAddons = { loadable: [], foreign: [] };
  for (const path of await findFiles(dir, (name) => name.endsWith(".node"))) {
    (loadsInGuest(await readElf(path)) ? addons.loadable : addons.foreign).push(path);
  }
  return addons;
}

/**
 * Whether a guest (x86-64, glibc) can dlopen the file: undefined is not ELF at all (Mach-O, PE). An
 * x86-64 object built for another C library names it: Android's bionic `libc.so`, FreeBSD's
 * `libc.so.7`, musl's `libc.musl-x86_64.so.1`; glibc's is `libc.so.6`.
 */
export function loadsInGuest(elf: ElfInfo | undefined): boolean {
  return elf !== undefined && elf.class === 64 && elf.machine === EM_X86_64 && elf.type === "dyn"
    && !elf.needed.some((name) => /^libc\.(so(\.\d+)?|musl-.*)$/.test(name) && name !== "libc.so.6");
}
