// Effectful (disk, better-sqlite3). The console's own database, `<stateDir>/console.db`: the
// remote connections an operator saved, with their tokens and CAs. The file is private (0600),
// versioned like a data dir, and refused with a StorageError when it cannot be trusted. Export
// leaves every secret out; import never overwrites what is already saved.

import Database from 'better-sqlite3';
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ApiErrorCode } from '../api/contract.ts';
import { StorageError } from './storageError.ts';

export { StorageError } from './storageError.ts';

/** The database file inside the console's state dir. */
export const CONSOLE_DB_FILE = 'console.db';

/** EXPORT_FORMAT names the export file's format, so an import can tell it from any other JSON. */
export const EXPORT_FORMAT = 'warden-console-connections';

/** EXPORT_VERSION is the export format this build writes; newer files are refused on import. */
export const EXPORT_VERSION = 1;

/**
 * APPLICATION_ID marks a SQLite file as the console's (`PRAGMA application_id`, "WDCN"), so that
 * a Warden node's data dir or another program's database is recognised and never migrated.
 */
export const APPLICATION_ID = 0x5744434e;

/** STORE_LIMITS bounds what a saved or imported connection may hold. */
export const STORE_LIMITS = { nameChars: 100, groupChars: 60, endpoints: 16, endpointChars: 500, idChars: 100, importEntries: 1000, clusterIdChars: 200 } as const;

/**
 * ConnectionStoreErrorCode says why a request on the store was refused. The codes are the
 * console API's own, so a bridge can pass them on to the renderer unchanged.
 */
export type ConnectionStoreErrorCode = Extract<ApiErrorCode, 'NotFound' | 'BadRequest' | 'Conflict'>;

/**
 * ConnectionStoreError is an expected refusal (an unknown id, a bad import, a duplicate id), as
 * opposed to a StorageError, which means the file itself cannot be used.
 */
