// Finds the PostgreSQL this host has installed (Debian's `postgresql`): the newest major version
// under /usr/lib/postgresql, else what pg_config says. No version is ever written into ingot.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { IngotError } from "../errors.ts";

export interface PostgresInstall {
  /** The folder of postgres, initdb, pg_isready and psql. */
  bindir: string;
  /** Its major version, as a data directory's PG_VERSION names it ("15"). */
  major: string;
}

const DEBIAN_ROOT = "/usr/lib/postgresql";
const NEEDED = ["postgres", "initdb", "pg_isready", "psql"];

/**
 * @example
 * findPostgres(); // { bindir: "/usr/lib/postgresql/15/bin", major: "15" }
 */
export function findPostgres(root = DEBIAN_ROOT, pgConfig = pgConfigBindir): PostgresInstall {
  const majors = (existsSync(root) ? readdirSync(root, { withFileTypes: true }) : [])
    .filter((entry) => /^\d+$/.test(entry.name) && hasBinaries(join(root, entry.name, "bin")))
    .map((entry) => entry.name)
    .sort((a, b) => Number(b) - Number(a));
  if (majors[0]) return { bindir: join(root, majors[0], "bin"), major: majors[0] };
  const bindir = pgConfig();
  if (bindir && hasBinaries(bindir)) return { bindir, major: majorOf(bindir) };
  throw new IngotError(`Cannot run a PostgreSQL accessory as PostgreSQL's server is not installed (no ${join(root, "*", "bin")}/postgres, nor one where pg_config --bindir says)`, {
    code: "accessory-postgres-missing", hint: "Install it: apt-get install postgresql (scripts/setup.sh does)",
  });
}

function hasBinaries(bindir: string): boolean {
  return NEEDED.every((binary) => existsSync(join(bindir, binary)));
}

function pgConfigBindir(): string | undefined {
  try {
    return execFileSync("pg_config", ["--bindir"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return undefined;
  }
}

/** "postgres (PostgreSQL) 15.18 (Debian …)" → "15"; 9.6 and older are "9.6". */
function majorOf(bindir: string): string {
  const version = execFileSync(join(bindir, "postgres"), ["--version"], { encoding: "utf8" });
  const match = /\) (\d+)(?:\.(\d+))?/.exec(version);
  if (!match) return "";
  return Number(match[1]) >= 10 ? match[1]! : `${match[1]}.${match[2]}`;
}
