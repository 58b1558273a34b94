// `npm run bench`: ingot's build and boot figures for the example app, side by side with a
// traditional Debian + systemd VM image of the same app (bench/traditional), in one run.
// Usage: npm run bench -- [--builds N] [--boots N] [--traditional DIR] [--no-traditional]
import { execFileSync, spawnSync } from "node:child_process";
import { appendFile, cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildImage } from "../src/image/build.ts";
import { compressors } from "../src/image/compression.ts";
import { fetchNodeRuntime, resolveNodeVersion } from "../src/image/node-runtime.ts";
import { loadAppConfig } from "../src/config/app-config.ts";
import { Vault } from "../src/vault/vault.ts";
import { bootImage } from "../src/vm/boot-image.ts";
import { freePort } from "../src/vm/free-port.ts";
import { QemuVm } from "../src/vm/qemu-vm.ts";
import { countTree, median, timeToHttp200 } from "./measure.ts";

const { values } = parseArgs({
  options: {
    builds: { type: "string", default: "5" },
    boots: { type: "string", default: "3" },
    traditional: { type: "string", default: "/var/tmp/ingot-bench-traditional" },
    "no-traditional": { type: "boolean", default: false },
  },
});
const builds = Number(values.builds);
const boots = Number(values.boots);
const log = (line: string): void => console.error(`bench: ${line}`);

const work = await mkdtemp(join(tmpdir(), "ingot-bench-"));
try {
  const vault = await Vault.open(join(work, "vault"));
  const app = join(work, "hello");
  await cp("examples/hello", app, { recursive: true });

  // "Runtime cached": the download is not part of the build time, everything else is.
  const config = await loadAppConfig(app);
  await fetchNodeRuntime(vault, await resolveNodeVersion(vault, config.runtime.kind === "node" ? config.runtime.version : undefined));
  log("cold build");
  const cold = await buildImage(app, { vault });

  log(`${builds} app-only rebuilds (in process, then through the CLI)`);
  const rebuildMs: number[] = [];
  const cliRebuildMs: number[] = [];
  for (let run = 0; run < builds; run++) {
    await appendFile(join(app, "server.js"), `// change ${run}\n`);
    rebuildMs.push((await buildImage(app, { vault })).durationMs);
    await appendFile(join(app, "server.js"), `// cli change ${run}\n`);
    const started = performance.now();
    execFileSync("bin/ingot", ["build", app, "--json"], { env: { ...process.env, INGOT_HOME: vault.root }, stdio: "pipe" });
    cliRebuildMs.push(performance.now() - started);
  }

  log("unpacking the image to count files");
  const unpacked = join(work, "unpacked");
  await mkdir(unpacked);
  for (const layer of cold.manifest.layers) {
    const decompress = compressors[layer.compression].command;
    execFileSync("sh", ["-c", `${decompress} -dc '${vault.blobPath(layer.digest)}' | cpio -idm --quiet --no-absolute-filenames`], { cwd: unpacked });
  }
  const ingotCounts = await countTree(unpacked);
  const kernelBytes = cold.manifest.kernel.size;
  // The image's initrd as stored and shipped: its layer blobs (the boot-time form is a local cache).
  const initrdBytes = cold.manifest.layers.reduce((sum, layer) => sum + layer.size, 0);

  let traditional: Record<string, unknown> | undefined;
  const bootPairs: { ingotMs: number; traditionalMs?: number }[] = [];
  if (!values["no-traditional"]) {
    const dir = values.traditional!;
    log(`traditional image in ${dir} (built once by bench/traditional/build.sh)`);
    const build = spawnSync("bash", ["bench/traditional/build.sh", dir], { stdio: ["ignore", "ignore", "inherit"] });
    if (build.status !== 0) throw new Error("bench/traditional/build.sh failed");
    const sizes = JSON.parse(execFileSync("bash", ["bench/traditional/measure.sh", dir], { env: { ...process.env, RUNS: "0" } }).toString()) as Record<string, unknown>;
    traditional = sizes;
  }

  log(`${boots} boots of each, interleaved, to first HTTP 200 on /health`);
  for (let run = 0; run < boots; run++) {
    const instance = await bootImage(vault, cold.digest, cold.manifest, { memoryMiB: 512, cpus: 1 });
    const ingotMs = await timeToHttp200(instance.vm, `http://127.0.0.1:${instance.forwards[0]!.hostPort}/health`);
    instance.vm.kill();
    await instance.vm.exited;
    await instance.dispose();
    let traditionalMs: number | undefined;
    if (traditional) {
      const dir = values.traditional!;
      const hostPort = await freePort();
      const vm = QemuVm.start({
        kernel: join(dir, "vmlinuz"), initrd: join(dir, "initrd.img"), cmdline: "root=/dev/vda rw console=ttyS0 quiet",
        cpus: 1, memoryMiB: 512, forwards: [{ hostPort, guestPort: 8080 }], accelerator: "tcg",
        disk: join(dir, "rootfs.ext4"),
      });
      traditionalMs = await timeToHttp200(vm, `http://127.0.0.1:${hostPort}/health`);
      vm.kill();
      await vm.exited;
    }
    bootPairs.push({ ingotMs, traditionalMs });
    log(`boot ${run + 1}: ingot ${(ingotMs / 1000).toFixed(1)} s${traditionalMs ? `, traditional ${(traditionalMs / 1000).toFixed(1)} s` : ""}`);
  }

  const ingotBoot = median(bootPairs.map((pair) => pair.ingotMs));
  const traditionalBoot = traditional ? median(bootPairs.map((pair) => pair.traditionalMs!)) : undefined;
  const result = {
    command: `npm run bench -- --builds ${builds} --boots ${boots}`,
    machine: `${execFileSync("nproc").toString().trim()} cores, ${process.platform}, accelerator ${bootPairs.length ? "tcg" : "-"}`,
    ingot: {
      runtime: cold.runtime,
      coldBuildMs: Math.round(cold.durationMs),
      appOnlyRebuildMs: Math.round(median(rebuildMs)),
      appOnlyRebuildCliMs: Math.round(median(cliRebuildMs)),
      layers: cold.layers.map(({ name, size, uncompressedSize, compression }) => ({ name, size, uncompressedSize, compression })),
      kernelBytes, initrdBytes, totalBytes: kernelBytes + initrdBytes,
      counts: ingotCounts,
      bootToHttp200Ms: Math.round(ingotBoot),
    },
    traditional: traditional && { ...traditional, bootToHttp200Ms: Math.round(traditionalBoot!) },
    ratios: traditional && {
      bootIngotOverTraditional: Number((ingotBoot / traditionalBoot!).toFixed(3)),
      sizeTraditionalXzOverIngot: Number(((traditional.xzBytes as number) / (kernelBytes + initrdBytes)).toFixed(2)),
    },
  };
  console.log(JSON.stringify(result, null, 2));
  await mkdir("bench/results", { recursive: true });
  await writeFile("bench/results/latest.json", JSON.stringify(result, null, 2) + "\n");
} finally {
  await rm(work, { recursive: true, force: true });
}
