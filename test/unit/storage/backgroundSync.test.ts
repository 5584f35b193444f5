// Effectful (temp dirs, SQLite, libuv's thread pool). SqliteLogStorage with background sync: a
// leader's save completes, in order, only after the WAL's fdatasync; others flush before they
// return; the flushed descriptor stays the live WAL across checkpoints; a failed flush stops the
// storage with a typed StorageError; close works with a flush in flight.

import { closeSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { PersistBatch } from '../../../core/node/ports.ts';
import { SqliteLogStorage, StorageError } from '../../../core/storage/sqliteLogStorage.ts';
import { TempDirs, batch, bootstrap, clusterId, commands, hardState, nodeA, nodeB, snapshot } from './helpers.ts';

const dirs = new TempDirs();
afterAll(() => dirs.removeAll());

function open(dataDir: string, failures: StorageError[] = [], onFsync?: (ms: number) => void): SqliteLogStorage {
  return SqliteLogStorage.open({ dataDir, clusterId, nodeId: nodeA, bootstrap, ...(onFsync ? { onFsync } : {}), backgroundSync: { onFailure: (error) => failures.push(error) } });
}

/** bg marks a batch as a leader's: flushed off the event loop. */
function bg(parts: Partial<PersistBatch>): PersistBatch {
  return { ...batch(parts), background: true };
}

function saved(storage: SqliteLogStorage, b: PersistBatch): Promise<void> {
  return new Promise((resolve) => storage.save(b, resolve));
}

function reopen(dataDir: string): ReturnType<SqliteLogStorage['load']> {
  const storage = SqliteLogStorage.open({ dataDir, clusterId, nodeId: nodeA, bootstrap });
  try {
    return storage.load();
  } finally {
    storage.close();
  }
}

/** walDescriptors lists this process's descriptors open on `<dataDir>/warden.db-wal` (Linux). */
function walDescriptors(dataDir: string): number[] {
  const wal = join(dataDir, 'warden.db-wal');
  return readdirSync('/proc/self/fd')
    .map(Number)
    .filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === wal;
      } catch {
        return false;
      }
    });
}

const linux = process.platform === 'linux';

