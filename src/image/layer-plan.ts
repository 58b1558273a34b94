// What goes into each layer of an image, computed as plain data before anything is written.
// Later layers add to the folders of earlier ones: the kernel unpacks initrd layers in order, and
// init stacks disk layers in one read-only overlay with the later ones on top.
import type { AppConfig } from "../config/app-config.ts";
import type { Compression } from "./compression.ts";
import type { Entry } from "./cpio.ts";
import { assertEntryFile } from "./entry-file.ts";

export type LayerName = "base" | "runtime" | "deps" | "app";

/**
 * How an image's layers reach the guest: "disk" (the default), each an EROFS filesystem under
 * dm-verity on a read-only virtio disk, read on demand; "initrd", compressed cpio archives the
 * kernel unpacks into memory at boot.
 */
export type LayerForm = "disk" | "initrd";

/** A disk-form layer's filesystem. The compression inside it is the guest's to undo on every read. */
export interface LayerFilesystem {
  kind: "erofs";
  compression: "none" | "lz4" | "lz4hc";
}

export interface LayerPlan {
  name: LayerName;
  /** How the stored blob is compressed: for the disk form, on the host only (it is unpacked once per layer before booting). */
  compression: Compression;
  /** Disk-form layers only. */
  filesystem?: LayerFilesystem;
  entries: Entry[];
}

/** A file the guest's loader looks up at `path`, whose bytes live at `realPath` on the host. */
export interface HostFile {
  path: string;
  realPath: string;
  size: number;
  /** Identifies the content when it is already known (the runtime's registry integrity), to skip hashing. */
  contentId?: string;
}

export interface ImageInputs {
  config: AppConfig;
  /** The static PID 1 built from init/. */
  init: HostFile;
  kernelVersion: string;
  /** Module files with their path inside the image, in load order. */
  modules: HostFile[];
  /** The runtime's own files (node and its license), empty for ELF apps. */
  runtimeFiles: HostFile[];
  /** Shared libraries the runtime (or the ELF program) needs. */
  runtimeLibraries: HostFile[];
  /** node_modules entries, already rooted at /app/node_modules. */
  dependencyEntries: Entry[];
  /** Shared libraries native addons need beyond the runtime's. */
  dependencyLibraries: HostFile[];
  /** The app's own files, rooted at /app. */
  appEntries: Entry[];
}

/** The unprivileged account the app runs as; its home is the writable /tmp. */
export const APP_USER = { name: "app", uid: 1000, gid: 1000 };

/**
 * Compression per layer, chosen by measurement (bench/compression.md). The runtime layer is stored
 * as xz, 13% smaller than zstd -19, because the guest never unpacks it: the host unpacks it, or
 * transcodes it to zstd, when it derives the boot initrd (src/vm/initrd.ts); it is compressed once
 * per runtime. Layers rebuilt often use zstd -19, which compresses their few MiB in well under a second.
 */
export const LAYER_COMPRESSION: Record<LayerName, Compression> = { base: "zstd-19", runtime: "xz", deps: "zstd-19", app: "zstd-19" };

/**
 * Disk-form layers are stored uncompressed inside: the stored blob is xz or zstd like an initrd
 * layer's (the same size to keep and ship), and the guest reads plain blocks, with no decompression
 * in an emulated CPU. Measured against lz4hc in docs/benchmarks.md.
 */
export const LAYER_FILESYSTEM: LayerFilesystem = { kind: "erofs", compression: "none" };

/**
 * @example
 * imageLayers(inputs).map((layer) => layer.name); // ["base", "runtime", "app"]
 */
export function imageLayers(inputs: ImageInputs, form: LayerForm = "disk", filesystem = LAYER_FILESYSTEM): LayerPlan[] {
  if (inputs.config.runtime.kind === "node") assertEntryFile(inputs.config.command, [...inputs.appEntries, ...inputs.dependencyEntries]);
  const layer = (name: LayerName, entries: Entry[]): LayerPlan =>
    ({ name, compression: LAYER_COMPRESSION[name], ...(form === "disk" ? { filesystem } : {}), entries });
  const layers: LayerPlan[] = [
    layer("base", baseEntries(inputs, form)),
    layer("runtime", withParents([...inputs.runtimeFiles, ...inputs.runtimeLibraries].map(hostFile))),
    layer("deps", withParents([...inputs.dependencyEntries, ...inputs.dependencyLibraries.map(hostFile)])),
    layer("app", withParents([...inputs.appEntries, ...appConfigEntries(inputs.config)])),
  ];
  return layers.filter((plan) => plan.entries.length > 0);
}