export class ConnectionStoreError extends Error {
  override readonly name = 'ConnectionStoreError';
  readonly code: ConnectionStoreErrorCode;
  constructor(code: ConnectionStoreErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** StoredConnection is one saved connection, secrets included: it never leaves the backend. */
export interface StoredConnection {
  readonly id: string;
  readonly name: string;
  readonly group: string;
  readonly endpoints: readonly string[];
  /** The bearer token; empty when none is set yet (for example after an import). */
  readonly token: string;
  /** PEM CA for wss:// endpoints signed by a private CA. */
  readonly ca: string | null;
  readonly readOnly: boolean;
  /** The cluster id seen on the first successful connect; later connects must match it. */
  readonly clusterId: string | null;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** NewConnection is what `create` needs; the id is generated unless one is given. */
export interface NewConnection {
  readonly id?: string;
  readonly name: string;
  readonly group: string;
  readonly endpoints: readonly string[];
  readonly token: string;
  readonly ca: string | null;
  readonly readOnly: boolean;
  readonly clusterId?: string | null;
}

/** ConnectionPatch changes some fields of a saved connection; absent fields are kept. */
export interface ConnectionPatch {
  readonly name?: string;
  readonly group?: string;
  readonly endpoints?: readonly string[];
  readonly token?: string;
  readonly ca?: string | null;
  readonly readOnly?: boolean;
}

/** ImportResult counts what an import added and names what it skipped. */
export interface ImportResult {
  readonly imported: number;
  /** "group/name" of every entry skipped because a connection with that name and group exists. */
  readonly skipped: readonly string[];
}

/** ExportedConnection is one entry of an export file: everything but the secrets. */
export interface ExportedConnection {
  readonly name: string;
  readonly group: string;
  readonly endpoints: readonly string[];
  readonly readOnly: boolean;
  readonly clusterId: string | null;
}

/** ExportFile is the whole export: format, version, and the connections. */
export interface ExportFile {
  readonly format: typeof EXPORT_FORMAT;
  readonly version: number;
  readonly exportedAt: string;
  readonly connections: readonly ExportedConnection[];
}

/** ConnectionStoreOptions: where the state lives, and the clock (tests pin it). */
export interface ConnectionStoreOptions {
  readonly stateDir: string;
  readonly now?: () => number;
}

interface Migration {
  readonly version: number;
  readonly description: string;
  readonly up: (db: SqliteDatabase) => void;
}

/**
 * migrations lists every schema change of console.db, oldest first. NB: never edit a shipped
 * migration; append a new one, because state dirs in the field already ran the old one.
 */
const migrations: readonly Migration[] = [
  {
    version: 1,
    description: 'saved connections',
    up: (db) => {
      db.exec(`
        CREATE TABLE connections (
          id         TEXT PRIMARY KEY,
          name       TEXT NOT NULL CHECK (length(name) > 0),
          grp        TEXT NOT NULL,
          endpoints  TEXT NOT NULL,
          token      TEXT NOT NULL,
          ca         TEXT,
          read_only  INTEGER NOT NULL CHECK (read_only IN (0, 1)),
          cluster_id TEXT,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL
        ) STRICT;
      `);
    },
  },
];

/** CONSOLE_SCHEMA_VERSION is the schema this build writes; newer files are refused. */
export const CONSOLE_SCHEMA_VERSION: number = migrations.length;

interface Row {
  readonly id: string;
  readonly name: string;
  readonly grp: string;
  readonly endpoints: string;
  readonly token: string;
  readonly ca: string | null;
  readonly read_only: number;
  readonly cluster_id: string | null;
  readonly created_at: number;
  readonly updated_at: number;
}

interface Statements {
  readonly all: Statement<[], Row>;
  readonly one: Statement<[string], Row>;
  readonly insert: Statement<[Row]>;
  readonly update: Statement<[Row]>;
  readonly remove: Statement<[string]>;
  readonly setClusterId: Statement<[string | null, number, string]>;
}

/**
 * ConnectionStore keeps the console's saved connections. Every write is one SQLite transaction;
 * the database runs in WAL mode, so a second console process (the desktop app next to a
 * `warden console`) can read and write the same file.
 */
export class ConnectionStore {
  /** The absolute path of console.db; StorageErrors name it. */
  readonly file: string;
  private readonly db: SqliteDatabase;
  private readonly now: () => number;
  private readonly statements: Statements;
  private closed = false;

  private constructor(file: string, db: SqliteDatabase, now: () => number) {
    this.file = file;
    this.db = db;
    this.now = now;
    this.statements = {
      all: db.prepare<[], Row>('SELECT * FROM connections ORDER BY grp, name, created_at, id'),
      one: db.prepare<[string], Row>('SELECT * FROM connections WHERE id = ?'),
      insert: db.prepare<[Row]>(
        `INSERT INTO connections (id, name, grp, endpoints, token, ca, read_only, cluster_id, created_at, updated_at)
         VALUES (@id, @name, @grp, @endpoints, @token, @ca, @read_only, @cluster_id, @created_at, @updated_at)`,
      ),
      update: db.prepare<[Row]>(
        `UPDATE connections SET name = @name, grp = @grp, endpoints = @endpoints, token = @token, ca = @ca, read_only = @read_only,
         cluster_id = @cluster_id, updated_at = @updated_at WHERE id = @id`,
      ),
      remove: db.prepare<[string]>('DELETE FROM connections WHERE id = ?'),
      setClusterId: db.prepare<[string | null, number, string]>('UPDATE connections SET cluster_id = ?, updated_at = ? WHERE id = ?'),
    };
  }

  /**
   * open creates the state dir (0700) and console.db (0600) on first use, and checks and
   * migrates the file on later opens. A file that is not the console's database, is damaged,
   * or was written by a newer console is refused with a StorageError and not modified.
   */
  static open(options: ConnectionStoreOptions): ConnectionStore {
    const stateDir = resolve(options.stateDir);
    const file = join(stateDir, CONSOLE_DB_FILE);
    try {
      mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new StorageError('Io', stateDir, `cannot create the console's state dir ${stateDir}: ${describe(error)}. Check the path and its permissions.`, { cause: error });
    }
    let db: SqliteDatabase | undefined;
    try {
      const existed = checkHeader(file);
      // NB: create the file ourselves with 0600 before SQLite does (it would use the umask): it
      // holds tokens. SQLite gives its -wal and -shm files the mode of the database file.
      if (!existed) closeSync(openSync(file, 'a', 0o600));
      db = new Database(file, { fileMustExist: true, timeout: 2000 });
      const found = inspect(db, file);
      // Tighten an existing file only once it is known to be ours, and before the WAL exists.
      chmodSync(file, 0o600);
      initialise(db, file, found);
      return new ConnectionStore(file, db, options.now ?? Date.now);
    } catch (error) {
      try {
        db?.close();
      } catch {
        // The original error is the one worth reporting.
      }
      throw toStorageError(error, file, 'open');
    }
  }

  /** list returns every saved connection, ordered by group and name. */
  list(): StoredConnection[] {
    this.assertOpen();
    return this.read(() => this.statements.all.all().map((row) => this.decode(row)));
  }

  /** get returns one saved connection, or undefined. */
  get(id: string): StoredConnection | undefined {
    this.assertOpen();
    const row = this.read(() => this.statements.one.get(id));
    return row === undefined ? undefined : this.decode(row);
  }

  /**
   * create saves a new connection. A given id that is already taken, or a name already used in
   * the same group, is a Conflict: names are how people tell connections apart.
   */
  create(input: NewConnection): StoredConnection {
    this.assertOpen();
    const id = input.id === undefined ? newId() : checkId(input.id);
    const fields = checkFields({ name: input.name, group: input.group, endpoints: input.endpoints, readOnly: input.readOnly }, 'connection');
    const at = this.now();
    const row: Row = {
      id,
      name: fields.name,
      grp: fields.group,
      endpoints: JSON.stringify(fields.endpoints),
      token: checkToken(input.token),
      ca: input.ca ?? null,
      read_only: fields.readOnly ? 1 : 0,
      cluster_id: checkClusterId(input.clusterId ?? null, 'clusterId'),
      created_at: at,
      updated_at: at,
    };
    this.write('create', () => {
      if (this.statements.one.get(id) !== undefined) throw new ConnectionStoreError('Conflict', `a saved connection with id ${id} already exists`);
      this.checkUnique(row.grp, row.name, id);
      this.statements.insert.run(row);
    });
    return this.decode(row);
  }

  /** update changes the given fields of a saved connection; the cluster id is kept. */
  update(id: string, patch: ConnectionPatch): StoredConnection {
    this.assertOpen();
    let updated: Row | undefined;
    this.write('update', () => {
      const current = this.statements.one.get(id);
      if (current === undefined) throw new ConnectionStoreError('NotFound', `no saved connection ${id}`);
      const was = this.decode(current);
      const fields = checkFields(
        { name: patch.name ?? was.name, group: patch.group ?? was.group, endpoints: patch.endpoints ?? was.endpoints, readOnly: patch.readOnly ?? was.readOnly },
        'connection',
      );
      this.checkUnique(fields.group, fields.name, id);
      updated = {
        ...current,
        name: fields.name,
        grp: fields.group,
        endpoints: JSON.stringify(fields.endpoints),
        token: patch.token === undefined ? current.token : checkToken(patch.token),
        ca: patch.ca === undefined ? current.ca : patch.ca,
        read_only: fields.readOnly ? 1 : 0,
        updated_at: this.now(),
      };
      this.statements.update.run(updated);
    });
    return this.decode(updated as Row);
  }

  /** recordClusterId remembers the cluster a connection reached (or forgets it with null). */
  recordClusterId(id: string, clusterId: string | null): void {
    this.assertOpen();
    const checked = checkClusterId(clusterId, 'clusterId');
    this.write('recordClusterId', () => {
      if (this.statements.setClusterId.run(checked, this.now(), id).changes === 0) throw new ConnectionStoreError('NotFound', `no saved connection ${id}`);
    });
  }

  /** delete removes a saved connection and says whether it existed. */
  delete(id: string): boolean {
    this.assertOpen();
    let removed = false;
    this.write('delete', () => {
      removed = this.statements.remove.run(id).changes > 0;
    });
    return removed;
  }

  /**
   * exportJson writes every saved connection without its token or CA, to share with colleagues:
   * they add their own token after importing.
   */
  exportJson(): string {
    const file: ExportFile = {
      format: EXPORT_FORMAT,
      version: EXPORT_VERSION,
      exportedAt: new Date(this.now()).toISOString(),
      connections: this.list().map((c) => ({ name: c.name, group: c.group, endpoints: [...c.endpoints], readOnly: c.readOnly, clusterId: c.clusterId })),
    };
    return `${JSON.stringify(file, null, 2)}\n`;
  }

  /**
   * importJson adds the connections of an export file. Every imported connection gets a new id
   * and no token, so nothing saved is ever overwritten; an entry whose name and group are
   * already taken (saved before, or earlier in the same file) is skipped and reported. The file
   * is checked whole before anything is written, and the import is one transaction.
   */
  importJson(json: string): ImportResult {
    this.assertOpen();
    const entries = parseExport(json);
    const skipped: string[] = [];
    let imported = 0;
    this.write('import', () => {
      const taken = new Set(this.statements.all.all().map((row) => key(row.grp, row.name)));
      const at = this.now();
      for (const entry of entries) {
        const k = key(entry.group, entry.name);
        if (taken.has(k)) {
          skipped.push(entry.group === '' ? entry.name : `${entry.group}/${entry.name}`);
          continue;
        }
        taken.add(k);
        this.statements.insert.run({
          id: newId(),
          name: entry.name,
          grp: entry.group,
          endpoints: JSON.stringify(entry.endpoints),
          token: '',
          ca: null,
          read_only: entry.readOnly ? 1 : 0,
          cluster_id: entry.clusterId,
          created_at: at,
          updated_at: at,
        });
        imported++;
      }
    });
    return { imported, skipped };
  }

  /** close releases the database; it is idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageError('Io', this.file, `${this.file}: the connection store is closed`);
  }

  /** checkUnique refuses a second connection with the same name in the same group (any case). */
  private checkUnique(group: string, name: string, id: string): void {
    const k = key(group, name);
    const other = this.statements.all.all().find((row) => row.id !== id && key(row.grp, row.name) === k);
    if (other !== undefined) throw new ConnectionStoreError('Conflict', `a connection named ${JSON.stringify(name)} already exists${group === '' ? '' : ` in group ${JSON.stringify(group)}`}; pick another name`);
  }

  private read<T>(run: () => T): T {
    try {
      return run();
    } catch (error) {
      throw toStorageError(error, this.file, 'read');
    }
  }

  private write(operation: string, run: () => void): void {
    try {
      this.db.transaction(run).immediate();
    } catch (error) {
      throw toStorageError(error, this.file, operation);
    }
  }

  private decode(row: Row): StoredConnection {
    let endpoints: unknown;
    try {
      endpoints = JSON.parse(row.endpoints);
    } catch {
      endpoints = null;
    }
    if (!Array.isArray(endpoints) || endpoints.some((e) => typeof e !== 'string')) {
      throw new StorageError('CorruptDataDir', this.file, `${this.file}: connection ${row.id} has unreadable endpoints; delete it and save it again`);
    }
    return {
      id: row.id,
      name: row.name,
      group: row.grp,
      endpoints: endpoints as string[],
      token: row.token,
      ca: row.ca,
      readOnly: row.read_only === 1,
      clusterId: row.cluster_id,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }
}

function key(group: string, name: string): string {
  return JSON.stringify([group.toLowerCase(), name.toLowerCase()]);
}

function newId(): string {
  return `c-${randomBytes(8).toString('hex')}`;
}

function fail(message: string): never {
  throw new ConnectionStoreError('BadRequest', message);
}

function checkId(id: unknown): string {
  if (typeof id !== 'string' || !/^[A-Za-z0-9._-]+$/.test(id) || id.length > STORE_LIMITS.idChars) fail('id may hold only letters, digits, dot, dash and underscore (at most 100)');
  return id;
}

function checkToken(token: unknown): string {
  if (typeof token !== 'string') fail('token must be a string');
  if (/\s/.test(token)) fail('token must not contain whitespace');
  return token;
}

function checkClusterId(value: unknown, field: string): string | null {
  if (value === null) return null;
  if (typeof value !== 'string' || value === '' || value.length > STORE_LIMITS.clusterIdChars) fail(`${field} must be a non-empty string of at most ${STORE_LIMITS.clusterIdChars} characters, or null`);
  return value;
}

function checkEndpoint(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') fail(`${field} must be a ws:// or wss:// URL`);
  if (value.length > STORE_LIMITS.endpointChars) fail(`${field} is longer than ${STORE_LIMITS.endpointChars} characters`);
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    fail(`${field} ${JSON.stringify(value).slice(0, 80)} is not a URL (expected ws://host:port/client)`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') fail(`${field} must start with ws:// or wss://`);
  if (url.hostname === '') fail(`${field} has no host`);
  if (url.username || url.password) fail(`${field} must not carry credentials`);
  return url.toString();
}

/** checkFields validates what every saved connection must satisfy, naming the bad field. */
function checkFields(input: { name: unknown; group: unknown; endpoints: unknown; readOnly: unknown }, what: string): { name: string; group: string; endpoints: string[]; readOnly: boolean } {
  if (typeof input.name !== 'string' || input.name.trim() === '') fail(`${what}.name must be a non-empty string`);
  if (input.name.length > STORE_LIMITS.nameChars) fail(`${what}.name is longer than ${STORE_LIMITS.nameChars} characters`);
  if (typeof input.group !== 'string') fail(`${what}.group must be a string`);
  if (input.group.length > STORE_LIMITS.groupChars) fail(`${what}.group is longer than ${STORE_LIMITS.groupChars} characters`);
  if (!Array.isArray(input.endpoints) || input.endpoints.length === 0) fail(`${what}.endpoints must be a non-empty list of ws:// or wss:// URLs`);
  if (input.endpoints.length > STORE_LIMITS.endpoints) fail(`${what}.endpoints may hold at most ${STORE_LIMITS.endpoints} URLs`);
  const endpoints = input.endpoints.map((e, i) => checkEndpoint(e, `${what}.endpoints[${i}]`));
  if (typeof input.readOnly !== 'boolean') fail(`${what}.readOnly must be true or false`);
  return { name: input.name.trim(), group: input.group.trim(), endpoints, readOnly: input.readOnly };
}

/** parseExport reads and checks a whole export file before anything is written. */
function parseExport(json: string): ExportedConnection[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    fail(`the import is not JSON (${describe(error)})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('the import must be a JSON object');
  const file = value as Record<string, unknown>;
  if (file.format !== EXPORT_FORMAT) fail(`the import is not a Warden console export (format must be ${JSON.stringify(EXPORT_FORMAT)})`);
  if (typeof file.version !== 'number' || !Number.isInteger(file.version) || file.version < 1) fail('the import has no valid version');
  if (file.version > EXPORT_VERSION) fail(`the import has format version ${file.version}, but this console reads versions up to ${EXPORT_VERSION}; update the console`);
  for (const k of Object.keys(file)) if (!['format', 'version', 'exportedAt', 'connections'].includes(k)) fail(`the import has an unknown field ${JSON.stringify(k).slice(0, 60)}`);
  if (!Array.isArray(file.connections)) fail('the import must have a list of connections');
  if (file.connections.length > STORE_LIMITS.importEntries) fail(`the import may hold at most ${STORE_LIMITS.importEntries} connections`);
  return file.connections.map((raw, i) => {
    const what = `connections[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(`${what} must be an object`);
    const entry = raw as Record<string, unknown>;
    for (const k of Object.keys(entry)) {
      if (k === 'token' || k === 'ca') fail(`${what} carries a ${k}: exports never hold secrets, so the file was not made by the console; remove the field`);
      if (!['name', 'group', 'endpoints', 'readOnly', 'clusterId'].includes(k)) fail(`${what} has an unknown field ${JSON.stringify(k).slice(0, 60)}`);
    }
    const fields = checkFields({ name: entry.name, group: entry.group ?? '', endpoints: entry.endpoints, readOnly: entry.readOnly ?? false }, what);
    return { ...fields, clusterId: checkClusterId(entry.clusterId ?? null, `${what}.clusterId`) };
  });
}

const sqliteMagic = Buffer.from('SQLite format 3\0', 'latin1');

/** checkHeader says whether console.db exists, after checking (without SQLite) that it is a SQLite file. */
function checkHeader(file: string): boolean {
  if (!existsSync(file)) return false;
  const fd = openSync(file, 'r');
  try {
    if (fstatSync(fd).size === 0) return true;
    const header = Buffer.alloc(sqliteMagic.length);
    const read = readSync(fd, header, 0, header.length, 0);
    if (read < header.length || !header.equals(sqliteMagic)) throw corrupt(file, 'it is not a SQLite database (bad file header)');
    return true;
  } finally {
    closeSync(fd);
  }
}

/**
 * inspect checks console.db without writing: its application id, schema version, integrity,
 * and that a file with no version has no tables. NB: it runs before the first write, so a
 * foreign, newer or damaged file is left exactly as it was.
 */
function inspect(db: SqliteDatabase, file: string): { version: number; appId: number } {
  const version = db.pragma('user_version', { simple: true }) as number;
  const appId = db.pragma('application_id', { simple: true }) as number;
  if (appId !== 0 && appId !== APPLICATION_ID) throw corrupt(file, `it is a SQLite database of another program (application id ${appId})`);
  if (version > CONSOLE_SCHEMA_VERSION) {
    throw new StorageError('NewerVersion', file, `${file} has schema version ${version}, but this console knows versions up to ${CONSOLE_SCHEMA_VERSION}; it was written by a newer console. The file was not modified.`);
  }
  const problems = db.prepare<[], string>('PRAGMA quick_check').pluck().all();
  if (problems.length !== 1 || problems[0] !== 'ok') throw corrupt(file, `PRAGMA quick_check failed: ${problems.slice(0, 3).join('; ')}`);
  const tables = db.prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all();
  if (version === 0 && tables.length > 0) throw corrupt(file, `it is a SQLite database but not the console's (tables ${tables.join(', ')})`);
  if (version > 0 && appId !== APPLICATION_ID) throw corrupt(file, 'it is a SQLite database but not the console\'s (no console application id)');
  return { version, appId };
}

/** initialise migrates console.db to this build's schema in one transaction and turns on WAL. */
function initialise(db: SqliteDatabase, file: string, { version, appId }: { version: number; appId: number }): void {
  db.transaction(() => {
    for (const migration of migrations) {
      if (migration.version <= version) continue;
      migration.up(db);
      db.pragma(`user_version = ${migration.version}`);
    }
    if (appId === 0) db.pragma(`application_id = ${APPLICATION_ID}`);
    const present = new Set(db.prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all());
    if (!present.has('connections')) throw corrupt(file, 'the connections table is missing');
  }).immediate();
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal') throw new StorageError('Io', file, `${file}: cannot switch to write-ahead logging (journal mode is ${String(mode)}); use a local file system for the state dir`);
  db.pragma('synchronous = FULL');
}

function corrupt(file: string, why: string, cause?: unknown): StorageError {
  return new StorageError('CorruptDataDir', file, `${file} cannot be used as the console's database: ${why}. Move it away (the console then starts with no saved connections). The file was not modified.`, { cause });
}

function toStorageError(error: unknown, file: string, operation: string): unknown {
  if (error instanceof StorageError || error instanceof ConnectionStoreError) return error;
  if (error instanceof Database.SqliteError) {
    const code = error.code;
    if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED') {
      return new StorageError('Locked', file, `${file} is busy: another console holds a long write on it; try again`, { cause: error });
    }
    if (code === 'SQLITE_NOTADB') return corrupt(file, 'it is not a SQLite database', error);
    if (code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT_')) return corrupt(file, `SQLite reports: ${error.message}`, error);
    if (/no such (table|column)/.test(error.message)) return corrupt(file, `the schema does not match its version (${error.message})`, error);
  }
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') {
    return new StorageError('Io', file, `${operation} failed on ${file} (${error.code}): ${error.message}. Check the disk and the state dir's permissions.`, { cause: error });
  }
  return error;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
