// Layer compression benchmark: per candidate compressor, a layer's size, the host's time to compress it
// and, for the runtime layer, the boot time to init under QEMU without KVM (TCG), where the kernel unpacks it.
//
//   node --import tsx bench/compression.ts [VAULT] [NAME:VERSION] [--boots 3] [--work DIR] [--only none,zstd-19] [--fresh] [--runtime-last]
//
// --runtime-last boots base + app + runtime instead of ingot's order, for a format the kernel can only
// unpack as the last archive of an initrd (lz4's legacy frames have no end marker).
//
// VAULT defaults to /tmp/ih and NAME:VERSION to hello:1.0.0. Compressed layers and their timings are kept in
// the work folder (default /tmp/ingot-bench-compression) and reused unless --fresh. Prints Markdown tables
// and writes results.json there. Everything runs one step at a time: the host's cores are shared, and a
// compressor running beside a VM would skew both timings.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { type Compression, compressors } from "../src/image/compression.ts";
import type { ImageManifest, LayerDescriptor } from "../src/image/manifest.ts";
import { Vault } from "../src/vault/vault.ts";
import { kernelFile } from "../src/vm/kernel-file.ts";

type Family = "none" | "zstd" | "xz" | "gzip" | "lz4";

interface Candidate {
  name: string;
  family: Family;
  /** The compressor's argv, reading stdin and writing stdout; empty for the plain cpio. */
  compress: string[];
}

interface CompressResult {
  layer: string;
  candidate: string;
  size: number;
  compressS: number;
  hostDecompressS: number;
}

interface BootResult {
  /** Seconds since the kernel started (CLOCK_BOOTTIME) when init printed its first line. */
  initStartedS: number;
  /** Seconds from spawning QEMU to that line, as the host sees it (includes firmware loading the initrd). */
  wallToInitS: number;
  /**
   * CPU seconds QEMU had used by then. The guest's clock runs in host time, so a busy host inflates the
   * two figures above; this one counts only the emulation, though cache contention still shows in it.
   */
  qemuCpuS: number;
  /** True when the app also started, which proves the layer unpacked whole. */
  appListening?: boolean;
}

const decompressors: Record<Exclude<Family, "none">, string[]> = {
  zstd: ["zstd", "-dc", "-q"],
  xz: ["xz", "-dc"],
  gzip: ["gzip", "-dc"],
  lz4: ["lz4", "-dc", "-q"],
};

function ingotCandidate(name: Compression): Candidate {
  const { command, args } = compressors[name];
  return { name, family: familyOf(name), compress: [command, ...args] };
}

/** ingot's own compressors, plus levels in between that the kernel's decoders also read. */
const CANDIDATES: Candidate[] = [
  { name: "none", family: "none", compress: [] },
  ingotCandidate("lz4"),
  ingotCandidate("gzip"),
  ingotCandidate("zstd-3"),
  ingotCandidate("zstd-9"),
  { name: "zstd-12", family: "zstd", compress: ["zstd", "-12", "-T2", "-q", "-c", "--no-progress"] },
  ingotCandidate("zstd-19"),
  // Preset 6 has an 8 MiB dictionary; preset 9's is 64 MiB, which the kernel allocates to unpack.
  { name: "xz-6", family: "xz", compress: ["xz", "--check=crc32", "--x86", "--lzma2=preset=6", "-T1", "-c"] },
  ingotCandidate("xz"),
];

/** The command line from the benchmark brief: the kernel's defaults, no ingot-specific options. */
function qemuBenchArgs(kernel: string, initrd: string): string[] {
  return [
    "-M", "q35", "-m", "512", "-nographic", "-no-reboot",
    "-kernel", kernel, "-initrd", initrd,
    "-append", "console=ttyS0 quiet panic=-1",
    "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0",
  ];
}

/**
 * The initrd's pieces in order. A plain cpio is only recognised at a 4-byte offset and the next piece must
 * start on one too (Linux init/initramfs.c, do_reset: "broken padding"), so it gets zero padding on both sides;
 * the kernel skips zeros between archives.
 */
function initrdParts(pieces: { path: string; plain: boolean }[]): { path: string; alignBefore: boolean }[] {
  return pieces.map((piece, index) => ({ path: piece.path, alignBefore: piece.plain || (index > 0 && pieces[index - 1]!.plain) }));
}

function familyOf(compression: string): Family {
  if (compression.startsWith("zstd")) return "zstd";
  if (compression.startsWith("xz")) return "xz";
  if (compression === "gzip" || compression === "lz4" || compression === "none") return compression;
  throw new Error(`Cannot benchmark a layer as its compression is unknown: ${compression}`);
}

