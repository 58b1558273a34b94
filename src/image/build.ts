// `ingot build`: app folder → layers (cached by input digest) → manifest → tag, in the vault.
import { stat } from "node:fs/promises";
import { isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type AppConfig, loadAppConfig } from "../config/app-config.ts";
import { IngotError } from "../errors.ts";
import { tagProblem } from "../vault/tag-name.ts";
import { Vault } from "../vault/vault.ts";
import { appFileEntries, EXCLUDED_NAMES, includedEntries } from "./app-files.ts";
import type { Entry } from "./cpio.ts";
import { readElf } from "./elf.ts";
import { moduleLoadOrder } from "./kernel.ts";
import type { StoredKernel } from "./kernel-store.ts";
import { layerKey } from "./layer-key.ts";
import { APP_USER, type ImageInputs, imageLayers, type LayerFilesystem, type LayerForm, type LayerPlan } from "./layer-plan.ts";
import { assertKernelBootsDisks, bootsDisks } from "./kernel-features.ts";
import { writeLayer } from "./layer-writer.ts";
import { hostFile } from "./host-file.ts";
import { defaultCmdline, type ImageManifest, type LayerDescriptor, MANIFEST_MEDIA_TYPE } from "./manifest.ts";
import type { NodeRuntime } from "./node-runtime.ts";
import { lockedKernel, lockedNode, pinInit, pinKernel, pinNode } from "./pinned-inputs.ts";
import { combinedLibraries, type PinnedLibraries, pinnedLibraries } from "./pinned-libraries.ts";
import { provenanceStatement } from "./attestation.ts";
import { lockChanges } from "../lock/lock-changes.ts";
import { formatLock, LOCK_FILE, LOCK_FORMAT, type LockFile, readLock, writeLock } from "../lock/lock-file.ts";
import { defaultMemoryMiB } from "../vm/initrd-plan.ts";
import { nextStandalone } from "./next-standalone.ts";
import { findNativeAddons } from "./native-addons.ts";
import { installProductionDependencies, type PackageManager, runBuildScript } from "./node-deps.ts";
import { lockedPackageManager, type PackageManagerTool, pinPackageManager } from "./package-manager-tool.ts";
import { choosePackageManager } from "../config/package-manager.ts";
import { installedBins } from "./node-bins.ts";
import { type PackageJson, readPackageJson } from "../config/package-json.ts";
import { formatArgv, startArgv } from "../config/start-script.ts";
import { sourceProvenance } from "./provenance.ts";
import { imageSbom } from "./sbom.ts";
import { BUILDER_NAME, BUILDER_VERSION } from "./builder.ts";

export const BUILDER = `${BUILDER_NAME} ${BUILDER_VERSION}`;
export const DEFAULT_INIT = fileURLToPath(new URL("../../init/build/init", import.meta.url));

export interface BuildOptions {
  tag?: string;
  kernel?: string;
  vault?: Vault;
  init?: string;
  /** Use ingot.lock exactly as it is: refuse to build when any input would differ (CI). */
  locked?: boolean;
  /** Re-resolve every input to what this host and the registry have now, ignoring the lock. */
  updateLock?: boolean;
  /** How the layers reach the guest: read-only verified disks (the default) or an initrd. */
  form?: LayerForm;
  /** Disk-form layers' filesystem, LAYER_FILESYSTEM unless given (bench:disks compares them). */
  filesystem?: LayerFilesystem;
  /** Progress lines for the user ("runtime: node 22.23.3 (from ingot.yaml runtime)"). */
  log?: (line: string) => void;
}

export interface BuildResult {
  image: string;
  digest: string;
  manifest: ImageManifest;
  layers: (LayerDescriptor & { cached: boolean })[];
  runtime: string;
  /** What changed in ingot.lock (empty when it was already up to date). */
  lockChanges: string[];
  durationMs: number;
}

/**
 * Builds the app in `dir` into an image in the vault and tags it name:version. Its inputs are
 * those ingot.lock pins; the lock is written when there is none or an input had to change.
 *
 * @example
 * const { image, digest } = await buildImage("examples/hello");
 */
