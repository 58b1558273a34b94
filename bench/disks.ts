// `npm run bench:disks`: examples/hello with its layers as verified EROFS disks (read on demand)
// against the initrd form (unpacked into memory), side by side in one run: image size, boot to
// healthy (median, interleaved), the smallest memory that serves /health, and the guest's memory in
// use after boot (bench/apps/proc-report). Disks with lz4hc inside are measured too.
// Usage: npm run bench:disks -- [--boots N] [--vault DIR] [--skip-floor]
import { appendFile, cp, mkdtemp, rm } from "node:fs/promises";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { buildImage, type BuildOptions, type BuildResult } from "../src/image/build.ts";
import { Vault } from "../src/vault/vault.ts";
import { bootImage } from "../src/vm/boot-image.ts";
import { guestLayers } from "../src/vm/guest-layers.ts";
import { isDiskImage } from "../src/vm/layer-disks.ts";
import { minimumMemoryMiB } from "../src/vm/initrd.ts";
import { kernelFile } from "../src/vm/kernel-file.ts";
import { bootToHealthy, median, memoryFloor, saveResult, timeToHttp200 } from "./measure.ts";

const { values } = parseArgs({
  options: {
    boots: { type: "string", default: "5" },
    vault: { type: "string", default: join(tmpdir(), "ingot-bench-vault") },
    "skip-floor": { type: "boolean", default: false },
  },
});
const boots = Number(values.boots);
const log = (line: string): void => console.error(`bench: ${line}`);

/** The forms compared, as data: build options for each. */
const FORMS: Record<string, BuildOptions> = {
  "initrd (today's form)": { form: "initrd" },
  "disk, EROFS uncompressed (default)": { form: "disk" },
  "disk, EROFS lz4hc": { form: "disk", filesystem: { kind: "erofs", compression: "lz4hc" } },
};

/** ms to /health 200 at `memoryMiB`, or undefined when it never answered. */
async function bootAt(vault: Vault, image: BuildResult, memoryMiB: number, timeoutMs = 120_000): Promise<number | undefined> {
  const layers = await guestLayers(vault, image.digest, image.manifest, memoryMiB);
  const booted = await bootToHealthy({ kernel: await kernelFile(vault, image.manifest.kernel), ...layers, cmdline: `${image.manifest.kernel.cmdline} ${layers.cmdline}`, memoryMiB }, timeoutMs);
  return booted?.healthyMs;
}

/** The smallest memory (8 MiB steps) that serves; the initrd form's is known (200 MiB, bench:instances), so only disk forms are searched. */
async function floorOf(vault: Vault, name: string, image: BuildResult): Promise<{ serves: number; fails: number }> {
  return memoryFloor(32, 256, async (memoryMiB) => {
    const serves = (await bootAt(vault, image, memoryMiB, 60_000)) !== undefined;
    log(`${name} at ${memoryMiB} MiB: ${serves ? "serves" : "fails"}`);
    return serves;
  });
}

/** The guest's memory after boot, from bench/apps/proc-report's own /proc/meminfo. */
async function guestMemory(vault: Vault, image: BuildResult): Promise<{ usedMiB: number; totalMiB: number }> {
  const instance = await bootImage(vault, image.digest, image.manifest, { memoryMiB: 256, cpus: 1 });
  try {
    const url = `http://127.0.0.1:${instance.forwards[0]!.hostPort}`;
    await timeToHttp200(instance.vm, `${url}/health`, 180_000);
    const { memoryKiB } = await (await fetch(`${url}/`)).json() as { memoryKiB: { total: number; used: number } };
    return { usedMiB: Math.round(memoryKiB.used / 1024), totalMiB: Math.round(memoryKiB.total / 1024) };
  } finally {
    instance.vm.kill();
    await instance.vm.exited.catch(() => {});
    await instance.dispose();
  }
}

const vault = await Vault.open(values.vault);
const command = `npm run bench:disks -- --boots ${boots}${values["skip-floor"] ? " --skip-floor" : ""}`;
const built = new Map<string, { hello: BuildResult; report: BuildResult; rebuildMs: number }>();
const copy = await mkdtemp(join(tmpdir(), "ingot-bench-disks-"));
try {
  await cp("examples/hello", copy, { recursive: true });
  for (const [name, options] of Object.entries(FORMS)) {
    log(`building examples/hello and bench/apps/proc-report: ${name}`);
    const hello = await buildImage("examples/hello", { vault, ...options });
    // An app-only rebuild: a copy of the app, built, changed in one file, built again.
    await buildImage(copy, { vault, ...options });
    await appendFile(join(copy, "server.js"), `// ${name} ${Date.now()}\n`);
    const started = performance.now();
    await buildImage(copy, { vault, ...options });
    built.set(name, { hello, report: await buildImage("bench/apps/proc-report", { vault, ...options }), rebuildMs: performance.now() - started });
  }
} finally {
  await rm(copy, { recursive: true, force: true });
}

const healthy = new Map<string, number[]>([...built.keys()].map((name) => [name, []]));
for (let round = 0; round < boots; round++) {
  for (const [name, { hello }] of built) {
    const ms = await bootAt(vault, hello, hello.manifest.resources.memoryMiB);
    if (ms !== undefined) healthy.get(name)!.push(ms);
    log(`round ${round + 1} ${name}: ${ms === undefined ? "failed" : `${(ms / 1000).toFixed(2)} s`}`);
  }
}

const forms: Record<string, unknown> = {};
for (const [name, { hello, report, rebuildMs }] of built) {
  const layers = hello.manifest.layers;
  forms[name] = {
    imageBytes: hello.manifest.kernel.size + layers.reduce((sum, layer) => sum + layer.size, 0),
    unpackedBytes: layers.reduce((sum, layer) => sum + layer.uncompressedSize, 0),
    layers: Object.fromEntries(layers.map((layer) => [layer.name, { size: layer.size, unpacked: layer.uncompressedSize }])),
    appOnlyRebuildMs: Math.round(rebuildMs),
    healthyMs: Math.round(median(healthy.get(name)!)), boots: healthy.get(name)!.length,
    ingotRefusesBelowMiB: minimumMemoryMiB(hello.manifest),
    guestMemoryAfterBoot: await guestMemory(vault, report),
    ...(values["skip-floor"] || !isDiskImage(hello.manifest) ? {} : { smallestMemoryMiB: await floorOf(vault, name, hello) }),
  };
}
await saveResult("disks", { command, machine: "software emulation (TCG)", kernel: built.values().next().value!.hello.manifest.kernel.version, forms });
