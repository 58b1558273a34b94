// `npm run bench:network`: the guest network before and after issue 8, side by side in one run:
// boot to healthy, then wrk from the host against the guest's forwarded port (requests per second,
// latency). Each network is QEMU's command as ingot computes it, with only the network (and, for
// the "before" row, the sandbox and the user) changed as data. The outbound row (restrict=off
// behind ingot's nftables firewall) needs root, as ingot does for it.
// Usage: npm run bench:network -- [--boots N] [--seconds S] [--vault DIR]
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildImage } from "../src/image/build.ts";
import { Vault } from "../src/vault/vault.ts";
import { freePort } from "../src/vm/free-port.ts";
import { guestLayers } from "../src/vm/guest-layers.ts";
import { kernelFile } from "../src/vm/kernel-file.ts";
import { allowOutbound, FIREWALL_TABLE } from "../src/vm/outbound-firewall.ts";
import { qemuCommand, type VmSpec } from "../src/vm/qemu-args.ts";
import { qemuUser } from "../src/vm/qemu-user.ts";
import { spawnQemu } from "../src/vm/qemu-vm.ts";
import { median } from "./measure.ts";
import { parseWrk, type WrkFigures } from "./wrk.ts";

const { values } = parseArgs({
  options: {
    boots: { type: "string", default: "3" },
    seconds: { type: "string", default: "10" },
    vault: { type: "string", default: join(tmpdir(), "ingot-bench-vault") },
  },
});
const log = (line: string): void => console.error(`bench: ${line}`);
const WRK = ["-t1", "-c8", `-d${values.seconds}s`, "--latency"];

interface Network {
  name: string;
  /** QEMU's command for this network, from ingot's own. */
  command: (spec: VmSpec) => string[];
  /** Only with QEMU under its own uid, which ingot's firewall filters (outbound-firewall.ts). */
  needsRoot?: boolean;
}

/** The value after `flag` replaced, or the flag and its value dropped when `value` is undefined. */
function withFlag(command: string[], flag: string, value: string | undefined): string[] {
  const at = command.indexOf(flag);
  if (at < 0) return command;
  return [...command.slice(0, at), ...(value === undefined ? [] : [flag, value]), ...command.slice(at + 2)];
}

const NETWORKS: Network[] = [
  {
    name: "user network, before (host loopback reachable, QEMU as root, no sandbox)",
    command: (spec) => {
      const command = withFlag(qemuCommand({ ...spec, user: undefined }, "qemu-system-x86_64"), "-sandbox", undefined);
      return withFlag(command, "-netdev", command[command.indexOf("-netdev") + 1]!.replace(",restrict=on", ""));
    },
  },
  {
    name: "user network, restrict=on, sandbox, own uid (ingot now)",
    command: (spec) => qemuCommand(spec, "qemu-system-x86_64"),
  },
  {
    name: "user network, restrict=off behind ingot's firewall, sandbox, own uid (outbound: internet)",
    command: (spec) => qemuCommand({ ...spec, outbound: "internet" }, "qemu-system-x86_64"),
    needsRoot: true,
  },
];

interface Run extends WrkFigures { healthyMs: number }

async function timeToHttp200(url: string, startedAt: number, timeoutMs = 120_000): Promise<number> {
  while (performance.now() - startedAt < timeoutMs) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(async (response) => { await response.arrayBuffer(); return response.status === 200; }, () => false);
    if (ok) return performance.now() - startedAt;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

async function bootOnce(network: Network, spec: VmSpec, hostPort: number): Promise<Run> {
  const startedAt = performance.now();
  const qemu = spawnQemu(spec, network.command(spec), { stdio: ["ignore", "ignore", "inherit"] });
  try {
    const healthyMs = await timeToHttp200(`http://127.0.0.1:${hostPort}/`, startedAt);
    const wrk = execFileSync("wrk", [...WRK, `http://127.0.0.1:${hostPort}/`], { encoding: "utf8" });
    return { healthyMs, ...parseWrk(wrk) };
  } finally {
    qemu.kill("SIGKILL");
  }
}

const after: (() => void)[] = [];
const work = await mkdtemp(join("/tmp", "ingot-bench-net-"));
try {
  const vault = await Vault.open(values.vault);
  execFileSync("gcc", ["-O2", "-o", join(work, "server"), "test/fixtures/http-server.c"]);
  await writeFile(join(work, "ingot.yaml"), "name: net-bench\nversion: 1.0.0\nruntime: elf\ncommand: [./server]\nports:\n  http: 8080\nresources:\n  memory: 128M\n");
  const image = await buildImage(work, { vault });
  const { manifest } = image;
  const user = qemuUser("tcg");
  const networks = NETWORKS.filter((network) => !network.needsRoot || user);
  if (networks.length < NETWORKS.length) log("not root: the outbound row is left out");
  // ingot leaves its table installed; the bench leaves the host as it found it.
  const hadFirewall = spawnSync("nft", ["list", "table", FIREWALL_TABLE]).status === 0;
  if (user) await allowOutbound(user, "bench");
  after.push(() => { if (user && !hadFirewall) execFileSync("nft", ["delete", "table", FIREWALL_TABLE]); });
  const results: Record<string, Run[]> = {};
  const layers = await guestLayers(vault, image.digest, manifest, 128);
  for (let boot = 0; boot < Number(values.boots); boot++) {
    // Interleaved, so that a slower minute of the host weighs on every network alike.
    for (const network of networks) {
      const hostPort = await freePort();
      const spec: VmSpec = {
        kernel: await kernelFile(vault, manifest.kernel), ...layers,
        cmdline: `${manifest.kernel.cmdline} ${layers.cmdline}`, cpus: 1, memoryMiB: 128, accelerator: "tcg", forwards: [{ hostPort, guestPort: 8080 }],
        ...(user ? { user } : {}),
      };
      const run = await bootOnce(network, spec, hostPort);
      log(`${network.name}: ${JSON.stringify(run)}`);
      (results[network.name] ??= []).push(run);
    }
  }
  const rows = Object.entries(results).map(([name, runs]) => {
    const pick = (key: keyof Run): number => median(runs.map((run) => run[key]));
    return `| ${name} | ${(pick("healthyMs") / 1000).toFixed(2)} s | ${Math.round(pick("requestsPerSecond"))} | ${pick("latencyP50Ms").toFixed(2)} ms | ${pick("latencyP99Ms").toFixed(2)} ms | ${runs.reduce((sum, run) => sum + run.errors, 0)} |`;
  });
  console.log(["| network | boot to healthy | requests/s | latency p50 | latency p99 | errors |", "| --- | --- | --- | --- | --- | --- |", ...rows].join("\n"));
  await writeFile("bench/results/network.json", JSON.stringify({ date: new Date().toISOString(), boots: Number(values.boots), wrk: WRK, results }, null, 2) + "\n");
} finally {
  for (const undo of after) undo();
  await rm(work, { recursive: true, force: true });
}
