// Effectful (runs DDL on a better-sqlite3 connection). The versioned schema of a Warden data dir:
// forward migrations applied in order inside the caller's transaction, with the version kept in
// `PRAGMA user_version`. A data dir written by a newer schema is refused, never touched.

import type { Database } from 'better-sqlite3';
import { StorageError } from './storageError.ts';

/** Migration upgrades a data dir from `version - 1` to `version`. Migrations are append-only. */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly up: (db: Database) => void;
}

/**
 * migrations lists every schema change ever shipped, oldest first. NB: never edit a shipped
 * migration; add a new one, because data dirs in the field already ran the old one.
 */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    description: 'identity, hard state, log entries, snapshot and node-local key/value tables',
    up: (db) => {
      db.exec(`
        CREATE TABLE identity (
          singleton  INTEGER PRIMARY KEY CHECK (singleton = 1),
          cluster_id TEXT NOT NULL,
          node_id    TEXT NOT NULL,
          bootstrap  TEXT NOT NULL
        ) STRICT;
        CREATE TABLE hard_state (
          singleton    INTEGER PRIMARY KEY CHECK (singleton = 1),
          term         INTEGER NOT NULL CHECK (term >= 0),
          voted_for    TEXT,
          commit_index INTEGER NOT NULL CHECK (commit_index >= 0)
        ) STRICT;
        CREATE TABLE entries (
          log_index INTEGER PRIMARY KEY CHECK (log_index > 0),
          term      INTEGER NOT NULL CHECK (term >= 0),
          type      TEXT NOT NULL CHECK (type IN ('noop', 'command', 'conf')),
          data      BLOB,
          conf      TEXT,
          CHECK ((type = 'command') = (data IS NOT NULL)),
          CHECK ((type = 'conf') = (conf IS NOT NULL))
        ) STRICT;
        CREATE TABLE snapshot (
          singleton  INTEGER PRIMARY KEY CHECK (singleton = 1),
          log_index  INTEGER NOT NULL CHECK (log_index > 0),
          term       INTEGER NOT NULL CHECK (term >= 0),
          membership TEXT NOT NULL,
          data       BLOB NOT NULL
        ) STRICT;
        CREATE TABLE local (
          key   TEXT PRIMARY KEY,
          value TEXT NOT NULL
        ) STRICT, WITHOUT ROWID;
        INSERT INTO hard_state (singleton, term, voted_for, commit_index) VALUES (1, 0, NULL, 0);
      `);
    },
  },
];

/** SCHEMA_VERSION is the version this build writes; data dirs above it are refused (`NewerVersion`). */
export const SCHEMA_VERSION: number = migrations.length;

/** requiredTables are the tables a data dir at SCHEMA_VERSION must have; a missing one means corruption. */
export const requiredTables: readonly string[] = ['identity', 'hard_state', 'entries', 'snapshot', 'local'];

/** readSchemaVersion reads `PRAGMA user_version`: 0 for a database Warden never initialised. */
export function readSchemaVersion(db: Database): number {
  const version = db.pragma('user_version', { simple: true });
  if (typeof version !== 'number') throw new TypeError(`PRAGMA user_version returned ${String(version)}`);
  return version;
}

/**
 * migrate brings a database from `from` up to SCHEMA_VERSION. It must run inside the caller's
 * transaction, so that a crash or a failed check leaves the data dir at its old version.
 */
export function migrate(db: Database, file: string, from: number): void {
  if (from > SCHEMA_VERSION) throw newerVersion(file, from);
  if (!db.inTransaction) throw new TypeError('migrate must run inside a transaction');
  for (const migration of migrations) {
    if (migration.version <= from) continue;
    migration.up(db);
    // NB: user_version lives in the database header, which is written by the same transaction.
    db.pragma(`user_version = ${migration.version}`);
  }
}

/** newerVersion is the error for a data dir written by a newer Warden. */
export function newerVersion(file: string, version: number): StorageError {
  return new StorageError(
    'NewerVersion',
    file,
    `${file} has schema version ${version}, but this Warden only knows versions up to ${SCHEMA_VERSION}. ` +
      'It was written by a newer Warden; run that version (or newer) on this data dir. The file was not modified.',
  );
}
