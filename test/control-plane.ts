// Fixtures for tests of the control plane through bin/ingot: a home of its own whose vault shares the
// test images, the CLI run against it, and a cleanup that ends what that home started (instances
// and entry points outlive the server by design, so stopping the server is not enough).
import { execFile, execFileSync } from "node:child_process";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stopPostgres } from "../src/accessory/postgres-process.ts";
import { isHaproxyOf } from "../src/entry/haproxy-process.ts";
import { isRunning } from "../src/process/process-identity.ts";
import { serverPaths } from "../src/server/server-paths.ts";
import { AccessoryRecords } from "../src/state/accessories.ts";
import { StateDatabase } from "../src/state/database.ts";
import { type EventRecord, EventLog } from "../src/state/events.ts";
import { InstanceRecords } from "../src/state/instances.ts";
import type { Vault } from "../src/vault/vault.ts";
import type { TestContext } from "node:test";
import { tempDir } from "./helpers.ts";

const BIN = fileURLToPath(new URL("../bin/ingot", import.meta.url));

export interface IngotResult { code: number; stdout: string; stderr: string }

/** Runs bin/ingot with INGOT_HOME=home; resolves with its exit code and output, never rejects. */
export function runIngot(home: string, args: string[], stdin?: string): Promise<IngotResult> {
  return new Promise((resolve) => {
    const child = execFile(BIN, args, { env: { ...process.env, INGOT_HOME: home }, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
    child.stdin!.end(stdin ?? "");
  });
}

/**
 * A fresh INGOT_HOME (own state, server and entry points) whose vault holds the test vault's images
 * as hard links: no copy, no rebuild, and nothing of the test's state leaks into the shared vault.
 */
export async function homeWithImages(vault: Vault, prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const home = await tempDir(prefix);
  await mkdir(home.path, { recursive: true });
  for (const folder of ["blobs", "tags", "cache"]) execFileSync("cp", ["-al", join(vault.root, folder), join(home.path, folder)]);
  return home;
}

/**
 * A home with the test vault's images (homeWithImages) whose control plane is ended and folder
 * removed when the test ends, also when it fails; `ingot` runs bin/ingot against it.
 */
export async function testHome(t: TestContext, vault: Vault, prefix: string): Promise<{ path: string; ingot: (...args: string[]) => Promise<IngotResult> }> {
  const home = await homeWithImages(vault, prefix);
  t.after(async () => {
    await endControlPlane(home.path);
    await home.remove();
  });
  return { path: home.path, ingot: (...args) => runIngot(home.path, args) };
}

/** Stops the home's environments and server, then ends any instance or HAProxy it recorded that still runs. */
/** `ingot status --env E --json` of one environment, in the shape the test reads. */
export async function statusOf<T>(ingot: (...args: string[]) => Promise<IngotResult>, environment: string): Promise<T> {
  const result = await ingot("status", "--env", environment, "--json");
  if (result.code !== 0) throw new Error(`ingot status --env ${environment} failed: ${result.stderr}`);
  return (JSON.parse(result.stdout) as T[])[0]!;
}

export async function endControlPlane(home: string): Promise<void> {
  const status = await runIngot(home, ["status", "--json"]);
  const environments = status.code === 0 ? (JSON.parse(status.stdout) as { name: string }[]) : [];
  for (const environment of environments) await runIngot(home, ["stop", "--env", environment.name]);
  await runIngot(home, ["server", "stop"]);
  const state = StateDatabase.open({ folder: join(home, "state") });
  try {
    for (const record of new InstanceRecords(state).live()) {
      const identity = { pid: record.pid ?? 0, startTime: String(record.processStart) };
      if (record.pid && (await isRunning(identity))) process.kill(record.pid, "SIGKILL");
    }
  } finally {
    state.close();
  }
  await endAccessories(home);
  const entryRoot = join(serverPaths(home).dir, "entry");
  for (const environment of await readdir(entryRoot).catch(() => [] as string[])) {
    const record = await readFile(join(entryRoot, environment, "entry.json"), "utf8").then((text) => JSON.parse(text) as { pid: number; startTime: string }, () => undefined);
    if (record && (await isHaproxyOf(record.pid, join(entryRoot, environment, "haproxy.cfg"), record.startTime))) process.kill(record.pid, "SIGKILL");
  }
}

/** Ends the home's accessories (PostgreSQL outlives the server by design), by their recorded pid, and removes their sockets' folders. */
export async function endAccessories(home: string): Promise<void> {
  const state = StateDatabase.open({ folder: join(home, "state") });
  try {
    for (const record of new AccessoryRecords(state).list()) {
      if (record.pid !== null && record.processStart !== null) await stopPostgres({ pid: record.pid, startTime: record.processStart }, 10_000);
      await rm(record.socketDir, { recursive: true, force: true });
    }
  } finally {
    state.close();
  }
}

export interface StartedIngot {
  /** Resolves with the first line of standard output matching `pattern` (e.g. a --json progress event). */
  waitForLine: (pattern: RegExp, timeoutMs?: number) => Promise<string>;
  done: Promise<IngotResult>;
  /** Ends the command (SIGTERM), as Ctrl-C ends a follow; nothing once it has exited. */
  kill: () => void;
}

/** Starts bin/ingot and follows its output as it comes, for steps that must happen in the middle of a command. */
export function startIngot(home: string, args: string[]): StartedIngot {
  let stdout = "";
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const child = execFile(BIN, args, { env: { ...process.env, INGOT_HOME: home }, maxBuffer: 64 * 1024 * 1024 });
  child.stdin!.end();
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => { stderr += chunk.toString(); });
  child.stdout!.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const waiter of [...waiters]) {
      const line = stdout.split("\n").find((candidate) => waiter.pattern.test(candidate));
      if (line !== undefined) { waiters.splice(waiters.indexOf(waiter), 1); waiter.resolve(line); }
    }
  });
  const done = new Promise<IngotResult>((resolve) => child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr })));
  return {
    done,
    kill: () => { if (child.exitCode === null && child.signalCode === null) child.kill(); },
    waitForLine: (pattern, timeoutMs = 120_000) => new Promise((resolve, reject) => {
      const seen = stdout.split("\n").find((candidate) => pattern.test(candidate));
      if (seen !== undefined) return resolve(seen);
      const timer = setTimeout(() => reject(new Error(`ingot ${args.join(" ")} printed no line matching ${pattern} within ${timeoutMs} ms:\n${stdout}${stderr}`)), timeoutMs);
      waiters.push({ pattern, resolve: (line) => { clearTimeout(timer); resolve(line); } });
      void done.then(() => { clearTimeout(timer); reject(new Error(`ingot ${args.join(" ")} ended before printing ${pattern}:\n${stdout}${stderr}`)); });
    }),
  };
}

