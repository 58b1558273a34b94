// Shared fixtures for tests: a vault for test images, booting an image under real QEMU, HTTP polling.
import { execFileSync } from "node:child_process";
import { cp, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findPostgres } from "../src/accessory/postgres-install.ts";
import { buildImage } from "../src/image/build.ts";
import type { ImageManifest } from "../src/image/manifest.ts";
import { Vault } from "../src/vault/vault.ts";
import { PACKAGE_MANAGERS, type PackageManagerKind } from "../src/config/package-manager.ts";
import { packageManagerEnv } from "../src/image/install-plan.ts";
import { pinPackageManager } from "../src/image/package-manager-tool.ts";
import { pinNode } from "../src/image/pinned-inputs.ts";
import { bootImage as bootInstance } from "../src/vm/boot-image.ts";
import type { QemuVm } from "../src/vm/qemu-vm.ts";

/** True when `name` is a command on PATH (a test that needs it fails under CI=true when it is not). */
export function hasCommand(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** True when PostgreSQL's server is installed where accessories look for it (a test that needs it fails under CI=true when it is not). */
export function hasPostgres(): boolean {
  try {
    findPostgres();
    return true;
  } catch {
    return false;
  }
}

/**
 * The vault test images are built in. It persists between runs (under the system's temp folder) so
 * that the Node runtime is downloaded and its layer compressed once per machine, not once per test.
 */
export async function sharedTestVault(): Promise<Vault> {
  return Vault.open(process.env.INGOT_TEST_HOME ?? join(tmpdir(), "ingot-test-vault"));
}

export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/**
 * A copy of examples/hello in a temp folder with every file's mtime set, and without the lock a
 * build of the example in the checkout may have left: each test decides its own lock.
 */
export async function copyOfExample(mtime: Date): Promise<{ path: string; remove: () => Promise<void> }> {
  const copy = await tempDir("ingot-hello-");
  await cp("examples/hello", copy.path, { recursive: true });
  await rm(join(copy.path, "ingot.lock"), { force: true });
  for (const name of await readdir(copy.path)) await utimes(join(copy.path, name), mtime, mtime);
  return copy;
}

/**
 * An app folder holding the test HTTP server (test/fixtures/http-server.c, compiled here) and the
 * given ingot.yaml: the ELF app most end-to-end tests boot, as it is ready in about a second.
 */
export async function elfServerApp(prefix: string, ingotYaml: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const app = await tempDir(prefix);
  execFileSync("gcc", ["-O2", "-o", join(app.path, "server"), "test/fixtures/http-server.c"]);
  await writeFile(join(app.path, "ingot.yaml"), ingotYaml);
  return app;
}

/** What differs between the ELF fixture apps the control-plane tests deploy; the rest is shared. */
export interface ElfDeployApp {
  name: string;
  /** Becomes version V.0.0 and the VERSION the server answers at /env/VERSION. */
  version: number;
  /** environments.dev.instances */
  instances: number;
  healthcheck?: { path?: string; interval?: string; timeout?: string; startTimeout: string };
  drainTimeout?: string;
  env?: Record<string, string>;
}

/**
 * The ingot.yaml of the fixture server (test/fixtures/http-server.c) deployed to dev: 128 MiB, a
 * short stop timeout, its version in VERSION.
 *
 * @example
 * elfDeployYaml({ name: "scale-test", version: 2, instances: 1, healthcheck: { startTimeout: "60s" } });
 */
export function elfDeployYaml(app: ElfDeployApp): string {
  const check = app.healthcheck ?? { startTimeout: "60s" };
  const env = { VERSION: String(app.version), ...app.env };
  return [
    `name: ${app.name}`, `version: ${app.version}.0.0`, "runtime: elf", "command: [./server]", "ports:", "  http: 8080",
    "healthcheck:", `  path: ${check.path ?? "/"}`, `  interval: ${check.interval ?? "500ms"}`, ...(check.timeout ? [`  timeout: ${check.timeout}`] : []), `  startTimeout: ${check.startTimeout}`,
    "resources:", "  memory: 128M", "stopTimeout: 2s",
    "env:", ...Object.entries(env).map(([key, value]) => `  ${key}: "${value}"`),
    "environments:", "  dev:", `    instances: ${app.instances}`, `    drainTimeout: ${app.drainTimeout ?? "2s"}`, "",
  ].join("\n");
}

/** Builds one ELF image of the fixture server per ingot.yaml into the vault; their digests in order. */
export async function buildElfImages(vault: Vault, prefix: string, ingotYamls: string[]): Promise<string[]> {
  const digests: string[] = [];
  for (const yaml of ingotYamls) {
    const app = await elfServerApp(prefix, yaml);
    try {
      digests.push((await buildImage(app.path, { vault })).digest);
    } finally {
      await app.remove();
    }
  }
  return digests;
}

export interface BootedImage {
  vm: QemuVm;
  /** http://127.0.0.1:PORT for the guest port. */
  url: (guestPort: number) => string;
  close: () => Promise<void>;
}

/** Boots an image from the vault with every declared port forwarded to a free host port. */
export async function bootImage(vault: Vault, digest: string, options: { cmdline?: string; memoryMiB?: number } = {}): Promise<BootedImage> {
  const manifest = await vault.readJson<ImageManifest>(digest);
  const { vm, forwards, dispose } = await bootInstance(vault, digest, manifest, { ...options, cpus: 1 });
  return {
    vm,
    url: (guestPort) => `http://127.0.0.1:${forwards.find((forward) => forward.guestPort === guestPort)!.hostPort}`,
    close: async () => {
      vm.kill();
      await vm.exited.catch(() => {});
      await dispose();
    },
  };
}

/** Polls until the URL answers 200; returns the body. */
export async function waitForHttp(url: string, timeoutMs: number, vm?: QemuVm): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (vm?.state === "stopped") throw new Error(`The VM stopped before ${url} answered:\n${vm.console.slice(-20).join("\n")}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.status === 200) return await response.text();
      lastError = new Error(`status ${response.status}`);
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (${(lastError as Error)?.message})${vm ? `:\n${vm.console.slice(-20).join("\n")}` : ""}`);
}

/**
 * Runs a package manager as a user would to make a fixture's lock file (`pnpm install
 * --lockfile-only`): the release ingot would pick for `spec`, from the registry, run by the node
 * runtime of `nodeSpec`; nothing of the host's is used. Returns its output.
 *
 * @example
 * await runPackageManager("pnpm", "9", ["add", "express"], app.path);
 */
export async function runPackageManager(kind: PackageManagerKind, spec: string, args: string[], cwd: string, nodeSpec = "22"): Promise<string> {
  const vault = await sharedTestVault();
  const runtime = await pinNode(vault, nodeSpec, undefined);
  const choice = { kind, spec, source: "test", root: cwd, lockfile: "", member: { path: "", name: undefined, dependencies: [] }, workspace: undefined, localPackages: [] };
  const tool = await pinPackageManager(vault, choice, runtime, undefined);
  // As a user runs it: free to write the lock file (ingot's own installs are immutable).
  const env = { ...process.env, ...packageManagerEnv(kind), YARN_ENABLE_IMMUTABLE_INSTALLS: "false", PATH: [join(tool.dir, ".ingot-bin"), join(runtime.dir, "bin"), process.env.PATH].join(":") };
  try {
    return execFileSync(join(runtime.dir, "bin", "node"), [join(tool.dir, PACKAGE_MANAGERS[kind].bin), ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    throw new Error(`${kind} ${args.join(" ")} failed in ${cwd}:\n${stdout}\n${stderr}`, { cause: error });
  }
}