export async function buildImage(dir: string, options: BuildOptions = {}): Promise<BuildResult> {
  const started = performance.now();
  const startedAt = new Date();
  const log = options.log ?? (() => {});
  const config = await loadAppConfig(dir);
  const [name, version] = parseTag(options.tag, config);
  const vault = options.vault ?? (await Vault.open());
  const pinned = await pinInputs(config, vault, options, log);
  const { gathered, lock, kernel } = pinned;
  const form = options.form ?? "disk";
  if (form === "disk") await assertKernelBootsDisks(vault, kernel).catch(async (error: unknown) => {
    await gathered.cleanup();
    throw error;
  });
  const layers = [];
  let sbom: string;
  try {
    gathered.inputs.appEntries.push(...(await extraFiles(config)));
    for (const plan of imageLayers(gathered.inputs, form, options.filesystem)) layers.push(await layerOf(vault, plan, log));
    sbom = await vault.putJson(await imageSbom({ config, kernel, lock, owners: gathered.libraries.owners, inputs: gathered.inputs }));
  } finally {
    // The build script's staging copy is read while the layers are written and the SBOM lists the
    // packages in it (a Next.js standalone output's node_modules), so it goes only now.
    await gathered.cleanup();
  }

  const manifestKernel = { digest: kernel.digest, size: kernel.size, uncompressedSize: kernel.uncompressedSize, format: kernel.format, version: kernel.release, cmdline: defaultCmdline(config, form) };
  const manifest: ImageManifest = {
    mediaType: MANIFEST_MEDIA_TYPE,
    name, version,
    kernel: manifestKernel,
    layers: layers.map(({ cached: _cached, ...descriptor }) => descriptor),
    runtime: gathered.runtime ? { kind: "node", version: gathered.runtime.version, integrity: gathered.runtime.integrity } : { kind: "elf" },
    command: gathered.command,
    ...(gathered.inputs.config.commandSource ? { commandSource: gathered.inputs.config.commandSource } : {}),
    user: APP_USER,
    workdir: "/app",
    ports: config.ports,
    ...(config.portSource ? { portSource: config.portSource } : {}),
    healthcheck: config.healthcheck,
    resources: config.memoryDeclared ? config.resources : { ...config.resources, memoryMiB: defaultMemoryMiB({ layers, kernel: manifestKernel }) },
    stopTimeoutMs: config.stopTimeoutMs,
    env: gathered.inputs.config.env,
    ...(config.outbound ? { outbound: config.outbound } : {}),
    ...(config.logs ? { logs: config.logs } : {}),
    environments: config.environments,
    sbom,
  };
  const digest = await vault.putJson(manifest);
  await vault.setTag(name, version, digest);
  await vault.addAttestation(digest, provenanceStatement({
    image: `${name}:${version}`, digest, source: await sourceProvenance(config.dir), lock, locked: options.locked === true,
    builder: BUILDER, startedAt, finishedAt: new Date(),
  }));
  return { image: `${name}:${version}`, digest, manifest, layers, runtime: gathered.runtimeDescription, lockChanges: pinned.changes, durationMs: performance.now() - started };
}

/**
 * Resolves every input as ingot.lock pins it (or afresh where it has no entry), compares the result
 * with the lock, and writes the lock, or with --locked refuses any change before a layer is written.
 * `ingot lock` is this step alone.
 */
