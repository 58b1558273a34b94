// The kernel an image boots: by default the newest installed Debian cloud kernel, plus only the
// modules the image needs, in the order modules.dep says they must load.
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { IngotError } from "../errors.ts";

/** Drivers for QEMU's virtio devices; everything else the cloud kernel needs is built in. */
export const IMAGE_MODULES = ["virtio_pci", "virtio_net", "virtio_console"];

const INSTALL_HINT = "Install one: apt-get install linux-image-cloud-amd64 (or pass --kernel /boot/vmlinuz-VERSION)";

export interface Kernel {
  version: string;
  /** The bzImage QEMU boots directly. */
  path: string;
  modulesDir: string;
}

/**
 * Finds the kernel to boot: an explicit path or version, else the newest /boot/vmlinuz-*-cloud-amd64.
 *
 * @example
 * await findKernel(); // { version: "6.1.0-56-cloud-amd64", path: "/boot/vmlinuz-6.1.0-56-cloud-amd64", … }
 */
export async function findKernel(choice?: string, bootDir = "/boot"): Promise<Kernel> {
  if (choice) {
    const path = choice.includes("/") ? choice : join(bootDir, `vmlinuz-${choice}`);
    const version = basename(path).replace(/^vmlinuz-/, "");
    if (!(await isFile(path))) throw new IngotError(`Cannot use the kernel ${path} as it does not exist`, { code: "kernel-missing", hint: INSTALL_HINT });
    return { version, path, modulesDir: join("/lib/modules", version) };
  }
  const installed = (await readdir(bootDir).catch(() => []))
    .filter((name) => /^vmlinuz-.*-cloud-amd64$/.test(name))
    .map((name) => name.slice("vmlinuz-".length))
    .sort(compareKernelVersions);
  const version = installed.at(-1);
  if (!version) throw new IngotError(`Cannot find a kernel to boot as no Debian cloud kernel is installed in ${bootDir}`, { code: "kernel-missing", hint: INSTALL_HINT });
  return { version, path: join(bootDir, `vmlinuz-${version}`), modulesDir: join("/lib/modules", version) };
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
