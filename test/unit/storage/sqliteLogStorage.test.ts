// Effectful (temp dirs, SQLite). What only the SQLite adapter has: the on-disk schema stamp and
// pragmas, fsync latency reports, the recorded identity, the lock file's life cycle, and use
// after close. The shared semantics are in logStorage.test.ts.

import Database from 'better-sqlite3';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeId } from '../../../core/raft/types.ts';
import { AssertionError } from '../../../core/util/assert.ts';
import { SCHEMA_VERSION, requiredTables } from '../../../core/storage/migrations.ts';
import { DB_FILE_NAME, LOCK_FILE_NAME, SqliteLogStorage } from '../../../core/storage/sqliteLogStorage.ts';
import { TempDirs, batch, bootstrap, clusterId, command, commands, conf, hardState, noop, nodeA, nodeB } from './helpers.ts';
import type { Entry } from '../../../core/raft/types.ts';

const dirs = new TempDirs();
afterAll(() => dirs.removeAll());

function open(dataDir: string, extra: { onFsync?: (ms: number) => void; bootstrap?: typeof bootstrap } = {}): SqliteLogStorage {
  return SqliteLogStorage.open({ dataDir, clusterId, nodeId: nodeA, bootstrap: extra.bootstrap ?? bootstrap, ...(extra.onFsync ? { onFsync: extra.onFsync } : {}) });
}

describe('SqliteLogStorage', () => {
  it('creates a missing data dir, parents included, with the schema version, WAL and the identity', () => {
    const dataDir = join(dirs.make(), 'nested', 'node-a');
    const storage = open(dataDir);
    expect(storage.file).toBe(join(dataDir, DB_FILE_NAME));
    storage.close();
    const raw = new Database(join(dataDir, DB_FILE_NAME), { readonly: true });
    try {
      expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      const tables = raw.prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all();
      expect(tables).toEqual(expect.arrayContaining([...requiredTables]));
      expect(raw.prepare('SELECT cluster_id, node_id, bootstrap FROM identity').get()).toEqual({ cluster_id: clusterId, node_id: nodeA, bootstrap: JSON.stringify(bootstrap) });
    } finally {
      raw.close();
    }
  });

  it('reports the duration of every durable save through onFsync, and none for empty batches', () => {
    const durations: number[] = [];
    const storage = open(dirs.make(), { onFsync: (ms) => durations.push(ms) });
    for (let i = 1; i <= 20; i++) storage.save(batch({ hardState: hardState(1, i - 1), entries: commands(i, i, 1) }), () => {});
    storage.save(batch({}), () => {});
    storage.close();
    expect(durations).toHaveLength(20);
    for (const ms of durations) expect(Number.isFinite(ms) && ms > 0).toBe(true);
  });

  it('commits a sync: false commit-only batch without an fsync, and syncs any other batch whatever its hint', () => {
    const dataDir = dirs.make();
    const durations: number[] = [];
    const storage = open(dataDir, { onFsync: (ms) => durations.push(ms) });
    storage.save(batch({ hardState: hardState(1, 0), entries: commands(1, 5, 1) }), () => {});
    expect(durations).toHaveLength(1);
    let done = 0;
    for (let commit = 1; commit <= 3; commit++) storage.save({ ...batch({ hardState: hardState(1, commit) }), sync: false }, () => done++);
    expect(done).toBe(3);
    expect(durations).toHaveLength(1);
    storage.save({ ...batch({ hardState: hardState(1, 4), entries: commands(6, 6, 1) }), sync: false }, () => {});
    storage.save({ ...batch({ hardState: hardState(2, 4, nodeB) }), sync: false }, () => {});
    expect(durations).toHaveLength(3);
    storage.close();
    const reopened = open(dataDir);
    expect(reopened.load().hardState).toEqual(hardState(2, 4, nodeB));
    expect(reopened.load().entries).toEqual(commands(1, 6, 1));
    reopened.close();
  });

  it('keeps the recorded bootstrap membership when a later open passes another one', () => {
    const dataDir = dirs.make();
    open(dataDir).close();
    const storage = open(dataDir, { bootstrap: { voters: [nodeA, nodeB, nodeId('node-d')], learners: [] } });
    expect(storage.load().bootstrap).toEqual(bootstrap);
    expect(storage.bootstrap).toEqual(bootstrap);
    storage.close();
  });

  it('holds a lock file while open and removes it on close', () => {
    const dataDir = dirs.make();
    const storage = open(dataDir);
    expect(existsSync(join(dataDir, LOCK_FILE_NAME))).toBe(true);
    storage.close();
    storage.close();
    expect(readdirSync(dataDir)).toEqual([DB_FILE_NAME]);
  });

  it('refuses to be used after close', () => {
    const storage = open(dirs.make());
    storage.close();
    expect(() => storage.load()).toThrow(AssertionError);
    expect(() => storage.save(batch({ entries: commands(1, 1, 1) }), () => {})).toThrow(AssertionError);
    expect(() => storage.getLocal('x')).toThrow(AssertionError);
  });

  it('keeps a compacted log across many reopens', () => {
    const dataDir = dirs.make();
    for (let round = 0; round < 5; round++) {
      const storage = open(dataDir);
      const lo = round * 10 + 1;
      storage.save(batch({ hardState: hardState(round + 1, lo + 9), entries: commands(lo, lo + 9, round + 1) }), () => {});
      storage.saveSnapshot({ meta: { index: lo + 4, term: round + 1, membership: bootstrap }, data: new Uint8Array([round]) });
      storage.close();
    }
    const storage = open(dataDir);
    const state = storage.load();
    storage.close();
    expect(state.snapshot?.meta).toEqual({ index: 45, term: 5, membership: bootstrap });
    expect(state.entries).toEqual(commands(46, 50, 5));
    expect(state.applied).toBe(45);
    expect(state.hardState).toEqual(hardState(5, 50));
  });

  it('writes batches of every length, entries of all three kinds, in chunks that keep their order', () => {
    // Entries go in by several rows per statement (32, 8, then 1): lengths around each chunk
    // size, and a rewrite of the tail from the middle of a chunk.
    const dataDir = dirs.make();
    const storage = open(dataDir);
    const kinds = (i: number, term: number): Entry => (i % 7 === 0 ? conf(i, term) : i % 5 === 0 ? noop(i, term) : command(i, term));
    const written: Entry[] = [];
    let next = 1;
    for (const length of [1, 7, 8, 9, 31, 32, 33, 41, 70]) {
      const entries = Array.from({ length }, (_, k) => kinds(next + k, 1));
      next += length;
      written.push(...entries);
      storage.save(batch({ hardState: hardState(1, 0), entries }), () => {});
    }
    const rewrite = Array.from({ length: 40 }, (_, k) => kinds(100 + k, 2));
    storage.save(batch({ hardState: hardState(2, 0), entries: rewrite }), () => {});
    storage.close();
    const reopened = open(dataDir);
    const state = reopened.load();
    reopened.close();
    expect(state.entries).toEqual([...written.slice(0, 99), ...rewrite]);
  });
});