export async function pinInputs(config: AppConfig, vault: Vault, options: BuildOptions, log: (line: string) => void): Promise<{ gathered: Gathered; lock: LockFile; kernel: StoredKernel; changes: string[] }> {
  const previous = await readLock(config.dir);
  if (options.locked && !previous) {
    throw new IngotError(`Cannot build ${config.dir} --locked as it has no ${LOCK_FILE}`, { code: "lock-missing", hint: `Run ingot lock ${config.dir} and commit ${LOCK_FILE}` });
  }
  const locked = options.updateLock ? undefined : previous;
  let kernel = await pinKernel(vault, options.kernel, locked?.kernel);
  // A lock from before disk layers names a kernel without them: like any input that no longer fits
  // the build, it is re-pinned to the kernel installed now (and --locked refuses the change).
  if ((options.form ?? "disk") === "disk" && !options.kernel && locked?.kernel && !(await bootsDisks(vault, kernel))) {
    kernel = await pinKernel(vault, undefined, undefined);
  }
  const init = await pinInit(vault, options.init ?? DEFAULT_INIT, locked?.init);
  const modulesDir = kernel.modular ? join("/lib/modules", kernel.release) : undefined;
  const modules = modulesDir === undefined ? [] : await Promise.all(
    (await moduleLoadOrder(modulesDir)).map((relative) => hostFile(join(modulesDir, relative), `/lib/modules/${kernel.release}/${relative}`)),
  );
  const gathered = await gatherInputs(config, vault, { init, kernelVersion: kernel.release, modules }, locked, log);
  const lock: LockFile = {
    lockfileVersion: LOCK_FORMAT,
    ...(gathered.runtime ? { node: lockedNode(gathered.runtime) } : {}),
    ...(gathered.packageManager ? { packageManager: lockedPackageManager(gathered.packageManager) } : {}),
    kernel: lockedKernel(kernel),
    init: { digest: init.digest },
    packages: gathered.libraries.packages,
    hostFiles: gathered.libraries.hostFiles,
  };
  const changes = previous && formatLock(previous) === formatLock(lock) ? [] : lockChanges(previous, lock);
  if (changes.length > 0 && options.locked) {
    await gathered.cleanup();
    throw new IngotError(`Cannot build ${config.dir} --locked as its inputs differ from ${LOCK_FILE}:\n${changes.map((change) => `  ${change}`).join("\n")}`, {
      code: "lock-drift", hint: `Run ingot build without --locked (or ingot lock) to pin what is used now, review the change to ${LOCK_FILE} and commit it; ingot lock --update re-pins everything to the newest`,
    });
  }
  if (changes.length > 0) {
    await writeLock(config.dir, lock);
    for (const change of changes) log(`lock: ${change}`);
  }
  return { gathered, lock, kernel, changes };
}

interface Gathered {
  inputs: ImageInputs;
  runtime: NodeRuntime | undefined;
  /** The pinned package manager that installed the dependencies, when the app has any. */
  packageManager?: PackageManagerTool | undefined;
  runtimeDescription: string;
  /** The argv init runs; an ELF program's path is rewritten to where it lies in the image. */
  command: string[];
  /** The libraries' Debian packages and host files, and which package gave which library. */
  libraries: PinnedLibraries;
  cleanup: () => Promise<void>;
}

/**
 * An install in the vault's cache is named by the digest of everything that made it (package.json,
 * lock file, runtime, package manager) and never changes after, so its files are named by that key
 * and their paths in the layer's cache key: hashing notes' 3 600 files took 2 s of each app-only
 * rebuild.
 */
function identifiedByInstall(entries: Entry[], installKey: string): Entry[] {
  return entries.map((entry) => entry.type === "file" && entry.source.kind === "host" ? { ...entry, source: { ...entry.source, contentId: `install ${installKey}:${entry.path}` } } : entry);
}

