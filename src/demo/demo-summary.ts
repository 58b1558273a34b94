// What `ingot demo` measured, as data (its --json) and as the table it ends with. Every figure is
// one the demo took in this run: nothing here is a constant of the story.
import { formatBytes } from "../cli/format.ts";

export interface DemoImage {
  ref: string;
  digest: string;
  kernelBytes: number;
  layers: { name: string; size: number; uncompressedSize: number }[];
  totalBytes: number;
}

export interface DemoBuild {
  ref: string;
  durationMs: number;
  /** The layers this build wrote; the others came from the vault. */
  rebuilt: string[];
}

/** One deploy of the story: how it ended and what the clients saw meanwhile. */
export interface DemoDeploy {
  act: string;
  environment: string;
  image: string;
  outcome: "succeeded" | "failed";
  /** Why a deploy failed, as the control plane said it. */
  reason?: string;
  /** Boot and health wait of its new instances, started together. */
  bootToHealthyMs?: number;
  durationMs: number;
  /** Requests sent to the entry point while it ran; absent when nothing served yet. */
  load?: { requests: number; failed: number; failures: string[] };
}

export interface DemoSession {
  user: string;
  /** The image whose instance sealed the cookie, and the one that read it after the switch. */
  signedInOn: string;
  readOn: string;
  valid: boolean;
}

export interface DemoMigrations {
  environment: string;
  /** Instances that started together on the database. */
  instances: string[];
  /** Migration name → the instances that applied it: one each when the lock works. */
  applied: Record<string, string[]>;
  /** Instances that found the schema already up to date. */
  upToDate: string[];
}

export interface DemoSummary {
  image: DemoImage;
  builds: DemoBuild[];
  deploys: DemoDeploy[];
  session: DemoSession;
  migrations: DemoMigrations;
  urls: Record<string, string>;
  logs: string[];
  cleanedUp: boolean;
}

/**
 * @example
 * summaryTable(summary);
 * // ["image         notes:1.0.0  31.6 MiB: kernel 8.1 MiB, base 40.0 KiB, …", "build         notes:1.0.0 in 41.2 s (base, runtime, deps, app)", …]
 */
export function summaryTable(summary: DemoSummary): string[] {
  const { image } = summary;
  const rows: [string, string][] = [
    ["image", `${image.ref}  ${formatBytes(image.totalBytes)}: kernel ${formatBytes(image.kernelBytes)}, ${image.layers.map((layer) => `${layer.name} ${formatBytes(layer.size)}`).join(", ")}`],
    ...summary.builds.map((build): [string, string] => ["build", `${build.ref} in ${seconds(build.durationMs)} (${build.rebuilt.length === 0 ? "every layer from the vault" : `rebuilt: ${build.rebuilt.join(", ")}`})`]),
  ];
  const deploys = summary.deploys.map((deploy) => [
    deploy.act,
    deploy.outcome === "succeeded" ? "serves" : "refused, old version kept",
    deploy.bootToHealthyMs === undefined ? "-" : seconds(deploy.bootToHealthyMs),
    deploy.load ? String(deploy.load.requests) : "-",
    deploy.load ? String(deploy.load.failed) : "-",
  ]);
  const header = ["deploy", "outcome", "boot→healthy", "requests", "failed"];
  const widths = header.map((title, column) => Math.max(title.length, ...deploys.map((row) => row[column]!.length)));
  const line = (cells: string[]): string => `  ${cells.map((cell, column) => (column >= 2 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join("  ")}`.trimEnd();
  const { session, migrations } = summary;
  return [
    ...rows.map(([label, value]) => `${label.padEnd(13)} ${value}`),
    line(header),
    ...deploys.map(line),
    `${"session".padEnd(13)} ${session.valid ? "valid" : "LOST"}: ${session.user} signed in on ${session.signedInOn}, still signed in on ${session.readOn}`,
    `${"migrations".padEnd(13)} ${migrationsLine(migrations)}`,
    ...Object.entries(summary.urls).map(([environment, url]) => `${environment.padEnd(13)} ${url}${summary.cleanedUp ? " (removed)" : ""}`),
  ];
}

/** "0001-create-note, 0002-… applied once (by i-3f2a) as 2 instances started together; i-9c1d found them applied". */
export function migrationsLine(migrations: DemoMigrations): string {
  const applied = Object.entries(migrations.applied);
  const started = `${migrations.instances.length} instances started together in ${migrations.environment}`;
  if (applied.length === 0) return `none to apply (the database had them from an earlier run); ${started}`;
  const byMigration = applied.map(([name, instances]) => `${name} ${instances.length === 1 ? `once (${instances[0]})` : `${instances.length} times (${instances.join(", ")})`}`);
  return `applied ${byMigration.join(", ")}; ${started}${migrations.upToDate.length > 0 ? `, ${migrations.upToDate.join(", ")} found the schema up to date` : ""}`;
}

/** "notes:1.1.0@sha256:19df1253…" as the page's banner names an image, its digest cut to 12 digits. */
export function shortImage(image: string): string {
  return image.replace(/@sha256:([0-9a-f]{12})[0-9a-f]+$/, "@sha256:$1");
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
