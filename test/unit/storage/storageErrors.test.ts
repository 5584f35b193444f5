// Effectful (temp dirs, SQLite, child processes). Every StorageError code comes from the
// situation it names, and a refused data dir is byte-for-byte what it was before: never reset,
// deleted or rewritten. Also the lock's life cycle across processes and after a crash.

import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeId } from '../../../core/raft/types.ts';
import { SCHEMA_VERSION } from '../../../core/storage/migrations.ts';
import { DB_FILE_NAME, LOCK_FILE_NAME, SqliteLogStorage, StorageError } from '../../../core/storage/sqliteLogStorage.ts';
import type { StorageErrorCode } from '../../../core/storage/sqliteLogStorage.ts';
import { TempDirs, batch, bootstrap, clusterId, commands, conf, fingerprint, hardState, nodeA, repoRoot, snapshot } from './helpers.ts';

const dirs = new TempDirs();
afterAll(() => dirs.removeAll());

function open(dataDir: string, ids: { clusterId?: string; nodeId?: string } = {}): SqliteLogStorage {
  return SqliteLogStorage.open({ dataDir, clusterId: ids.clusterId ?? clusterId, nodeId: nodeId(ids.nodeId ?? nodeA), bootstrap });
}

/** populated returns a data dir holding a compacted log over several pages, cleanly closed. */
function populated(): string {
  const dataDir = dirs.make();
  const storage = open(dataDir);
  storage.save(batch({ hardState: hardState(2, 150), entries: [...commands(1, 99, 1), conf(100, 2), ...commands(101, 200, 2)] }), () => {});
  storage.saveSnapshot(snapshot(40, 1));
  storage.setLocal('applied', '40');
  storage.close();
  return dataDir;
}

function raw(dataDir: string, change: (db: Database.Database) => void): void {
  const db = new Database(join(dataDir, DB_FILE_NAME));
  try {
    change(db);
  } finally {
    db.close();
  }
}

