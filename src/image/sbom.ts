// The image's software bill of materials, as CycloneDX 1.5 JSON: npm packages, the runtime, shared
// libraries with their Debian package, and the kernel. No timestamps, so it is reproducible too.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { AppConfig } from "../config/app-config.ts";
import type { LockedPackage, LockFile } from "../lock/lock-file.ts";
import { debianPurl, lockInputs } from "../lock/lock-inputs.ts";
import type { StoredKernel } from "./kernel-store.ts";
import type { ImageInputs } from "./layer-plan.ts";
import { BUILDER_NAME, BUILDER_VERSION } from "./builder.ts";

export interface SbomComponent {
  type: "application" | "library" | "framework" | "operating-system" | "firmware";
  name: string;
  version: string;
  purl?: string;
  licenses?: { license: { id?: string; name?: string } }[];
  properties?: { name: string; value: string }[];
  hashes?: { alg: "SHA-256"; content: string }[];
  /** What the component was built from (CycloneDX 1.5 pedigree): ingot's kernel from Debian's source; node as changed from its tarball. */
  pedigree?: { ancestors?: SbomComponent[]; notes?: string };
}

export interface Sbom {
  bomFormat: "CycloneDX";
  specVersion: "1.5";
  serialNumber: string;
  version: 1;
  metadata: { tools: { components: { type: "application"; name: string; version: string }[] }; component: SbomComponent };
  components: SbomComponent[];
}

export interface SbomInputs {
  config: AppConfig;
  kernel: StoredKernel;
  lock: LockFile;
  /** Library path in the image → the locked Debian package it came from. */
  owners: Map<string, LockedPackage>;
  inputs: ImageInputs;
}

/**
 * Lists what the image holds: every locked input by digest (node, the kernel, init, each Debian
 * package by its .deb's sha256), the npm packages, and each library with the package it came from.
 *
 * @example
 * const sbom = await imageSbom({ config, kernel, lock, owners, inputs });
 * sbom.components.find((c) => c.name === "node")?.version; // "22.23.3"
 */
export async function imageSbom({ config, kernel, lock, owners, inputs }: SbomInputs): Promise<Sbom> {
  const libraries = [...inputs.runtimeLibraries, ...inputs.dependencyLibraries];
  const components: SbomComponent[] = [];
  const sha256 = (hex: string): SbomComponent["hashes"] => [{ alg: "SHA-256", content: hex }];
  for (const input of lockInputs(lock)) {
    if (input.kind === "runtime") {
      components.push({
        type: "framework", name: "node", version: input.version, purl: input.purl, licenses: [{ license: { id: "MIT" } }], hashes: sha256(input.sha256),
        pedigree: { notes: "The hash is the registry tarball's; the image's bin/node is its bin/node without the symbol table and debug sections (src/image/elf-strip.ts)" },
      });
    } else if (input.kind === "package-manager") {
      // It installed the dependencies but is not in the image; the provenance names it as a build input.
      continue;
    } else if (input.kind === "kernel") {
      components.push({
        type: "operating-system", name: "linux", version: input.version, licenses: [{ license: { id: "GPL-2.0-only" } }], hashes: sha256(input.sha256),
        properties: [{ name: "ingot:kernel-config", value: kernel.config }],
        pedigree: { ancestors: [sourcePackage(kernel.source)] },
      });
    } else if (input.kind === "init") {
      components.push({ type: "application", name: input.name, version: input.version, licenses: [{ license: { id: "Apache-2.0" } }], hashes: sha256(input.sha256) });
    } else if (input.kind === "debian-package") {
      components.push({ type: "library", name: input.name, version: input.version, purl: input.purl, hashes: sha256(input.sha256), properties: [{ name: "ingot:input", value: "debian-package" }] });
    } else {
      components.push({ type: "library", name: input.name, version: input.version, hashes: sha256(input.sha256), properties: [{ name: "ingot:input", value: "host-file" }] });
    }
  }
  components.push(...(await npmPackages(inputs)));
  for (const library of libraries) {
    const owner = owners.get(library.path);
    components.push({
      type: "library",
      name: library.path.split("/").at(-1)!,
      version: owner?.version ?? "unknown",
      ...(owner ? { purl: debianPurl(owner.name, owner.version, owner.architecture) } : {}),
      properties: [{ name: "ingot:path", value: library.path }, ...(owner ? [{ name: "ingot:debian-package", value: owner.name }] : [])],
    });
  }
  const body = { components, app: [config.name, config.version] };
  return {
    bomFormat: "CycloneDX",
    specVersion: "1.5",
    serialNumber: `urn:uuid:${uuidFrom(JSON.stringify(body))}`,
    version: 1,
    metadata: {
      tools: { components: [{ type: "application", name: BUILDER_NAME, version: BUILDER_VERSION }] },
      component: { type: "application", name: config.name, version: config.version },
    },
    components,
  };
}

async function npmPackages(inputs: ImageInputs): Promise<SbomComponent[]> {
  const manifests = inputs.dependencyEntries.filter((entry) =>
    entry.type === "file" && /\/node_modules\/(@[^/]+\/)?[^/@]+\/package\.json$/.test(entry.path));
  const components: SbomComponent[] = [];
  for (const entry of manifests) {
    if (entry.type !== "file" || entry.source.kind !== "host") continue;
    const pkg = JSON.parse(await readFile(entry.source.path, "utf8")) as { name?: string; version?: string; license?: string | { type?: string } };
    // Nested folders (dist/package.json with only "type") are not packages.
    if (!pkg.name || !pkg.version) continue;
    const license = typeof pkg.license === "string" ? pkg.license : pkg.license?.type;
    components.push({
      type: "library", name: pkg.name, version: pkg.version, purl: `pkg:npm/${pkg.name.replace(/^@/, "%40")}@${pkg.version}`,
      ...(license ? { licenses: [{ license: /^[A-Za-z0-9.+-]+$/.test(license) ? { id: license } : { name: license } }] } : {}),
    });
  }
  return components;
}

/** A version-4-shaped UUID derived from content, because a random one would break reproducibility. */
function uuidFrom(text: string): string {
  const hex = createHash("sha256").update(text).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** "linux-source-6.1 6.1.192-2" → the Debian package the kernel was built from (a source package is architecture all). */
function sourcePackage(builtFrom: string): SbomComponent {
  const [name = builtFrom, version = "unknown"] = builtFrom.split(" ");
  return { type: "operating-system", name, version, purl: debianPurl(name, version, name.startsWith("linux-source") ? "all" : "amd64") };
}