/** Everything the layers are made of: runtime, libraries, dependencies and the app's files. */
async function gatherInputs(config: AppConfig, vault: Vault, base: Pick<ImageInputs, "init" | "kernelVersion" | "modules">, locked: LockFile | undefined, log: (line: string) => void): Promise<Gathered> {
  const inputs: ImageInputs = { config, ...base, runtimeFiles: [], runtimeLibraries: [], dependencyEntries: [], dependencyLibraries: [], appEntries: [] };
  const lockedPackages = locked?.packages ?? [];
  if (config.runtime.kind === "elf") {
    inputs.appEntries = await appFileEntries(config.dir, "/app");
    const program = await elfProgram(config);
    if (program.extra) inputs.appEntries.push(program.extra);
    const libraries = await pinnedLibraries(vault, await elfFilesOf(inputs.appEntries), lockedPackages, { ownFolders: [config.dir], log });
    inputs.runtimeLibraries = libraries.files;
    return {
      inputs, runtime: undefined, runtimeDescription: "elf (no language runtime)", command: [program.guestPath, ...config.command.slice(1)],
      libraries, cleanup: async () => {},
    };
  }

  const runtime = await pinNode(vault, config.runtime.version, locked?.node, config.runtimeSource);
  const runtimeDescription = `node ${runtime.version} (${config.runtime.version ? `${config.runtime.version} from ${config.runtimeSource}` : config.runtimeSource})`;
  log(`runtime: ${runtimeDescription}`);
  const nodeBinary = join(runtime.dir, "bin", "node");
  inputs.runtimeFiles = [
    { ...(await hostFile(nodeBinary, "/usr/local/bin/node")), contentId: runtime.binaryContentId },
    { ...(await hostFile(join(runtime.dir, "LICENSE"), "/usr/local/share/doc/node/LICENSE")), contentId: `${runtime.integrity}:LICENSE` },
  ];
  const runtimeLibraries = await pinnedLibraries(vault, [nodeBinary], lockedPackages, { log });
  inputs.runtimeLibraries = runtimeLibraries.files;
  let libraries = runtimeLibraries;
  let command = config.command;
  const pkg = await readPackageJson(join(config.dir, "package.json"));
  const manager = await appPackageManager(vault, config.dir, pkg, runtime, locked, log);
  const built = await runBuildScript(vault, config.dir, runtime, manager, EXCLUDED_NAMES);
  const cleanup = async (): Promise<void> => { await built?.remove(); };
  try {
    // A derived command only: one given in ingot.yaml names files where the app folder has them.
    const standalone = built && config.commandSource ? await nextStandalone(built.dir) : undefined;
    inputs.appEntries = standalone?.appEntries ?? (await appFileEntries(built?.dir ?? config.dir, "/app"));
    let nodeModules = standalone?.nodeModules;
    let installKey: string | undefined;
    if (standalone) {
      command = standalone.command;
      inputs.config = { ...config, command, commandSource: standalone.commandSource, env: { ...standalone.env, ...config.env } };
    } else {
      const deps = await installProductionDependencies(vault, config.dir, runtime, manager);
      nodeModules = deps.dir && join(deps.dir, "node_modules");
      installKey = deps.dir && deps.key;
      if (config.start) {
        // A dependency's bin is known only now that the production dependencies are installed.
        const devDependencies = Object.keys(pkg?.devDependencies ?? {});
        command = startArgv(config.start, await installedBins(nodeModules), devDependencies);
        inputs.config = { ...config, command };
      }
    }
    if (inputs.config.commandSource) log(`command: ${inputs.config.commandSource} → ${formatArgv(command)}`);
    if (nodeModules) {
      const entries = await appFileEntries(nodeModules, "/app/node_modules", new Set([".bin", ".package-lock.json"]));
      inputs.dependencyEntries = installKey ? identifiedByInstall(entries, installKey) : entries;
      const addons = await findNativeAddons(nodeModules);
      if (addons.foreign.length > 0) {
        log(`native addons for other platforms, kept but never loaded: ${addons.foreign.length} (${addons.foreign.map((path) => relative(nodeModules!, path)).slice(0, 3).join(", ")}${addons.foreign.length > 3 ? ", …" : ""})`);
      }
      if (addons.loadable.length > 0) {
        const addonLibraries = await pinnedLibraries(vault, addons.loadable, [...runtimeLibraries.packages, ...lockedPackages], { ownFolders: [nodeModules], log });
        const runtimePaths = new Set(inputs.runtimeLibraries.map((library) => library.path));
        inputs.dependencyLibraries = addonLibraries.files.filter((library) => !runtimePaths.has(library.path));
        libraries = combinedLibraries(runtimeLibraries, addonLibraries);
      }
    }
  } catch (error) {
    await cleanup();
    throw error;
  }
  return { inputs, runtime, packageManager: manager?.tool, runtimeDescription, command, libraries, cleanup };
}

/**
 * The package manager that installs the app's dependencies and runs its build script; undefined
 * when there is neither. Its release is the locked one while it fits the app's choice.
 */
async function appPackageManager(vault: Vault, appDir: string, pkg: PackageJson | undefined, runtime: NodeRuntime, locked: LockFile | undefined, log: (line: string) => void): Promise<PackageManager | undefined> {
  const hasDependencies = Object.keys({ ...pkg?.dependencies, ...pkg?.devDependencies }).length > 0;
  if (!hasDependencies && !pkg?.scripts?.build) return undefined;
  const choice = await choosePackageManager(appDir, { lockfileRequired: hasDependencies });
  const tool = await pinPackageManager(vault, choice, runtime, locked?.packageManager);
  const where = choice.workspace ? `, workspace ${choice.workspace.root} (${choice.member.path})` : "";
  log(`package manager: ${tool.name} ${tool.version} (${choice.spec} from ${choice.source}${choice.lockfile ? `, ${choice.lockfile}` : ""}${where})`);
  return { choice, tool };
}