/**
 * Asks `url` every 20 ms (each try given up after 1 s) until it answers 200; resolves with the
 * milliseconds from `since` (a performance.now()) to that answer, or undefined after `timeoutMs`.
 */
export async function msUntilServing(url: string, since: number, timeoutMs = 10_000): Promise<number | undefined> {
  while (performance.now() - since < timeoutMs) {
    const status = await fetch(url, { signal: AbortSignal.timeout(1_000) }).then(async (response) => { await response.arrayBuffer(); return response.status; }, () => 0);
    if (status === 200) return performance.now() - since;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return undefined;
}

/** The home's events of `environment` whose kind starts with `kindPrefix` (e.g. "entry-"), read from its state, oldest first. */
export function eventsOf(home: string, environment: string, kindPrefix: string): EventRecord[] {
  const state = StateDatabase.open({ folder: join(home, "state") });
  try {
    return new EventLog(state).list({ environment, limit: 100_000 }).filter((event) => event.kind.startsWith(kindPrefix));
  } finally {
    state.close();
  }
}

/**
 * What the entry point and the instances' consoles say of requests a load saw fail, for the test's
 * output: HAProxy logs a request when it ends and its ring resends what the store missed while the
 * server was down, so this waits (up to 20 s) for the failed requests' own lines, found by the
 * client port each failure names ("… (from port 38962)"), then prints them with the window's
 * failed requests and console lines. A hung request's timers (Tw/Tc/Tr) say where it waited.
 */
export async function explainFailures(ingot: (...args: string[]) => Promise<IngotResult>, environment: string, what: string, failures: string[]): Promise<void> {
  if (failures.length === 0) return;
  const first = Date.parse(failures[0]!.slice(0, 24));
  const since = new Date((Number.isNaN(first) ? Date.now() : first) - 35_000).toISOString();
  const ports = failures.flatMap((failure) => /from port (\d+)/.exec(failure)?.[1] ?? []);
  const lines = async (...filter: string[]): Promise<string> => (await ingot("logs", "--env", environment, "--since", since, "-n", "400", ...filter)).stdout.trim();
  let ownLines = "";
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 1000))) {
    ownLines = (await Promise.all(ports.map((port) => lines("--source", "entry", "--grep", `:${port} `)))).filter(Boolean).join("\n");
    if (ownLines.split("\n").filter(Boolean).length >= ports.length) break;
  }
  console.error([
    `${what}: ${failures.length} request(s) failed:`, ...failures,
    "their lines in the entry's access log:", ownLines || "(none arrived)",
    "the entry's failed requests since 35 s before:", await lines("--source", "entry", "--level", "error"),
    "the instances' consoles since then:", await lines("--source", "console"),
  ].join("\n"));
}
