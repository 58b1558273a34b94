// The kernel an image boots: by default ingot's own minimal kernel (kernel/install.sh: everything
// built in, no modules), else the newest installed Debian cloud kernel plus only the modules the
// image needs, in the order modules.dep says they must load.
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { IngotError } from "../errors.ts";

/** Drivers for QEMU's virtio devices; everything else the cloud kernel needs is built in. */
export const IMAGE_MODULES = ["virtio_pci", "virtio_net", "virtio_console"];

/** Where kernel/install.sh puts ingot's kernels: one folder per release with vmlinux and config. */
export const INGOT_KERNELS = process.env.INGOT_KERNELS ?? "/usr/local/lib/ingot/kernels";

const INSTALL_HINT = "Run scripts/setup.sh (it builds ingot's kernel), or apt-get install linux-image-cloud-amd64, or pass --kernel PATH";

export interface Kernel {
  version: string;
  /** The bzImage or PVH-bootable vmlinux QEMU boots directly. */
  path: string;
  /** Where its modules are; absent for a kernel built without module support. */
  modulesDir?: string;
  /** The source package an ingot kernel was built from, e.g. "linux-source-6.1 6.1.192-2". */
  builtFrom?: string;
  /** The kernel's .config beside it, when installed. */
  configPath?: string;
}

export interface KernelPlaces {
  kernels: string;
  boot: string;
}

/**
 * Finds the kernel to boot: an explicit path or release, else the newest ingot kernel, else the
 * newest /boot/vmlinuz-*-cloud-amd64.
 *
 * @example
 * await findKernel(); // { version: "6.1.192-ingot", path: "/usr/local/lib/ingot/kernels/6.1.192-ingot/vmlinux", … }
 * await findKernel("6.1.0-56-cloud-amd64"); // { …, modulesDir: "/lib/modules/6.1.0-56-cloud-amd64" }
 */
export async function findKernel(choice?: string, places: KernelPlaces = { kernels: INGOT_KERNELS, boot: "/boot" }): Promise<Kernel> {
  if (choice) {
    const candidates = choice.includes("/") ? [choice] : [join(places.kernels, choice, "vmlinux"), join(places.boot, `vmlinuz-${choice}`)];
    for (const path of candidates) if (await isFile(path)) return describe(path);
    throw new IngotError(`Cannot use the kernel ${choice} as it does not exist: looked for ${candidates.join(", ")}`, { code: "kernel-missing", hint: INSTALL_HINT });
  }
  const own = await newest(places.kernels, /^(.+)$/, (release) => join(places.kernels, release, "vmlinux"));
  if (own) return describe(own);
  const cloud = await newest(places.boot, /^vmlinuz-(.*-cloud-amd64)$/, (release) => join(places.boot, `vmlinuz-${release}`));
  if (cloud) return describe(cloud);
  throw new IngotError(`Cannot find a kernel to boot as neither ingot's kernel (${places.kernels}) nor a Debian cloud kernel (${places.boot}) is installed`, { code: "kernel-missing", hint: INSTALL_HINT });
}

async function newest(dir: string, pattern: RegExp, pathOf: (release: string) => string): Promise<string | undefined> {
  const releases = (await readdir(dir).catch(() => []))
    .map((name) => pattern.exec(name)?.[1])
    .filter((release): release is string => release !== undefined && !release.endsWith(".tmp"))
    .sort(compareKernelVersions);
  for (const release of releases.reverse()) if (await isFile(pathOf(release))) return pathOf(release);
  return undefined;
}

/** An ingot kernel is `<release>/vmlinux` beside its `config`; a distribution kernel is `vmlinuz-<release>` beside `config-<release>`. */
async function describe(path: string): Promise<Kernel> {
  const file = basename(path);
  const own = file === "vmlinux";
  const version = own ? basename(dirname(path)) : file.replace(/^vmlinuz-/, "");
  const configPath = own ? join(dirname(path), "config") : join(dirname(path), `config-${version}`);
  const config = await readFile(configPath, "utf8").catch(() => undefined);
  const modular = !config?.includes("# CONFIG_MODULES is not set");
  const builtFrom = own ? (await readFile(join(dirname(path), "source"), "utf8").catch(() => "")).trim() : "";
  return {
    version, path, ...(modular ? { modulesDir: join("/lib/modules", version) } : {}), ...(builtFrom ? { builtFrom } : {}),
    ...(config === undefined ? {} : { configPath }),
  };
}

/**
 * The module files (relative to the modules folder) to load, dependencies first. Modules built
 * into the kernel (listed in modules.builtin) need no file and are skipped.
 */
export async function moduleLoadOrder(modulesDir: string, wanted: string[] = IMAGE_MODULES): Promise<string[]> {
  const depFile = join(modulesDir, "modules.dep");
  const text = await readFile(depFile, "utf8").catch((error: unknown) => {
    throw new IngotError(`Cannot read ${depFile} as the kernel's modules are not installed`, { code: "kernel-modules-missing", hint: INSTALL_HINT, cause: error });
  });
  const builtin = await readFile(join(modulesDir, "modules.builtin"), "utf8").catch(() => "");
  const dependencies = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const [module, rest] = line.split(":");
    if (module && rest !== undefined) dependencies.set(module, rest.trim().split(/\s+/).filter(Boolean));
  }
  const byName = new Map([...dependencies.keys()].map((path) => [moduleName(path), path]));
  const builtinNames = new Set(builtin.split("\n").filter(Boolean).map(moduleName));
  const order: string[] = [];
  const visit = (path: string): void => {
    if (order.includes(path)) return;
    for (const dependency of dependencies.get(path) ?? []) visit(dependency);
    order.push(path);
  };
  for (const name of wanted) {
    const path = byName.get(name);
    if (path) visit(path);
    else if (!builtinNames.has(name)) {
      throw new IngotError(`Cannot find the kernel module ${name} in ${depFile}`, { code: "kernel-module-missing", hint: "Use a kernel with virtio drivers, such as linux-image-cloud-amd64" });
    }
  }
  return order;
}

function moduleName(path: string): string {
  return basename(path).replace(/\.ko(\.(xz|gz|zst))?$/, "").replaceAll("-", "_");
}

function compareKernelVersions(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((info) => info.isFile(), () => false);
}
