// The state database's schema as numbered migrations: append new ones, never edit an applied one.

/** One step of the schema, applied in its own transaction and recorded in schema_migrations. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * Every migration ingot knows, oldest first; versions are 1, 2, 3… without gaps. Tables are STRICT
 * so a wrong type is an error, not a silent conversion; times are milliseconds since the epoch.
 *
 * @example
 * const latest = migrations.at(-1)!.version; // the schema this ingot writes
 */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: "environments, configuration and secrets",
    sql: `
      -- An environment is a stable address (its entry point) that deploys replace images behind.
      -- entry_port stays null until the first deploy picks one; config_version counts every change
      -- to its configuration or secrets, so a deploy can record exactly what it started with.
      CREATE TABLE environments (
        name TEXT PRIMARY KEY,
        entry_port INTEGER UNIQUE CHECK (entry_port BETWEEN 1 AND 65535),
        bind_address TEXT NOT NULL DEFAULT '127.0.0.1',
        config_version INTEGER NOT NULL DEFAULT 0,
        created_ms INTEGER NOT NULL
      ) STRICT;
      INSERT INTO environments (name, created_ms)
        VALUES ('dev', unixepoch() * 1000), ('test', unixepoch() * 1000), ('prod', unixepoch() * 1000);

      -- Runtime variables (ingot config set): the current value of each key and the environment's
      -- config_version it was set in. History lives in the audit table, not here.
      CREATE TABLE config_entries (
        environment TEXT NOT NULL REFERENCES environments (name) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (environment, key)
      ) STRICT, WITHOUT ROWID;

      -- Secrets (ingot secret set), AES-256-GCM under $INGOT_HOME/state/secret.key: the database
      -- alone never holds a value in the clear.
      CREATE TABLE secrets (
        environment TEXT NOT NULL REFERENCES environments (name) ON DELETE CASCADE,
        name TEXT NOT NULL,
        nonce BLOB NOT NULL CHECK (length(nonce) = 12),
        ciphertext BLOB NOT NULL,
        auth_tag BLOB NOT NULL CHECK (length(auth_tag) = 16),
        version INTEGER NOT NULL,
        PRIMARY KEY (environment, name)
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: "deployments, instances, events and audit",
    sql: `
      -- One row per deploy (also rollbacks and promotions): what it deployed, with which
      -- configuration, and how it ended. The partial index lets one deploy per environment run.
      CREATE TABLE deployments (
        id INTEGER PRIMARY KEY,
        environment TEXT NOT NULL REFERENCES environments (name),
        image_ref TEXT NOT NULL,
        image_digest TEXT NOT NULL CHECK (image_digest GLOB 'sha256:*'),
        strategy TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('running', 'succeeded', 'failed', 'rolled-back')),
        reason TEXT,
        config_version INTEGER NOT NULL,
        started_ms INTEGER NOT NULL,
        finished_ms INTEGER
      ) STRICT;
      CREATE UNIQUE INDEX deployments_one_running ON deployments (environment) WHERE state = 'running';
      CREATE INDEX deployments_by_environment ON deployments (environment, id);

      -- Every instance ingot started. pid + process_start (as the provider reads it, e.g. ticks
      -- from /proc/PID/stat) let a restarted server adopt a QEMU that still runs and never a
      -- stranger that reused its pid. environment and deployment are null for a plain ingot run.
      CREATE TABLE instances (
        id TEXT PRIMARY KEY,
        environment TEXT REFERENCES environments (name),
        deployment INTEGER REFERENCES deployments (id),
        image_digest TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('booting', 'healthy', 'draining', 'stopped', 'failed')),
        pid INTEGER,
        process_start INTEGER,
        qmp_socket TEXT,
        ports TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(ports)),
        run_dir TEXT,
        started_ms INTEGER NOT NULL,
        stopped_ms INTEGER
      ) STRICT;
      CREATE INDEX instances_live ON instances (environment) WHERE state NOT IN ('stopped', 'failed');

      -- Typed progress and state changes, the same records the terminal and the log store get.
      -- No foreign keys: a log line must never block removing what it mentions.
      CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        time_ms INTEGER NOT NULL,
        environment TEXT,
        instance TEXT,
        deployment INTEGER,
        kind TEXT NOT NULL,
        data TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(data))
      ) STRICT;
      CREATE INDEX events_by_environment ON events (environment, id);
      CREATE INDEX events_by_deployment ON events (deployment, id) WHERE deployment IS NOT NULL;

      -- Every mutating call: who (OS user and uid of the caller), what (verb and its arguments with
      -- secrets redacted) and how it ended. Append-only.
      CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        time_ms INTEGER NOT NULL,
        user_name TEXT NOT NULL,
        uid INTEGER NOT NULL,
        verb TEXT NOT NULL,
        arguments TEXT NOT NULL CHECK (json_valid(arguments)),
        outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'failed')),
        error TEXT
      ) STRICT;
    `,
  },
  {
    version: 3,
    name: "a stopped environment",
    sql: `
      -- Set by ingot stop, cleared by the next deploy that succeeds: a stopped environment is kept at
      -- no instances, where any other is kept at the capacity of the image it serves.
      ALTER TABLE environments ADD COLUMN stopped_ms INTEGER;
    `,
  },
  {
    version: 4,
    name: "a degraded environment",
    sql: `
      -- Set when the image an environment serves keeps failing (a crash loop): the capacity keeper
      -- stops replacing its instances until the next deploy that succeeds, or ingot stop, clears it.
      -- JSON of the figures (image, failures, window, last reason), kept across restarts of the server.
      ALTER TABLE environments ADD COLUMN degraded TEXT CHECK (degraded IS NULL OR json_valid(degraded));
    `,
  },
  {
    version: 5,
    name: "a canary's split",
    sql: `
      -- A canary deploy stays running while its new instances take a share of the requests: JSON of
      -- its instances, percent, weights, when the split began and its automatic judging, so that a
      -- restarted server goes on with it (and its judge) rather than undoing it.
      ALTER TABLE deployments ADD COLUMN canary TEXT CHECK (canary IS NULL OR json_valid(canary));
    `,
  },
  {
    version: 6,
    name: "an environment's desired capacity",
    sql: `
      -- Set by ingot scale: the number of instances the environment is kept at, across deploys and
      -- restarts of the server; null keeps it at the number its serving image's ingot.yaml says.
      ALTER TABLE environments ADD COLUMN desired_instances INTEGER CHECK (desired_instances IS NULL OR desired_instances >= 1);
    `,
  },
  {
    version: 7,
    name: "accessories",
    sql: `
      -- A service the control plane runs beside an environment's instances (a PostgreSQL for dev):
      -- its kind, the variable its URL reaches the app as (kept as a secret of the environment, which
      -- ingot secret set|rm then refuse to touch), the guest port its QEMU guestfwd answers on, its
      -- socket folder and the group that may enter it, and the process that serves it, adopted by a
      -- restarted server when its pid and start time still match.
      CREATE TABLE accessories (
        environment TEXT NOT NULL REFERENCES environments(name),
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        variable TEXT NOT NULL,
        guest_port INTEGER NOT NULL,
        socket_dir TEXT NOT NULL,
        socket_gid INTEGER,
        pid INTEGER,
        process_start TEXT,
        created_ms INTEGER NOT NULL,
        PRIMARY KEY (environment, name),
        UNIQUE (environment, variable),
        UNIQUE (environment, guest_port)
      ) STRICT;
    `,
  },
  {
    version: 8,
    name: "a removed environment",
    sql: `
      -- Set by ingot env rm to the id of the last deployment then (0 for none): what the environment
      -- ran and held is gone, and it is as never deployed. Its deployments stay as history, but none
      -- up to this one counts as what it serves, so neither the capacity keeper nor ingot scale
      -- brings its old image back. An id, not a time: a deploy in the same millisecond is no doubt.
      ALTER TABLE environments ADD COLUMN removed_after_deployment INTEGER;
    `,
  },
];