/** refusal opens the data dir, expects the given code, and checks that no file changed. */
function expectRefused(dataDir: string, code: StorageErrorCode, ids: { clusterId?: string; nodeId?: string } = {}): StorageError {
  const before = fingerprint(dataDir);
  let caught: unknown;
  try {
    open(dataDir, ids).close();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(StorageError);
  const error = caught as StorageError;
  expect({ code: error.code, message: error.message }).toMatchObject({ code, message: expect.stringContaining(dataDir) });
  expect(fingerprint(dataDir)).toEqual(before);
  return error;
}

function garbage(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

describe('CorruptDataDir', () => {
  it('refuses a file that is not a SQLite database', () => {
    const dataDir = dirs.make();
    writeFileSync(join(dataDir, DB_FILE_NAME), garbage(20_000, 7));
    expectRefused(dataDir, 'CorruptDataDir');
  });

  it('refuses a text file in place of the database', () => {
    const dataDir = dirs.make();
    writeFileSync(join(dataDir, DB_FILE_NAME), 'node-a was here\n');
    expect(expectRefused(dataDir, 'CorruptDataDir').message).toMatch(/not a SQLite database/);
  });

  it('refuses a database whose pages were overwritten with random bytes', () => {
    const dataDir = populated();
    const file = join(dataDir, DB_FILE_NAME);
    const bytes = readFileSync(file);
    expect(bytes.length).toBeGreaterThan(3 * 4096);
    garbage(bytes.length - 4096, 11).copy(bytes, 4096);
    writeFileSync(file, bytes);
    expectRefused(dataDir, 'CorruptDataDir');
  });

  it('refuses a truncated database', () => {
    const dataDir = populated();
    const file = join(dataDir, DB_FILE_NAME);
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length - 2 * 4096));
    expectRefused(dataDir, 'CorruptDataDir');
  });

  it('refuses a database that PRAGMA quick_check finds damaged', () => {
    const dataDir = populated();
    const file = join(dataDir, DB_FILE_NAME);
    const bytes = readFileSync(file);
    // Offset 36 of the header counts the freelist pages; a wrong count is a structural error.
    bytes.writeUInt32BE(bytes.readUInt32BE(36) + 5, 36);
    writeFileSync(file, bytes);
    expect(expectRefused(dataDir, 'CorruptDataDir').message).toMatch(/quick_check failed: .*Freelist/s);
  });

  it('refuses a SQLite database that is not a Warden data dir', () => {
    const dataDir = dirs.make();
    raw(dataDir, (db) => db.exec('CREATE TABLE accounts (id INTEGER PRIMARY KEY)'));
    expect(expectRefused(dataDir, 'CorruptDataDir').message).toMatch(/not a Warden data dir/);
  });

  it('refuses a data dir with a missing table', () => {
    const dataDir = populated();
    raw(dataDir, (db) => db.exec('DROP TABLE local'));
    expect(expectRefused(dataDir, 'CorruptDataDir').message).toMatch(/tables local are missing/);
  });

  it('refuses a log with a gap', () => {
    const dataDir = populated();
    raw(dataDir, (db) => db.exec('DELETE FROM entries WHERE log_index = 77'));
    expect(expectRefused(dataDir, 'CorruptDataDir').message).toMatch(/gap: entry 77 is missing/);
  });

  it('refuses a log that does not start right after the snapshot', () => {
    const dataDir = populated();
    raw(dataDir, (db) => db.exec('DELETE FROM entries WHERE log_index = 41'));
    expect(expectRefused(dataDir, 'CorruptDataDir').message).toMatch(/starts at entry 42/);
  });

  it('refuses a hard state whose commit index is beyond the last entry', () => {
    const dataDir = populated();
    raw(dataDir, (db) => db.exec('UPDATE hard_state SET commit_index = 201'));
    expect(expectRefused(dataDir, 'CorruptDataDir').message).toMatch(/commit index 201 is beyond the last entry 200/);
  });

  it('refuses a log whose terms decrease', () => {
    const dataDir = populated();
    raw(dataDir, (db) => db.exec('UPDATE entries SET term = 1 WHERE log_index = 150'));
    expect(expectRefused(dataDir, 'CorruptDataDir').message).toMatch(/term decreases at entry 150/);
  });

  it('refuses a data dir whose identity record is missing', () => {
    const dataDir = populated();
    raw(dataDir, (db) => db.exec('DELETE FROM identity'));
    expectRefused(dataDir, 'CorruptDataDir');
  });

  it('refuses a write-ahead log without its database', () => {
    const dataDir = dirs.make();
    writeFileSync(join(dataDir, `${DB_FILE_NAME}-wal`), garbage(4096, 3));
    expectRefused(dataDir, 'CorruptDataDir');
  });

  it('refuses in load() an entry that does not decode', () => {
    const dataDir = populated();
    raw(dataDir, (db) => db.exec(`UPDATE entries SET conf = '{"type":"explode"}' WHERE log_index = 100`));
    const before = fingerprint(dataDir);
    const storage = open(dataDir);
    try {
      expect(() => storage.load()).toThrow(expect.objectContaining({ code: 'CorruptDataDir', message: expect.stringMatching(/entry 100 conf change/) }));
    } finally {
      storage.close();
    }
    expect(fingerprint(dataDir)).toEqual(before);
  });
});

describe('WrongCluster and WrongNode', () => {
  it('refuses the data dir of another cluster', () => {
    const dataDir = populated();
    expect(expectRefused(dataDir, 'WrongCluster', { clusterId: 'other-cluster' }).message).toMatch(/belongs to cluster "test-cluster".*"other-cluster"/);
  });

  it('refuses the data dir of another node', () => {
    const dataDir = populated();
    expect(expectRefused(dataDir, 'WrongNode', { nodeId: 'node-b' }).message).toMatch(/belongs to node "node-a".*"node-b"/);
  });
});