async function layerOf(vault: Vault, plan: LayerPlan, log: (line: string) => void): Promise<LayerDescriptor & { cached: boolean }> {
  const key = await layerKey(plan);
  const cached = await vault.cacheGet<LayerDescriptor>("layers", key);
  if (cached && (await isIntactLayer(vault, cached))) return { ...cached, cached: true };
  log(`layer ${plan.name}: compressing ${plan.entries.length} entries with ${plan.compression}`);
  const written = await writeLayer(vault, plan);
  const files = await vault.putJson(plan.entries.map(fileIndexEntry));
  const descriptor: LayerDescriptor = { name: plan.name, ...written, compression: plan.compression, ...(plan.filesystem ? { filesystem: plan.filesystem } : {}), files };
  await vault.cacheSet("layers", key, descriptor);
  return { ...descriptor, cached: false };
}

/**
 * Layers up to this size are hashed in full on a cache hit: 16 MiB take ~25 ms at the ~600 MiB/s
 * sha256 of a shared build machine. Larger ones (the runtime, ~28 MiB as xz) are checked by size
 * here and hashed in full when booted (assembleInitrd), which removes a damaged blob, so the next
 * build writes it again.
 */
const FULL_CHECK_MAX_BYTES = 16 * 1024 * 1024;

/** Whether a cached layer's blob and file index are still there and undamaged, as far as is cheap to tell. */
async function isIntactLayer(vault: Vault, layer: LayerDescriptor): Promise<boolean> {
  try {
    if ((await stat(vault.blobPath(layer.digest))).size !== layer.size) return false;
    if (layer.size <= FULL_CHECK_MAX_BYTES) await vault.verifyBlob(layer.digest);
    await vault.verifyBlob(layer.files);
    return true;
  } catch {
    // Missing, damaged or a cache entry that is not a layer descriptor: the layer is written again.
    return false;
  }
}

/** What inspect and the audit need to know of a file, without unpacking the layer. */
export interface FileIndexEntry { path: string; type: Entry["type"]; mode: number; size: number; target?: string }

function fileIndexEntry(entry: Entry): FileIndexEntry {
  switch (entry.type) {
    case "file":
      return { path: entry.path, type: "file", mode: entry.mode, size: entry.source.kind === "host" ? entry.source.size : entry.source.data.length };
    case "symlink":
      return { path: entry.path, type: "symlink", mode: 0o777, size: 0, target: entry.target };
    default:
      return { path: entry.path, type: entry.type, mode: entry.mode, size: 0 };
  }
}

/** The ELF program to run: a file of the app folder (./server) or a host program given by absolute path. */
async function elfProgram(config: AppConfig): Promise<{ guestPath: string; extra?: Entry }> {
  const program = config.command[0]!;
  const hostPath = isAbsolute(program) ? program : resolve(config.dir, program);
  const elf = await readElf(hostPath).catch(() => undefined);
  if (!elf) {
    throw new IngotError(`Cannot run ${program} as ${hostPath} is not a Linux ELF program`, {
      code: "elf-program-missing", hint: "Set command: [./my-program, …] in ingot.yaml to a compiled x86-64 Linux program in the app folder",
    });
  }
  if (isAbsolute(program)) {
    const info = await stat(hostPath);
    return { guestPath: program, extra: { type: "file", path: program, mode: 0o755, source: { kind: "host", path: hostPath, size: info.size } } };
  }
  return { guestPath: `/app/${program.replace(/^\.\//, "")}` };
}

/** The `files` of ingot.yaml: files or folders of the app folder copied to the given paths inside the image. */
async function extraFiles(config: AppConfig): Promise<Entry[]> {
  const entries: Entry[] = [];
  for (const [index, { from, to }] of config.files.entries()) entries.push(...(await includedEntries(config.dir, from, to, `files[${index}].from`)));
  return entries;
}

async function elfFilesOf(entries: Entry[]): Promise<string[]> {
  const found = [];
  for (const entry of entries) {
    if (entry.type === "file" && entry.source.kind === "host" && (await readElf(entry.source.path).catch(() => undefined))) found.push(entry.source.path);
  }
  return found;
}

/** `--tag NAME[:VERSION]`, checked against the tag grammar before any work starts. */
function parseTag(tag: string | undefined, config: AppConfig): [string, string] {
  if (!tag) return [config.name, config.version];
  const colon = tag.indexOf(":");
  const [name, version] = colon < 0 ? [tag, config.version] : [tag.slice(0, colon), tag.slice(colon + 1)];
  const problem = tagProblem(name, version);
  if (problem) throw new IngotError(`Cannot tag the image as ${problem}`, { code: "tag-invalid", hint: "For example --tag hello:1.0.0" });
  return [name, version];
}
