// What an accessory is called and what it gives the app: its kind (only postgres today), its name,
// the variable its URL reaches the app as, and the guest port it answers on.
import { IngotError } from "../errors.ts";
import { ACCESSORY_GUEST_HOST } from "../metadata/metadata-server.ts";

/** The kinds `ingot accessory add` and ingot.yaml's accessories know. */
export const ACCESSORY_KINDS = ["postgres"] as const;
export type AccessoryKind = (typeof ACCESSORY_KINDS)[number];

/** The first accessory of an environment answers the guest on PostgreSQL's own port; the next on the ports after. */
export const FIRST_GUEST_PORT = 5432;

export const ACCESSORY_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * @example
 * accessoryKind("postgres"); // "postgres"
 * accessoryKind("mysql");    // throws: … the known kinds are postgres
 */
export function accessoryKind(kind: string): AccessoryKind {
  const known = ACCESSORY_KINDS.find((candidate) => candidate === kind);
  if (known) return known;
  throw new IngotError(`Cannot add an accessory of kind ${JSON.stringify(kind)} as ingot knows no such kind: the known kinds are ${ACCESSORY_KINDS.join(", ")}`, {
    code: "accessory-kind-unknown", hint: "Write ingot accessory add postgres --env dev",
  });
}

/** A name safe in a path, an environment variable (upper-cased) and a table. */
export function accessoryName(name: string): string {
  if (ACCESSORY_NAME.test(name)) return name;
  throw new IngotError(`Cannot use ${JSON.stringify(name)} as an accessory name as it must be a lowercase letter followed by up to 31 lowercase letters, digits or dashes`, {
    code: "accessory-name-invalid", hint: "Use a name like db or analytics",
  });
}

/**
 * `db` (the default name) gives DATABASE_URL, what most libraries and frameworks read; any other
 * name N gives N_DATABASE_URL, so that two databases of one environment never share a variable.
 *
 * @example
 * accessoryVariable("db");        // "DATABASE_URL"
 * accessoryVariable("analytics"); // "ANALYTICS_DATABASE_URL"
 */
export function accessoryVariable(name: string): string {
  return name === "db" ? "DATABASE_URL" : `${name.toUpperCase().replaceAll("-", "_")}_DATABASE_URL`;
}

/** The lowest guest port from FIRST_GUEST_PORT on that no other accessory of the environment has. */
export function freeGuestPort(taken: number[]): number {
  let port = FIRST_GUEST_PORT;
  while (taken.includes(port)) port++;
  return port;
}

/**
 * The URL the app connects with, at the guest address of the environment's QEMU guestfwd. The
 * password is hex, so it needs no escaping in a URL.
 *
 * @example
 * databaseUrl("9f2c…", 5432); // "postgres://app:9f2c…@10.0.2.102:5432/app"
 */
export function databaseUrl(password: string, guestPort: number): string {
  return `postgres://${APP_ROLE}:${password}@${ACCESSORY_GUEST_HOST}:${guestPort}/${APP_DATABASE}`;
}

/** The password inside a URL databaseUrl made; undefined for anything else. */
export function passwordOf(url: string): string | undefined {
  return /^postgres:\/\/[^:]+:([0-9a-f]+)@/.exec(url)?.[1];
}

/** The role the app logs in as, owner of its database; not a superuser (see docs/accessories.md). */
export const APP_ROLE = "app";
export const APP_DATABASE = "app";
