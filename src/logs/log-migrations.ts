// The log store's schema: its own database file ($INGOT_HOME/logs/logs.db), numbered migrations
// applied like the state's (append only). Times are milliseconds since the epoch.
import type { Migration } from "../state/migrations.ts";

export const logMigrations: readonly Migration[] = [
  {
    version: 1,
    name: "log lines with a trigram full-text index",
    sql: `
      -- severity is syslog's 0 (emerg) .. 7 (debug); fields is the JSON of a JSON line, or null.
      CREATE TABLE lines (
        id INTEGER PRIMARY KEY,
        time_ms INTEGER NOT NULL,
        environment TEXT NOT NULL,
        app TEXT NOT NULL,
        version TEXT NOT NULL,
        instance TEXT NOT NULL,
        source TEXT NOT NULL CHECK (source IN ('app', 'console', 'entry')),
        stream TEXT NOT NULL,
        severity INTEGER NOT NULL CHECK (severity BETWEEN 0 AND 7),
        message TEXT NOT NULL,
        fields TEXT
      ) STRICT;
      -- (environment) is (environment, rowid): an environment's newest lines without a sort.
      CREATE INDEX lines_environment ON lines (environment);
      CREATE INDEX lines_time ON lines (time_ms);
      -- Trigram: any substring of 3+ characters is found through the index, like grep (not words
      -- only); detail=none and columnsize=0 keep it small (no positions, no ranking), LIKE rechecks
      -- each candidate against the text.
      CREATE VIRTUAL TABLE lines_text USING fts5 (message, content = 'lines', content_rowid = 'id', tokenize = 'trigram', detail = 'none', columnsize = 0);
      -- The index is written behind ingest, in batches: lines above indexed_upto are grepped by a scan.
      CREATE TABLE text_index (id INTEGER PRIMARY KEY CHECK (id = 1), indexed_upto INTEGER NOT NULL) STRICT;
      INSERT INTO text_index VALUES (1, 0);
      -- What each environment holds, kept as lines come and go: retention by size without a scan.
      CREATE TABLE environment_usage (environment TEXT PRIMARY KEY, lines INTEGER NOT NULL, bytes INTEGER NOT NULL) STRICT;
    `,
  },
];
