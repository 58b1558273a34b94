// `ingot inspect IMAGE [--json]`: an image's manifest, layers, largest files, SBOM and audit, with
// every blob it needs verified first, so a damaged vault fails here rather than at boot.
import { type Audit, auditImage } from "../image/audit.ts";
import type { FileIndexEntry } from "../image/build.ts";
import type { ImageManifest } from "../image/manifest.ts";
import type { ProvenanceStatement } from "../image/attestation.ts";
import type { Sbom, SbomComponent } from "../image/sbom.ts";
import { formatArgv } from "../config/start-script.ts";
import { resolveImage } from "../vault/image-ref.ts";
import { Vault } from "../vault/vault.ts";
import { flag, type Parsed } from "./args.ts";
import { formatBytes, printable, table } from "./format.ts";

interface ImageReport {
  image: string;
  /** False for an image reached by a digest that no tag points at any more. */
  tagged: boolean;
  digest: string;
  manifest: ImageManifest;
  layers: { name: string; digest: string; size: number; uncompressedSize: number; compression: string; fileCount: number; rootHash?: string; verityAlgorithm?: string }[];
  largestFiles: { path: string; size: number }[];
  sbom: Sbom;
  /** Statements filed beside the image (provenance: source commit, builder, times), oldest first. */
  attestations: ProvenanceStatement[];
  audit: Audit;
}

const LARGEST_FILES = 10;

/**
 * @example
 * // $ ingot inspect hello --json | jq .audit.ok
 * // true
 */
export const inspectVerb = {
  async run(args: Parsed): Promise<number> {
    const ref = args.positionals[0]!; // declared <IMAGE>: the parser made sure there is exactly one
    const report = await imageReport(await Vault.open(), ref);
    if (flag(args, "json") === "true") console.log(JSON.stringify(report, null, 2));
    else console.log(describe(report));
    return 0;
  },
};

async function imageReport(vault: Vault, ref: string): Promise<ImageReport> {
  const { name, version, digest, manifest } = await resolveImage(vault, ref);
  // A damaged blob anywhere fails the whole inspection, naming the blob (BlobError).
  await Promise.all([manifest.kernel.digest, ...manifest.layers.map((layer) => layer.digest)].map((blob) => vault.verifyBlob(blob)));
  const fileLists = await Promise.all(manifest.layers.map((layer) => vault.readJson<FileIndexEntry[]>(layer.files)));
  const sbom = await vault.readJson<Sbom>(manifest.sbom);
  const files = fileLists.flat();
  // Later layers override earlier ones at the same path, as when the kernel unpacks them in order.
  const finalFiles = new Map(files.map((file) => [file.path, file]));
  return {
    image: name ? `${name}:${version}` : `${manifest.name}:${manifest.version}`,
    tagged: name !== undefined,
    digest,
    manifest,
    layers: manifest.layers.map((layer, index) => ({
      name: layer.name, digest: layer.digest, size: layer.size, uncompressedSize: layer.uncompressedSize, compression: layer.compression,
      fileCount: fileLists[index]!.filter((file) => file.type === "file").length,
      ...(layer.verity ? { rootHash: layer.verity.rootHash, verityAlgorithm: layer.verity.algorithm } : {}),
    })),
    largestFiles: [...finalFiles.values()].filter((file) => file.type === "file")
      .sort((a, b) => b.size - a.size || a.path.localeCompare(b.path)).slice(0, LARGEST_FILES)
      .map(({ path, size }) => ({ path, size })),
    sbom,
    attestations: await Promise.all((await vault.attestations(digest)).map((statement) => vault.readJson<ProvenanceStatement>(statement))),
    audit: auditImage(files, manifest),
  };
}