function baseEntries(inputs: ImageInputs, form: LayerForm): Entry[] {
  const text = (path: string, content: string, mode = 0o644): Entry => ({ type: "file", path, mode, source: { kind: "bytes", data: Buffer.from(content) } });
  const { name, uid, gid } = APP_USER;
  return withParents([
    ...["/dev", "/proc", "/sys", "/run"].map((path): Entry => ({ type: "dir", path, mode: 0o755 })),
    { type: "dir", path: "/tmp", mode: 0o1777 },
    // The kernel opens /dev/console for init's stdio before init can mount devtmpfs; a disk-form
    // guest's kernel mounts devtmpfs itself before init runs (DEVTMPFS_MOUNT), and its / is read-only.
    ...(form === "initrd" ? [{ type: "device", path: "/dev/console", mode: 0o600, kind: "char", major: 5, minor: 1 } satisfies Entry] : []),
    // init writes the resolver's files where the guest can write: /run, a tmpfs of root's.
    ...(form === "disk" ? [{ type: "symlink", path: "/etc/resolv.conf", target: "/run/resolv.conf" }, { type: "symlink", path: "/etc/hosts", target: "/run/hosts" }] satisfies Entry[] : []),
    { type: "file", path: "/init", mode: 0o755, source: { kind: "host", path: inputs.init.realPath, size: inputs.init.size } },
    text("/etc/passwd", `root:x:0:0:root:/root:/nonexistent\n${name}:x:${uid}:${gid}:${name}:/tmp:/nonexistent\n`),
    text("/etc/group", `root:x:0:\n${name}:x:${gid}:\n`),
    text("/etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files dns\n"),
    // A kernel without module support gets no list at all, so init says "modules: none".
    ...(inputs.modules.length > 0 ? [text("/etc/ingot/modules", inputs.modules.map((module) => `${module.path}\n`).join(""))] : []),
    ...inputs.modules.map(hostFile),
  ]);
}

/** The files init reads to start the app (see init/README.md for the format). */
function appConfigEntries(config: AppConfig): Entry[] {
  const nulList = (items: string[]): Buffer => Buffer.from(items.map((item) => `${item}\0`).join(""));
  const envList = (env: Record<string, string>): Buffer => nulList(Object.keys(env).sort().map((key) => `${key}=${env[key]}`));
  const file = (path: string, data: Buffer): Entry => ({ type: "file", path, mode: 0o644, source: { kind: "bytes", data } });
  const firstPort = Object.values(config.ports)[0];
  const baked = { INGOT_APP: config.name, ...(firstPort ? { PORT: String(firstPort) } : {}), ...config.env };
  return [
    file("/etc/ingot/command", nulList(config.command)),
    file("/etc/ingot/env", envList(baked)),
    file("/etc/ingot/user", Buffer.from(`${APP_USER.uid}:${APP_USER.gid}\n`)),
    file("/etc/ingot/workdir", Buffer.from("/app\n")),
    ...Object.keys(config.environments).sort().map((name) => file(`/etc/ingot/env.${name}`, envList(config.environments[name]!.env))),
  ];
}

function hostFile(file: HostFile): Entry {
  return { type: "file", path: file.path, mode: 0o755, source: { kind: "host", path: file.realPath, size: file.size, contentId: file.contentId } };
}

/** Sorts entries by path and adds every missing parent folder, so each folder exists before its files. */
export function withParents(entries: Entry[]): Entry[] {
  const byPath = new Map(entries.map((entry) => [entry.path, entry]));
  for (const entry of entries) {
    const parts = entry.path.split("/").filter(Boolean);
    for (let depth = 1; depth < parts.length; depth++) {
      const parent = `/${parts.slice(0, depth).join("/")}`;
      if (!byPath.has(parent)) byPath.set(parent, { type: "dir", path: parent, mode: 0o755 });
    }
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