const seconds = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9;
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(2);

/** Runs argv with stdin and stdout redirected to files and returns the wall-clock seconds it took. */
async function timedRun(argv: string[], input: string, output: string): Promise<number> {
  const inputFd = openSync(input, "r");
  const outputFd = openSync(output, "w");
  try {
    const start = process.hrtime.bigint();
    const child = spawn(argv[0]!, argv.slice(1), { stdio: [inputFd, outputFd, "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => { stderr += chunk.toString(); });
    const code = await new Promise<number | null>((resolve, reject) => child.on("error", reject).on("close", resolve));
    if (code !== 0) throw new Error(`Cannot run ${argv.join(" ")} as it exited with ${code}: ${stderr.trim()}`);
    return seconds(start);
  } finally {
    closeSync(inputFd);
    closeSync(outputFd);
  }
}

async function readManifest(vault: string, ref: string): Promise<ImageManifest> {
  const colon = ref.lastIndexOf(":");
  if (colon <= 0) throw new Error(`Cannot read the image as the reference is not NAME:VERSION: ${ref}`);
  const digest = (await readFile(join(vault, "tags", ref.slice(0, colon), ref.slice(colon + 1)), "utf8")).trim();
  return JSON.parse(await readFile(blobPath(vault, digest), "utf8")) as ImageManifest;
}

function blobPath(vault: string, digest: string): string {
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`Cannot find a blob as the digest is malformed: ${digest}`);
  return join(vault, "blobs", "sha256", digest.slice("sha256:".length));
}

/** The layer as a plain cpio in the work folder, unpacked once. */
async function plainLayer(vault: string, layer: LayerDescriptor, work: string): Promise<string> {
  const path = join(work, `${layer.name}.cpio`);
  if ((await stat(path).catch(() => undefined))?.size === layer.uncompressedSize) return path;
  const family = familyOf(layer.compression);
  if (family === "none") throw new Error(`Cannot benchmark layer ${layer.name} as it is stored uncompressed`);
  await timedRun(decompressors[family], blobPath(vault, layer.digest), path);
  return path;
}

async function compressLayer(layer: string, plain: string, candidate: Candidate, work: string, fresh: boolean): Promise<{ path: string; result: CompressResult }> {
  if (candidate.family === "none") {
    const { size } = await stat(plain);
    return { path: plain, result: { layer, candidate: candidate.name, size, compressS: 0, hostDecompressS: 0 } };
  }
  const path = join(work, `${layer}.${candidate.name}`);
  const record = `${path}.json`;
  if (!fresh) {
    const kept = await readFile(record, "utf8").then((text) => JSON.parse(text) as CompressResult, () => undefined);
    if (kept && (await stat(path).catch(() => undefined))?.size === kept.size) return { path, result: kept };
  }
  process.stderr.write(`compress ${layer} ${candidate.name} … `);
  const compressS = await timedRun(candidate.compress, plain, path);
  const decompressRuns: number[] = [];
  for (let run = 0; run < 3; run++) decompressRuns.push(await timedRun(decompressors[candidate.family], path, "/dev/null"));
  const result = { layer, candidate: candidate.name, size: (await stat(path)).size, compressS, hostDecompressS: median(decompressRuns) };
  process.stderr.write(`${mib(result.size)} MiB in ${compressS.toFixed(1)} s\n`);
  await writeFile(record, JSON.stringify(result));
  return { path, result };
}

async function writeInitrd(parts: { path: string; alignBefore: boolean }[], output: string): Promise<number> {
  const chunks: Buffer[] = [];
  let length = 0;
  for (const part of parts) {
    if (part.alignBefore && length % 4 !== 0) {
      chunks.push(Buffer.alloc(4 - (length % 4)));
      length += 4 - (length % 4);
    }
    const data = await readFile(part.path);
    chunks.push(data);
    length += data.length;
  }
  if (parts.at(-1)?.alignBefore && length % 4 !== 0) chunks.push(Buffer.alloc(4 - (length % 4)));
  await writeFile(output, Buffer.concat(chunks));
  return (await stat(output)).size;
}

/** utime + stime from /proc/PID/stat, in clock ticks of 1/100 s (USER_HZ on x86 Linux). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name is in parentheses and may hold spaces; fields are counted from after it.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const INIT_STARTED = /ingot-init: \[(\d+\.\d+)\] init started/;
/** The example app's own line: node ran, so every byte of the runtime layer it needed was there. */
const APP_LISTENING = /: listening on port/;
const APP_FAILED = /ingot-init: app (exited|killed)|cannot execve|No such file/;
const UNPACK_FAILED = /Initramfs unpacking failed|Kernel panic|decompressor failed|junk at the end/;

/** Boots once and kills QEMU as soon as init starts (or, with `waitForApp`, once the app is listening). */
async function boot(kernel: string, initrd: string, waitForApp: boolean, timeoutMs = 180_000): Promise<BootResult> {
  const start = process.hrtime.bigint();
  const qemu: ChildProcess = spawn("qemu-system-x86_64", qemuBenchArgs(kernel, initrd), { stdio: ["ignore", "pipe", "pipe"] });
  const consoleLines: string[] = [];
  try {
    return await new Promise<BootResult>((resolve, reject) => {
      let result: BootResult | undefined;
      const fail = (why: string): void => reject(new Error(`${why}\n${consoleLines.slice(-12).join("\n")}`));
      const timer = setTimeout(() => fail(`No ${result ? "app" : "init"} line within ${timeoutMs} ms`), timeoutMs);
      qemu.on("error", (error) => { clearTimeout(timer); reject(error); });
      qemu.on("exit", () => { clearTimeout(timer); fail("QEMU exited first"); });
      for (const stream of [qemu.stdout!, qemu.stderr!]) {
        // The patterns are unanchored, so SeaBIOS's escape codes on the serial line need no stripping.
        createInterface({ input: stream }).on("line", (raw) => {
          const line = raw.replace(/\r/g, "");
          consoleLines.push(line);
          const failure = UNPACK_FAILED.exec(line) ?? (result ? APP_FAILED.exec(line) : null);
          if (failure) { clearTimeout(timer); fail(`console: "${line.slice(failure.index).trim()}"`); return; }
          const init = INIT_STARTED.exec(line);
          if (init && !result) {
            result = { initStartedS: Number(init[1]), wallToInitS: seconds(start), qemuCpuS: cpuSeconds(qemu.pid!) };
            if (!waitForApp) { clearTimeout(timer); resolve(result); }
          } else if (result && waitForApp && APP_LISTENING.test(line)) {
            clearTimeout(timer);
            resolve({ ...result, appListening: true });
          }
        });
      }
    });
  } finally {
    if (qemu.exitCode === null && qemu.signalCode === null) {
      const exited = new Promise((resolve) => qemu.once("exit", resolve));
      qemu.kill("SIGKILL");
      await exited;
    }
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      boots: { type: "string", default: "3" },
      work: { type: "string", default: "/tmp/ingot-bench-compression" },
      only: { type: "string" },
      fresh: { type: "boolean", default: false },
      "runtime-last": { type: "boolean", default: false },
    },
  });
  const vault = positionals[0] ?? "/tmp/ih";
  const ref = positionals[1] ?? "hello:1.0.0";
  const boots = Number(values.boots);
  if (!Number.isInteger(boots) || boots < 1) throw new Error(`Cannot benchmark as --boots must be an integer ≥ 1, got ${values.boots}`);
  const only = values.only?.split(",");
  const candidates = only ? CANDIDATES.filter((candidate) => only.includes(candidate.name)) : CANDIDATES;
  if (only && candidates.length !== only.length) throw new Error(`Cannot benchmark as --only names an unknown candidate: ${values.only}`);
  const work = values.work;
  await mkdir(work, { recursive: true });

  const manifest = await readManifest(vault, ref);
  const kernel = await kernelFile(await Vault.open(vault), manifest.kernel);
  const layers = Object.fromEntries(manifest.layers.map((layer) => [layer.name, layer]));
  const { base, runtime, app } = layers;
  if (!base || !runtime || !app) throw new Error(`Cannot benchmark ${ref} as it lacks a base, runtime or app layer`);

  const compressed: CompressResult[] = [];
  const runtimePaths = new Map<string, string>();
  for (const layer of [base, runtime, app]) {
    const plain = await plainLayer(vault, layer, work);
    for (const candidate of candidates) {
      const { path, result } = await compressLayer(layer.name, plain, candidate, work, values.fresh);
      compressed.push(result);
      if (layer === runtime) runtimePaths.set(candidate.name, path);
    }
  }

  // base and app stay as ingot stored them; only the runtime layer changes between initrds.
  const runtimeLast = values["runtime-last"];
  const suffix = runtimeLast ? "-runtime-last" : "";
  const initrds = new Map<string, { path: string; size: number }>();
  for (const candidate of candidates) {
    const basePiece = { path: blobPath(vault, base.digest), plain: false };
    const runtimePiece = { path: runtimePaths.get(candidate.name)!, plain: candidate.family === "none" };
    const appPiece = { path: blobPath(vault, app.digest), plain: false };
    const parts = initrdParts(runtimeLast ? [basePiece, appPiece, runtimePiece] : [basePiece, runtimePiece, appPiece]);
    const path = join(work, `initrd-${candidate.name}${suffix}.img`);
    initrds.set(candidate.name, { path, size: await writeInitrd(parts, path) });
  }

  // Rounds go through every candidate in turn, so a slow spell on the shared host hits them all alike.
  // The first round also waits for the app, proving the runtime layer unpacked whole. A candidate the
  // kernel cannot unpack is reported as such and left out of later rounds.
  const bootRuns = new Map<string, BootResult[]>(candidates.map((candidate) => [candidate.name, []]));
  const bootFailures = new Map<string, string>();
  for (let round = 0; round < boots; round++) {
    for (const candidate of candidates.filter((entry) => !bootFailures.has(entry.name))) {
      try {
        const result = await boot(kernel, initrds.get(candidate.name)!.path, round === 0);
        bootRuns.get(candidate.name)!.push(result);
        process.stderr.write(`boot ${round + 1}/${boots} ${candidate.name}: init started ${result.initStartedS.toFixed(3)} s, ${result.wallToInitS.toFixed(2)} s wall, ${result.qemuCpuS.toFixed(2)} s QEMU CPU${result.appListening ? ", app listening" : ""}\n`);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        bootFailures.set(candidate.name, message);
        process.stderr.write(`boot ${round + 1}/${boots} ${candidate.name} failed: ${message}\n`);
      }
    }
  }

  const kernelSize = (await stat(kernel)).size;
  const medianInit = (name: string): number => median(bootRuns.get(name)!.map((run) => run.initStartedS));
  const baseline = bootRuns.has("none") && !bootFailures.has("none") ? medianInit("none") : undefined;
  const rows = candidates.map((candidate) => {
    const result = compressed.find((entry) => entry.layer === "runtime" && entry.candidate === candidate.name)!;
    const runs = bootRuns.get(candidate.name)!;
    const failed = bootFailures.get(candidate.name);
    const initStarted = failed ? Number.NaN : medianInit(candidate.name);
    return {
      candidate: candidate.name,
      sizeMiB: mib(result.size),
      compressS: result.compressS.toFixed(1),
      hostDecompressS: result.hostDecompressS.toFixed(2),
      imageMiB: mib(kernelSize + initrds.get(candidate.name)!.size),
      initStarted: failed ? `boot failed: ${failed.split("\n")[0]}` : initStarted.toFixed(3),
      spread: failed ? "" : ` (${Math.min(...runs.map((run) => run.initStartedS)).toFixed(2)}–${Math.max(...runs.map((run) => run.initStartedS)).toFixed(2)})`,
      delta: baseline === undefined || failed ? "–" : `${initStarted - baseline >= 0 ? "+" : ""}${(initStarted - baseline).toFixed(3)}`,
      wallToInit: failed ? "–" : median(runs.map((run) => run.wallToInitS)).toFixed(2),
      qemuCpu: failed ? "–" : median(runs.map((run) => run.qemuCpuS)).toFixed(2),
    };
  });

  console.log(`Runtime layer (${mib(runtime.uncompressedSize)} MiB unpacked${runtimeLast ? ", booted as the last archive" : ""}), ${boots} boots each, kernel ${mib(kernelSize)} MiB\n`);
  console.log("| candidate | size MiB | compress s | host decompress s | kernel+initrd MiB | init started median s (min–max) | delta vs none s | host wall to init s | QEMU CPU to init s |");
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const row of rows) {
    console.log(`| ${row.candidate} | ${row.sizeMiB} | ${row.compressS} | ${row.hostDecompressS} | ${row.imageMiB} | ${row.initStarted}${row.spread} | ${row.delta} | ${row.wallToInit} | ${row.qemuCpu} |`);
  }
  for (const layer of [base, app]) {
    console.log(`\n${layer.name} layer (${(layer.uncompressedSize / 1024).toFixed(1)} KiB unpacked)\n`);
    console.log("| candidate | size KiB | compress s | host decompress ms |");
    console.log("|---|---:|---:|---:|");
    for (const result of compressed.filter((entry) => entry.layer === layer.name)) {
      console.log(`| ${result.candidate} | ${(result.size / 1024).toFixed(1)} | ${result.compressS.toFixed(2)} | ${(result.hostDecompressS * 1000).toFixed(1)} |`);
    }
  }
  await writeFile(join(work, `results${suffix}.json`), JSON.stringify({ vault, ref, kernelSize, compressed, boots: Object.fromEntries(bootRuns), bootFailures: Object.fromEntries(bootFailures) }, null, 2));
}

await main();