function describe(report: ImageReport): string {
  const { manifest, audit } = report;
  const lines = [
    table([
      ["image", report.tagged ? report.image : `${report.image} (no tag points at it any more)`],
      ["digest", report.digest],
      ["built by", builtBy(report.attestations)],
      ["kernel", `${manifest.kernel.version}  ${formatBytes(manifest.kernel.size)}`],
      ["runtime", manifest.runtime.kind === "node" ? `node ${manifest.runtime.version}` : "elf (no language runtime)"],
      ["command", formatArgv(manifest.command)],
      ...(manifest.commandSource ? [["derived from", `${manifest.commandSource} → ${formatArgv(manifest.command)}`]] : []),
      ["user", `${manifest.user.name} (uid ${manifest.user.uid}, gid ${manifest.user.gid})`],
      ["resources", `${manifest.resources.cpus} CPU${manifest.resources.cpus === 1 ? "" : "s"}, ${manifest.resources.memoryMiB} MiB memory`],
      ["ports", (Object.entries(manifest.ports).map(([port, number]) => `${port} ${number}`).join(", ") || "none") +
        (manifest.portSource ? ` (${manifest.portSource}; instances follow the port the app listens on)` : "")],
      ["healthcheck", healthcheckOf(manifest)],
    ]),
    "",
    "layers",
    indent(table([
      ["NAME", "SIZE", "UNPACKED", "COMPRESSION", "FILES", "DIGEST"],
      ...report.layers.map((layer) => [layer.name, formatBytes(layer.size), formatBytes(layer.uncompressedSize), layer.compression, String(layer.fileCount), layer.digest.slice(0, 19)]),
    ])),
    // In full: the guest checks every block it reads against these, and they are what an exported disk boots with.
    ...(report.layers.some((layer) => layer.rootHash) ? ["", "verity root hashes (EROFS layers on read-only disks)", indent(table(report.layers.map((layer) => [layer.name, layer.verityAlgorithm ?? "", layer.rootHash ?? "none (initrd layer)"])))] : []),
    "",
    `largest files`,
    indent(table(report.largestFiles.map((file) => [file.path, formatBytes(file.size)]))),
    "",
    printable(`sbom (CycloneDX ${report.sbom.specVersion}): ${countsByType(report.sbom.components)}`),
    indent(table(report.sbom.components.filter((component) => (component.type === "library" || component.type === "framework") && !component.hashes).map(componentRow))),
    "",
    "locked inputs (ingot.lock)",
    indent(table(report.sbom.components.filter((component) => component.hashes).map((component) => [component.name, component.version, `sha256:${component.hashes![0]!.content.slice(0, 12)}`]))),
    "",
    `audit ${audit.ok ? "✓ nothing an intruder could use" : "✗ found what an intruder could use"}`,
    indent(table([
      ["shells", listOrNone(audit.shells)],
      ["package managers", listOrNone(audit.packageManagers)],
      ["setuid/setgid files", listOrNone(audit.setuidFiles)],
      ["ssh servers", listOrNone(audit.sshd)],
      ["runs as root", audit.appUser.runsAsRoot ? `yes (uid ${audit.appUser.uid})` : `no (uid ${audit.appUser.uid}, gid ${audit.appUser.gid})`],
    ])),
  ];
  return lines.join("\n");
}

/** The newest provenance: who built it, from which commit, when. */
function builtBy(attestations: ProvenanceStatement[]): string {
  const newest = attestations.at(-1);
  if (!newest) return "unknown (no provenance filed in this vault)";
  const { buildDefinition, runDetails } = newest.predicate;
  const commit = buildDefinition.resolvedDependencies.find((dependency) => dependency.digest.gitCommit)?.digest.gitCommit;
  const source = commit ? ` from commit ${commit.slice(0, 12)}${buildDefinition.internalParameters.dirty ? " with uncommitted changes" : ""}` : " (no git commit)";
  const more = attestations.length > 1 ? `; ${attestations.length} builds gave this image` : "";
  return `${runDetails.builder.id}${source} at ${runDetails.metadata.finishedOn}${more}`;
}

function healthcheckOf({ healthcheck }: ImageManifest): string {
  if (!healthcheck) return "none";
  const target = healthcheck.type === "http" ? `HTTP GET ${healthcheck.path} on port ${healthcheck.port}` : `TCP connect to port ${healthcheck.port}`;
  return `${target} every ${seconds(healthcheck.intervalMs)} (timeout ${seconds(healthcheck.timeoutMs)}, healthy after ${healthcheck.healthyThreshold})`;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function countsByType(components: SbomComponent[]): string {
  const counts = new Map<string, number>();
  for (const component of components) counts.set(component.type, (counts.get(component.type) ?? 0) + 1);
  return `${components.length} components (${[...counts].map(([type, count]) => `${count} ${type}`).join(", ")})`;
}

/** @example componentRow(libc) // ["libc.so.6", "2.36-9+deb12u10 (libc6)"] */
function componentRow(component: SbomComponent): string[] {
  const debianPackage = component.properties?.find((property) => property.name === "ingot:debian-package")?.value;
  const origin = debianPackage ?? (component.type === "framework" ? "runtime" : component.purl?.startsWith("pkg:npm/") ? "npm" : component.type);
  return [component.name, `${component.version} (${origin})`];
}

function listOrNone(paths: string[]): string {
  return paths.length === 0 ? "none" : paths.join(", ");
}

function indent(text: string): string {
  return text.split("\n").map((line) => (line ? `  ${line}` : line)).join("\n");
}
