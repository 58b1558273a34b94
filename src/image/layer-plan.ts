// What goes into each layer of an image, computed as plain data before anything is written.
// The kernel unpacks the layers in order, so a later layer can add to the folders of an earlier one.
import type { AppConfig } from "../config/app-config.ts";
import type { Compression } from "./compression.ts";
import type { Entry } from "./cpio.ts";
import { assertEntryFile } from "./entry-file.ts";

export type LayerName = "base" | "runtime" | "deps" | "app";

export interface LayerPlan {
  name: LayerName;
  compression: Compression;
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
 * @example
 * imageLayers(inputs).map((layer) => layer.name); // ["base", "runtime", "app"]
 */
export function imageLayers(inputs: ImageInputs): LayerPlan[] {
  if (inputs.config.runtime.kind === "node") assertEntryFile(inputs.config.command, [...inputs.appEntries, ...inputs.dependencyEntries]);
  const layers: LayerPlan[] = [
    { name: "base", compression: LAYER_COMPRESSION.base, entries: baseEntries(inputs) },
    { name: "runtime", compression: LAYER_COMPRESSION.runtime, entries: withParents([...inputs.runtimeFiles, ...inputs.runtimeLibraries].map(hostFile)) },
    { name: "deps", compression: LAYER_COMPRESSION.deps, entries: withParents([...inputs.dependencyEntries, ...inputs.dependencyLibraries.map(hostFile)]) },
    { name: "app", compression: LAYER_COMPRESSION.app, entries: withParents([...inputs.appEntries, ...appConfigEntries(inputs.config)]) },
  ];
  return layers.filter((layer) => layer.entries.length > 0);
}

function baseEntries(inputs: ImageInputs): Entry[] {
  const text = (path: string, content: string, mode = 0o644): Entry => ({ type: "file", path, mode, source: { kind: "bytes", data: Buffer.from(content) } });
  const { name, uid, gid } = APP_USER;
  return withParents([
    ...["/dev", "/proc", "/sys", "/run"].map((path): Entry => ({ type: "dir", path, mode: 0o755 })),
    { type: "dir", path: "/tmp", mode: 0o1777 },
    // The kernel opens /dev/console for init's stdio before init can mount devtmpfs.
    { type: "device", path: "/dev/console", mode: 0o600, kind: "char", major: 5, minor: 1 },
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