describe('SqliteLogStorage background sync', () => {
  it('completes each save after its fdatasync, in order, and a reopen finds every one', async () => {
    const dataDir = dirs.make();
    const fsyncs: number[] = [];
    const storage = open(dataDir, [], (ms) => fsyncs.push(ms));
    const order: number[] = [];
    const all: Promise<void>[] = [];
    let inline = 0;
    for (let i = 0; i < 20; i++) {
      let returned = false;
      all.push(
        new Promise<void>((resolve) =>
          storage.save(bg({ hardState: hardState(1, i * 3), entries: commands(i * 3 + 1, i * 3 + 3, 1) }), () => {
            if (!returned) inline++;
            order.push(i);
            resolve();
          }),
        ),
      );
      returned = true;
      if (i === 10) storage.saveSnapshot(snapshot(12, 1));
    }
    await Promise.all(all);
    expect(inline).toBe(0);
    expect(order).toEqual([...Array(20).keys()]);
    expect(fsyncs).toHaveLength(20);
    storage.close();
    const state = reopen(dataDir);
    expect(state.snapshot?.meta.index).toBe(12);
    expect(state.entries).toEqual(commands(13, 60, 1));
    expect(state.hardState).toEqual(hardState(1, 57));
  });

  it('completes a batch that only moves the commit index at once, and one that changes the vote after its fsync', async () => {
    const dataDir = dirs.make();
    const storage = open(dataDir);
    await saved(storage, batch({ hardState: hardState(1, 0), entries: commands(1, 2, 1) }));
    let done = false;
    storage.save({ ...batch({ hardState: hardState(1, 2) }), sync: false }, () => (done = true));
    expect(done).toBe(true);
    done = false;
    const vote = new Promise<void>((resolve) =>
      storage.save({ ...bg({ hardState: hardState(2, 2, nodeB) }), sync: false }, () => {
        done = true;
        resolve();
      }),
    );
    expect(done).toBe(false);
    await vote;
    storage.close();
    expect(reopen(dataDir).hardState).toEqual(hardState(2, 2, nodeB));
  });

  it('writes a commit-only batch with the next transaction (or at close), not in one of its own', async () => {
    const dataDir = dirs.make();
    const storage = open(dataDir);
    const walSize = (): number => statSync(join(dataDir, 'warden.db-wal')).size;
    await saved(storage, batch({ hardState: hardState(1, 0), entries: commands(1, 3, 1) }));
    const before = walSize();
    let done = false;
    storage.save({ ...batch({ hardState: hardState(1, 2) }), sync: false }, () => (done = true));
    expect(done).toBe(true);
    // Nothing was appended to the WAL, yet the node's own view has the new commit index.
    expect(walSize()).toBe(before);
    expect(storage.load().hardState).toEqual(hardState(1, 2));
    storage.save({ ...batch({ hardState: hardState(1, 3) }), sync: false }, () => undefined);
    storage.close();
    expect(reopen(dataDir).hardState).toEqual(hardState(1, 3));
    // With the next transaction: a later batch without a hard state of its own carries it.
    const again = open(dataDir);
    again.save({ ...batch({ hardState: hardState(1, 4) }), sync: false }, () => undefined);
    await saved(again, bg({ entries: commands(4, 4, 1) }));
    again.close();
    expect(reopen(dataDir).hardState).toEqual(hardState(1, 4));
  });

  it('flushes a batch that is not marked background before save returns', () => {
    const dataDir = dirs.make();
    const fsyncs: number[] = [];
    const storage = open(dataDir, [], (ms) => fsyncs.push(ms));
    let done = false;
    storage.save(batch({ hardState: hardState(1, 0), entries: commands(1, 3, 1) }), () => (done = true));
    expect(done).toBe(true);
    expect(fsyncs).toHaveLength(1);
    storage.close();
    expect(reopen(dataDir).entries).toEqual(commands(1, 3, 1));
  });

  it('keeps completion order across background, in-place and commit-only saves', async () => {
    const dataDir = dirs.make();
    const storage = open(dataDir);
    const order: string[] = [];
    storage.save(bg({ hardState: hardState(1, 0), entries: commands(1, 2, 1) }), () => order.push('background'));
    storage.save({ ...batch({ hardState: hardState(1, 1) }), sync: false }, () => order.push('commit-only'));
    storage.save(batch({ entries: commands(3, 3, 1) }), () => order.push('in place'));
    expect(order).toEqual(['background', 'commit-only', 'in place']);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(order).toEqual(['background', 'commit-only', 'in place']);
    storage.close();
  });

  it.runIf(linux)('throws a failed flush from a batch that is not marked background, and refuses later writes', async () => {
    const dataDir = dirs.make();
    const storage = open(dataDir);
    await saved(storage, bg({ hardState: hardState(1, 0), entries: commands(1, 1, 1) }));
    closeSync(Math.max(...walDescriptors(dataDir)));
    let completed = false;
    expect(() => storage.save(batch({ entries: commands(2, 2, 1) }), () => (completed = true))).toThrow(StorageError);
    expect(completed).toBe(false);
    expect(() => storage.save(batch({ entries: commands(3, 3, 1) }), () => undefined)).toThrow(expect.objectContaining({ code: 'Io' }));
    storage.close();
  });

  it.runIf(linux)('keeps flushing the live write-ahead log across checkpoints', async () => {
    const dataDir = dirs.make();
    const storage = open(dataDir);
    const wal = join(dataDir, 'warden.db-wal');
    // SQLite's own descriptor, and the storage's, opened after it.
    const fd = Math.max(...walDescriptors(dataDir));
    const dbFile = join(dataDir, 'warden.db');
    const before = statSync(dbFile).size;
    // Enough WAL frames for automatic checkpoints (1000 pages), after which SQLite reuses the WAL.
    for (let i = 0; i < 600; i++) await saved(storage, bg({ hardState: hardState(1, i * 4), entries: commands(i * 4 + 1, i * 4 + 4, 1) }));
    expect(statSync(dbFile).size).toBeGreaterThan(before);
    expect(walDescriptors(dataDir)).toContain(fd);
    expect(statSync(`/proc/self/fd/${fd}`).ino).toBe(statSync(wal).ino);
    storage.close();
    expect(walDescriptors(dataDir)).toEqual([]);
  });

  it.runIf(linux)('reports a failed fdatasync once as StorageError Io, never completes the batch, and refuses later writes', async () => {
    const dataDir = dirs.make();
    const failures: StorageError[] = [];
    const storage = open(dataDir, failures);
    await saved(storage, bg({ hardState: hardState(1, 0), entries: commands(1, 1, 1) }));
    // Pull the storage's own descriptor (opened after SQLite's) out from under it, so that its next
    // fdatasync fails (EBADF) while SQLite's writes still succeed.
    const fds = walDescriptors(dataDir);
    expect(fds).toHaveLength(2);
    closeSync(Math.max(...fds));
    let completed = false;
    storage.save(bg({ entries: commands(2, 2, 1) }), () => (completed = true));
    await expect.poll(() => failures.length).toBe(1);
    expect(failures[0]).toBeInstanceOf(StorageError);
    expect(failures[0]).toMatchObject({ code: 'Io' });
    expect(completed).toBe(false);
    expect(() => storage.save(batch({ entries: commands(3, 3, 1) }), () => undefined)).toThrow(failures[0]);
    expect(() => storage.saveSnapshot(snapshot(1, 1))).toThrow(failures[0]);
    storage.close();
    expect(failures).toHaveLength(1);
  });

  it('closes with a sync in flight: that save never completes, and the data dir can be opened again', async () => {
    const dataDir = dirs.make();
    const storage = open(dataDir);
    let completed = false;
    storage.save(bg({ hardState: hardState(1, 0), entries: commands(1, 5, 1) }), () => (completed = true));
    storage.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(completed).toBe(false);
    // SQLite's close checkpoints what was committed; the entries were written before the close.
    expect(reopen(dataDir).entries).toEqual(commands(1, 5, 1));
    if (linux) expect(walDescriptors(dataDir)).toEqual([]);
  });
});