describe('NewerVersion', () => {
  it('refuses a data dir written by a newer schema', () => {
    const dataDir = populated();
    raw(dataDir, (db) => db.pragma(`user_version = ${SCHEMA_VERSION + 1}`));
    expect(expectRefused(dataDir, 'NewerVersion').message).toMatch(new RegExp(`schema version ${SCHEMA_VERSION + 1}`));
  });

  it('refuses a newer schema even when its tables differ from ours', () => {
    const dataDir = populated();
    raw(dataDir, (db) => {
      db.exec('DROP TABLE local; ALTER TABLE entries ADD COLUMN checksum INTEGER');
      db.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    });
    expectRefused(dataDir, 'NewerVersion');
  });
});

describe('Locked', () => {
  it('refuses a second open while the first is open, and the first keeps working', () => {
    const dataDir = populated();
    const first = open(dataDir);
    const lockBefore = readFileSync(join(dataDir, LOCK_FILE_NAME), 'utf8');
    expect(() => open(dataDir)).toThrow(expect.objectContaining({ code: 'Locked', message: expect.stringContaining('already open in this process') }));
    expect(readFileSync(join(dataDir, LOCK_FILE_NAME), 'utf8')).toBe(lockBefore);
    first.save(batch({ hardState: hardState(2, 201), entries: commands(201, 201, 2) }), () => {});
    first.close();
    const again = open(dataDir);
    expect(again.load().hardState.commit).toBe(201);
    again.close();
  });

  it('refuses through the SQLite lock even when the lock file was deleted', () => {
    const dataDir = populated();
    const first = open(dataDir);
    unlinkSync(join(dataDir, LOCK_FILE_NAME));
    expect(() => open(dataDir)).toThrow(expect.objectContaining({ code: 'Locked', message: expect.stringContaining('locked by another connection') }));
    first.save(batch({ hardState: hardState(2, 201), entries: commands(201, 201, 2) }), () => {});
    first.close();
  });

  it('refuses a data dir held by another process, and takes it over once that process is killed', async () => {
    const dataDir = populated();
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/unit/storage/fixtures/storageChild.ts'), 'hold', dataDir, '0', '20000'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('ready')) resolve();
        });
        child.on('exit', (code) => reject(new Error(`child exited early with ${String(code)}`)));
      });
      const error = expectRefused(dataDir, 'Locked');
      expect(error.message).toContain(`process ${String(child.pid)}`);
    } finally {
      child.kill('SIGKILL');
    }
    expect(await exited).toBe('SIGKILL');
    const storage = open(dataDir);
    expect(storage.load().hardState.commit).toBe(150);
    storage.close();
  }, 30_000);

  it('takes over a stale lock file whose pid is dead', () => {
    const dataDir = populated();
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    writeFileSync(join(dataDir, LOCK_FILE_NAME), JSON.stringify({ pid: dead, host: hostname(), token: 'stale' }));
    const storage = open(dataDir);
    expect(JSON.parse(readFileSync(join(dataDir, LOCK_FILE_NAME), 'utf8'))).toMatchObject({ pid: process.pid });
    storage.close();
  });

  it('refuses a lock file held from another host', () => {
    const dataDir = populated();
    writeFileSync(join(dataDir, LOCK_FILE_NAME), JSON.stringify({ pid: 1, host: `not-${hostname()}`, token: 'remote' }));
    expectRefused(dataDir, 'Locked');
  });

  it('refuses a damaged lock file instead of guessing', () => {
    const dataDir = populated();
    writeFileSync(join(dataDir, LOCK_FILE_NAME), 'garbage');
    expect(expectRefused(dataDir, 'Locked').message).toMatch(/damaged/);
  });
});

describe('Io', () => {
  it('reports a data dir path that is a regular file', () => {
    const parent = dirs.make();
    const dataDir = join(parent, 'not-a-dir');
    writeFileSync(dataDir, 'x');
    const before = fingerprint(parent);
    expect(() => open(dataDir)).toThrow(expect.objectContaining({ code: 'Io', file: dataDir }));
    expect(fingerprint(parent)).toEqual(before);
  });
});
