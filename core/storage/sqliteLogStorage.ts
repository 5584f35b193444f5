// Effectful (disk, better-sqlite3, libuv's thread pool). SqliteLogStorage is the production
// LogStorage: Raft's hard state, log and snapshot in `<dataDir>/warden.db`, WAL, one transaction
// per save, made durable before `done` (by SQLite at commit, or by an fdatasync of the WAL off
// the event loop). A data dir it cannot trust is refused with a StorageError and left as it was.

import Database from 'better-sqlite3';
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import { closeSync, existsSync, fdatasync, fdatasyncSync, fstatSync, fsyncSync, mkdirSync, openSync, readSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { AssertionError, assert } from '../util/assert.ts';
import type { LogStorage, PersistBatch } from '../node/ports.ts';
import type { Entry, HardState, LogIndex, Membership, NodeId, PersistedState, Snapshot } from '../raft/types.ts';
import { DataDirLock } from './dataDirLock.ts';
import { SCHEMA_VERSION, migrate, newerVersion, readSchemaVersion, requiredTables } from './migrations.ts';
import { corrupt, count, decodeMembership, encodeMembership, plainBytes, pushEntryValues, rowToEntry, storedNodeId } from './rowCodec.ts';
import type { EntryRow } from './rowCodec.ts';
import { StorageError } from './storageError.ts';

export { StorageError } from './storageError.ts';
export type { StorageErrorCode } from './storageError.ts';

/** The database file inside a data dir. */
export const DB_FILE_NAME = 'warden.db';
/** The lock file inside a data dir; it exists while a process has the dir open. */
export const LOCK_FILE_NAME = 'warden.lock';

/** SqliteLogStorageOptions identifies the node that owns a data dir. */
export interface SqliteLogStorageOptions {
  /** The node's data dir; created on first use. */
  readonly dataDir: string;
  /** The cluster this node belongs to; a data dir of another cluster is refused (`WrongCluster`). */
  readonly clusterId: string;
  /** This node's id; a data dir of another node is refused (`WrongNode`). */
  readonly nodeId: NodeId;
  /**
   * The initial members, recorded when the data dir is created. On later opens the recorded
   * membership wins (like etcd's `--initial-cluster`): Raft replays conf entries from it, so it
   * must never change under an existing log, even when the configuration file is edited.
   */
  readonly bootstrap: Membership;
  /** Called with the duration of every synced save, in milliseconds (for an fsync latency histogram). */
  readonly onFsync?: (ms: number) => void;
  /**
   * Background sync: the connection runs with synchronous = NORMAL and each synced save ends with
   * an explicit fdatasync of the WAL. For a batch marked `background` (a leader's) it runs on
   * libuv's thread pool and `done` fires once it returns, so the event loop keeps serving while
   * the disk flushes; other batches are flushed before `save` returns, which is quicker. Without
   * this option SQLite syncs the WAL inside COMMIT (synchronous = FULL).
   */
  readonly backgroundSync?: BackgroundSyncOptions;
}

/** BackgroundSyncOptions: where a failed background fsync is reported. */
export interface BackgroundSyncOptions {
  /**
   * Called once, with a StorageError `Io`, when a background fsync fails. The batches it covered
   * never complete and every later write throws the same error: the node must stop, because it
   * can no longer promise durability (as when a synchronous save throws).
   */
  readonly onFailure: (error: StorageError) => void;
}

/** A save whose `done` waits for a background fsync; `seq` orders it among writes. */
interface PendingSync {
  readonly seq: number;
  readonly done: () => void;
  readonly started: bigint;
}

interface HardStateRow {
  readonly term: number;
  readonly voted_for: string | null;
  readonly commit_index: number;
}

interface SnapshotRow {
  readonly log_index: number;
  readonly term: number;
  readonly membership: string;
  readonly data: Uint8Array;
}

interface SnapshotMetaRow {
  readonly log_index: number;
  readonly term: number;
}

interface IdentityRow {
  readonly cluster_id: string;
  readonly node_id: string;
  readonly bootstrap: string;
}

interface LogBoundsRow {
  readonly first: number | null;
  readonly last: number | null;
  readonly n: number;
}

/** LogBounds: where the durable log starts (the snapshot) and ends (see SqliteLogStorage.bounds). */
interface LogBounds {
  snapshotIndex: LogIndex;
  snapshotTerm: number;
  last: LogIndex;
}

/** INSERT_ROWS are the entry counts of the prepared inserts, largest first, ending with 1. */
const INSERT_ROWS: readonly number[] = [32, 8, 1];

/** Statements are prepared once per connection; every save reuses them. */
interface Statements {
  readonly selectHardState: Statement<[], HardStateRow>;
  readonly upsertHardState: Statement<[{ term: number; voted_for: string | null; commit_index: number }]>;
  readonly selectSnapshot: Statement<[], SnapshotRow>;
  readonly selectSnapshotMeta: Statement<[], SnapshotMetaRow>;
  readonly upsertSnapshot: Statement<[SnapshotRow]>;
  readonly selectEntries: Statement<[], EntryRow>;
  readonly selectEntryTerm: Statement<[number], number>;
  readonly selectLastIndex: Statement<[], number | null>;
  /** Inserts of INSERT_ROWS[i] entries at once, by i: one statement per chunk instead of per entry. */
  readonly insertEntries: readonly Statement<unknown[]>[];
  readonly deleteEntriesFrom: Statement<[number]>;
  readonly deleteEntriesThrough: Statement<[number]>;
  readonly deleteAllEntries: Statement<[]>;
  readonly selectLocal: Statement<[string], string>;
  readonly upsertLocal: Statement<[string, string]>;
}

/**
 * SqliteLogStorage keeps one node's Raft state durable. `save` commits the whole batch in one
 * SQLite transaction and calls `done` only once it is on disk (synchronously, or after a
 * background fdatasync of the WAL), so NodeHost never sends a message that depends on state
 * still in memory (Raft §5, Figure 2: persist before responding). It also holds the data dir's
 * lock while open.
 */
export class SqliteLogStorage implements LogStorage {
  /** The absolute data dir. */
  readonly dataDir: string;
  /** The absolute path of `warden.db`; StorageErrors name it. */
  readonly file: string;
  /** The bootstrap membership recorded when the data dir was created. */
  readonly bootstrap: Membership;
  private readonly db: SqliteDatabase;
  private readonly lock: DataDirLock;
  private readonly onFsync: ((ms: number) => void) | undefined;
  private readonly statements: Statements;
  private readonly saveTransaction: (batch: PersistBatch) => void;
  private readonly snapshotTransaction: (snapshot: Snapshot) => void;
  private closed = false;
  /** Background sync only: the WAL's file descriptor, which every fdatasync flushes. */
  private walFd: number | null = null;
  private readonly background: BackgroundSyncOptions | null;
  /** Saves written but not yet covered by a completed fdatasync, oldest first. */
  private readonly pendingSyncs: PendingSync[] = [];
  private writeSeq = 0;
  private syncsInFlight = 0;
  private failure: StorageError | null = null;
  /**
   * The latest commit-only hard state, not yet written: it goes into the next transaction (or
   * is written at close). The commit index is a restart hint (Raft keeps it in volatile state):
   * a crash that loses it only makes the node learn it again from the leader.
   */
  private deferredHardState: HardState | null = null;
  /**
   * The hard state row as last committed (read once, then kept in step with every write), so
   * that a save need not read it back: mustSync compares terms and votes against it, and
   * applyBatch checks the commit index against the log with it.
   */
  private storedHardState: { readonly term: number; readonly votedFor: string | null; readonly commit: number } | null = null;
  /**
   * Where the durable log starts and ends (read once, then kept in step by every transaction; a
   * transaction that throws drops it, to be read again), so that a save does not query the
   * snapshot row and the last index, nor delete a suffix the log does not have.
   */
  private logBounds: LogBounds | null = null;

  private constructor(dataDir: string, file: string, db: SqliteDatabase, lock: DataDirLock, bootstrap: Membership, options: SqliteLogStorageOptions) {
    this.dataDir = dataDir;
    this.file = file;
    this.db = db;
    this.lock = lock;
    this.bootstrap = bootstrap;
    this.onFsync = options.onFsync;
    this.background = options.backgroundSync ?? null;
    this.statements = prepareStatements(db);
    this.saveTransaction = db.transaction((batch: PersistBatch) => this.applyBatch(batch));
    this.snapshotTransaction = db.transaction((snapshot: Snapshot) => this.compactTo(snapshot));
  }

  /**
   * open creates the data dir and database on first use (recording cluster id, node id and the
   * bootstrap membership) and verifies them on later opens. It throws StorageError when the dir
   * is damaged, foreign, from a newer Warden or in use, and then never writes to it.
   */
  static open(options: SqliteLogStorageOptions): SqliteLogStorage {
    if (typeof options.clusterId !== 'string' || options.clusterId.length === 0) throw new RangeError('clusterId must be a non-empty string');
    const dataDir = resolve(options.dataDir);
    const file = join(dataDir, DB_FILE_NAME);
    const firstCreated = makeDataDir(dataDir);
    const lock = DataDirLock.acquire(join(dataDir, LOCK_FILE_NAME));
    let db: SqliteDatabase | undefined;
    try {
      const existed = checkDatabaseFile(file);
      db = new Database(file, { fileMustExist: existed, timeout: 0 });
      const bootstrap = prepareDatabase(db, file, options);
      const storage = new SqliteLogStorage(dataDir, file, db, lock, bootstrap, options);
      if (options.backgroundSync) storage.walFd = openWalForSync(db, file);
      // NB: SQLite syncs the directory for its journals, not for a new database file: do it here.
      // With background sync it never syncs the WAL itself, so the directory must hold its entry too.
      if (!existed || options.backgroundSync) syncDirectory(dataDir);
      if (firstCreated !== undefined) syncDirectory(dirname(firstCreated));
      return storage;
    } catch (error) {
      try {
        db?.close();
      } catch {
        // The original error is the one worth reporting.
      }
      lock.release();
      throw toStorageError(error, file, 'open');
    }
  }

  /** load reads what a restarting node resumes from; `applied` is the snapshot index (or 0). */
  load(): PersistedState {
    this.assertOpen();
    const s = this.statements;
    const hardState = this.deferredHardState ?? decodeHardState(s.selectHardState.get(), this.file);
    const snapshotRow = s.selectSnapshot.get();
    const snapshot = snapshotRow === undefined ? null : decodeSnapshot(snapshotRow, this.file);
    const snapshotIndex = snapshot?.meta.index ?? 0;
    const entries = s.selectEntries.all().map((row) => rowToEntry(row, this.file));
    entries.forEach((entry, i) => {
      if (entry.index !== snapshotIndex + i + 1) throw corrupt(this.file, `the log has a gap: entry ${entry.index} where ${snapshotIndex + i + 1} was expected`);
    });
    return { hardState, snapshot, entries, bootstrap: this.bootstrap, applied: snapshotIndex };
  }

  /**
   * save makes the batch durable in one transaction (snapshot, then the entries replacing the log
   * from their first index, then the hard state) and then calls `done`: synchronously, or with
   * background sync once the WAL's fdatasync returns (batches complete in the order saved). An
   * empty batch calls `done` at once without touching the disk. A failed write throws (and, with
   * background sync, a failed fdatasync goes to `onFailure`); `done` is then never called: the
   * node must stop, because it can no longer promise durability.
   * A batch with `sync: false` that only moves the commit index is not written on its own: its
   * hard state goes into the next transaction, or is written at close (the commit index is a
   * restart hint, which Raft keeps in volatile state); any other batch is synced whatever it
   * says, so a wrong hint can never lose a vote or an entry.
   */
  save(batch: PersistBatch, done: () => void): void {
    this.assertOpen();
    if (batch.hardState === null && batch.entries.length === 0 && batch.snapshot === null) {
      done();
      return;
    }
    if (!this.mustSync(batch)) {
      // Commit-only: no transaction of its own (one SQLite write less on the path to applying).
      this.deferredHardState = batch.hardState;
      // NB: behind saves still waiting for their fsync, it completes with them, to keep the order.
      if (this.pendingSyncs.length === 0) done();
      else this.pendingSyncs.push({ seq: this.writeSeq, done, started: process.hrtime.bigint() });
      return;
    }
    if (this.walFd !== null) {
      const started = process.hrtime.bigint();
      this.commitBatch(batch);
      if (batch.background === true) this.syncInBackground({ seq: ++this.writeSeq, done, started });
      else this.syncNow(started, done);
      return;
    }
    const started = process.hrtime.bigint();
    this.commitBatch(batch);
    this.onFsync?.(Number(process.hrtime.bigint() - started) / 1e6);
    done();
  }

  /**
   * saveSnapshot records a snapshot the application took at an applied, durable index and
   * forgets the entries it covers (Raft §7), in one transaction. Older snapshots are ignored.
   * With background sync the fdatasync runs off the event loop: until it returns, a crash
   * leaves the older snapshot and the entries, which replay to the same state.
   */
  saveSnapshot(snapshot: Snapshot): void {
    this.assertOpen();
    try {
      this.snapshotTransaction(snapshot);
    } catch (error) {
      this.logBounds = null;
      throw toStorageError(error, this.file, 'saveSnapshot');
    }
    if (this.walFd !== null) this.syncInBackground(null);
  }

  /**
   * getLocal reads a node-local value. The table is not replicated: it is for facts about this
   * node only, such as the applied index of a state machine that keeps its own SQLite state.
   */
  getLocal(key: string): string | undefined {
    this.assertOpen();
    return this.statements.selectLocal.get(key);
  }

  /** setLocal durably writes a node-local value (its own transaction). */
  setLocal(key: string, value: string): void {
    this.assertOpen();
    try {
      this.statements.upsertLocal.run(key, value);
    } catch (error) {
      throw toStorageError(error, this.file, 'setLocal');
    }
  }

  /**
   * close releases the database and the data dir lock; it is idempotent. With background sync,
   * saves still waiting for their fsync never complete (SQLite's own close checkpoints and
   * syncs what was committed).
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pendingSyncs.length = 0;
    try {
      this.writeDeferredHardState();
      this.db.close();
    } finally {
      this.lock.release();
      // NB: an fdatasync still running holds this descriptor; the last one to finish closes it.
      if (this.syncsInFlight === 0) this.closeWal();
    }
  }

  /** commitBatch writes a batch in one transaction, with any deferred hard state, and keeps the cached row in step. */
  private commitBatch(batch: PersistBatch): void {
    const hs = batch.hardState ?? this.deferredHardState;
    try {
      this.saveTransaction(batch);
    } catch (error) {
      this.logBounds = null;
      throw toStorageError(error, this.file, 'save');
    }
    this.deferredHardState = null;
    if (hs) this.storedHardState = hs;
  }

  /** storedRow is the hard state row as committed (see storedHardState). */
  private storedRow(): { readonly term: number; readonly votedFor: string | null; readonly commit: number } | null {
    if (this.storedHardState === null) {
      const row = this.statements.selectHardState.get();
      if (row !== undefined) this.storedHardState = { term: row.term, votedFor: row.voted_for, commit: row.commit_index };
    }
    return this.storedHardState;
  }

  /** writeDeferredHardState keeps the latest commit index across a clean shutdown (best effort: it is a hint). */
  private writeDeferredHardState(): void {
    const hs = this.deferredHardState;
    if (hs === null || this.failure !== null) return;
    this.deferredHardState = null;
    try {
      this.statements.upsertHardState.run({ term: hs.term, voted_for: hs.votedFor, commit_index: hs.commit });
    } catch {
      // The node relearns its commit index from the leader after a restart.
    }
  }

  private assertOpen(): void {
    assert(!this.closed, `${this.file}: storage used after close()`);
    if (this.failure !== null) throw this.failure;
  }

  /**
   * syncInBackground fdatasyncs the WAL on libuv's thread pool. NB: an fdatasync covers every
   * write made before it started, so when one returns, every save up to its sequence number is
   * durable; their `done`s run then, oldest first, whichever fdatasync finishes first.
   */
  private syncInBackground(save: PendingSync | null): void {
    const covers = this.writeSeq;
    if (save !== null) this.pendingSyncs.push(save);
    this.syncsInFlight++;
    fdatasync(this.walFd as number, (error) => {
      this.syncsInFlight--;
      if (this.closed) {
        if (this.syncsInFlight === 0) this.closeWal();
        return;
      }
      if (this.failure !== null) return;
      if (error) {
        this.fail(toStorageError(error, this.file, 'save'));
        return;
      }
      const finished = process.hrtime.bigint();
      while (this.pendingSyncs.length > 0 && (this.pendingSyncs[0] as PendingSync).seq <= covers) {
        const next = this.pendingSyncs.shift() as PendingSync;
        this.onFsync?.(Number(finished - next.started) / 1e6);
        next.done();
        if (this.closed || this.failure !== null) return;
      }
    });
  }

  /**
   * syncNow flushes the WAL on the caller's thread: a batch nobody serves around (a follower's)
   * is durable sooner without the trip to the thread pool and back.
   */
  private syncNow(started: bigint, done: () => void): void {
    try {
      fdatasyncSync(this.walFd as number);
    } catch (error) {
      const failure = toStorageError(error, this.file, 'save');
      this.failure = failure instanceof StorageError ? failure : new StorageError('Io', this.file, `fsync of ${this.file}-wal failed: ${describe(error)}`, { cause: error });
      this.pendingSyncs.length = 0;
      throw this.failure;
    }
    const finished = process.hrtime.bigint();
    // NB: this flush covers the saves still waiting for a background one: they complete first.
    for (const earlier of this.pendingSyncs.splice(0)) {
      this.onFsync?.(Number(finished - earlier.started) / 1e6);
      earlier.done();
      if (this.closed || this.failure !== null) return;
    }
    this.onFsync?.(Number(finished - started) / 1e6);
    done();
  }

  private fail(error: unknown): void {
    const failure = error instanceof StorageError ? error : new StorageError('Io', this.file, `fsync of ${this.file}-wal failed: ${describe(error)}. Check the disk, then restart the node.`, { cause: error });
    this.failure = failure;
    this.pendingSyncs.length = 0;
    this.background?.onFailure(failure);
  }

  private closeWal(): void {
    if (this.walFd === null) return;
    try {
      closeSync(this.walFd);
    } catch {
      // Already gone with the process or the database; nothing is left to flush through it.
    }
    this.walFd = null;
  }

  /** mustSync honours `sync: false` only for a batch that changes nothing but the commit index. */
  private mustSync(batch: PersistBatch): boolean {
    if (batch.sync !== false || batch.entries.length > 0 || batch.snapshot !== null || batch.hardState === null) return true;
    const stored = this.storedRow();
    return stored === null || stored.term !== batch.hardState.term || stored.votedFor !== batch.hardState.votedFor;
  }

  private applyBatch(batch: PersistBatch): void {
    const s = this.statements;
    if (batch.snapshot) this.installSnapshot(batch.snapshot);
    // NB: a batch's own hard state is at least as new as a deferred one (terms and commits only grow).
    const hs = batch.hardState ?? this.deferredHardState;
    if (hs) s.upsertHardState.run({ term: hs.term, voted_for: hs.votedFor, commit_index: hs.commit });
    if (batch.entries.length > 0) this.appendEntries(batch.entries);
    const row = hs ?? this.storedRow();
    if (row === null) throw corrupt(this.file, 'the hard state record is missing');
    const commit = row.commit;
    const last = this.bounds().last;
    assert(commit <= last, `${this.file}: save would leave commit ${commit} beyond the last entry ${last}`);
  }

  /**
   * installSnapshot records a snapshot received from the leader. Raft §7: if the log holds the
   * snapshot's last entry (same index and term), the entries after it stay; otherwise the whole
   * log is discarded.
   */
  private installSnapshot(snapshot: Snapshot): void {
    const s = this.statements;
    const { index, term } = snapshot.meta;
    const bounds = this.bounds();
    if (index <= bounds.snapshotIndex) return;
    if (s.selectEntryTerm.get(index) === term) s.deleteEntriesThrough.run(index);
    else {
      s.deleteAllEntries.run();
      bounds.last = index;
    }
    this.writeSnapshot(snapshot);
  }

  /** compactTo records an application snapshot; its index must be in the durable log. */
  private compactTo(snapshot: Snapshot): void {
    const s = this.statements;
    const { index, term } = snapshot.meta;
    const bounds = this.bounds();
    if (index <= bounds.snapshotIndex) return;
    const local = s.selectEntryTerm.get(index);
    assert(local !== undefined, `${this.file}: snapshot at ${index} is beyond the durable log (last ${bounds.last})`);
    assert(local === term, `${this.file}: snapshot term ${term} differs from the durable entry ${index} (term ${local})`);
    s.deleteEntriesThrough.run(index);
    this.writeSnapshot(snapshot);
  }

  /** writeSnapshot replaces the snapshot row; the log's last index is the caller's to keep. */
  private writeSnapshot(snapshot: Snapshot): void {
    const { index, term, membership } = snapshot.meta;
    this.statements.upsertSnapshot.run({ log_index: index, term, membership: encodeMembership(membership), data: snapshot.data });
    const bounds = this.bounds();
    bounds.snapshotIndex = index;
    bounds.snapshotTerm = term;
  }

  /** appendEntries replaces the log from the first entry's index on (the Ready contract). */
  private appendEntries(entries: readonly Entry[]): void {
    const s = this.statements;
    for (let i = 1; i < entries.length; i++) {
      assert((entries[i] as Entry).index === (entries[i - 1] as Entry).index + 1, `${this.file}: save batch is not contiguous`);
    }
    const bounds = this.bounds();
    const { snapshotIndex } = bounds;
    let batch = entries;
    const head = batch[0] as Entry;
    if (head.index <= snapshotIndex) {
      // Entries the snapshot covers are committed: they may be re-sent, never changed.
      const atSnapshot = batch[snapshotIndex - head.index];
      assert(atSnapshot === undefined || atSnapshot.term === bounds.snapshotTerm, `${this.file}: save rewrites entry ${snapshotIndex} under the snapshot`);
      batch = batch.slice(snapshotIndex - head.index + 1);
      if (batch.length === 0) return;
    }
    const first = (batch[0] as Entry).index;
    assert(first <= bounds.last + 1, `${this.file}: save leaves a gap: first ${first}, durable last ${bounds.last}`);
    // NB: a batch that starts past the last entry (every batch of a settled log) replaces nothing.
    if (first <= bounds.last) s.deleteEntriesFrom.run(first);
    // NB: rows go in chunks of INSERT_ROWS, one statement each: per entry that costs about
    // 2.9 µs instead of 4.4 µs with one statement per entry (batches of 27 entries).
    for (let at = 0; at < batch.length; ) {
      const left = batch.length - at;
      let size = 0;
      while ((INSERT_ROWS[size] as number) > left) size++;
      const rows = INSERT_ROWS[size] as number;
      const values: unknown[] = [];
      for (let i = at; i < at + rows; i++) pushEntryValues(batch[i] as Entry, values);
      (s.insertEntries[size] as Statement<unknown[]>).run(...values);
      at += rows;
    }
    bounds.last = (batch[batch.length - 1] as Entry).index;
  }

  /**
   * bounds are the snapshot's index and term (0 and 0 without one) and the last durable entry's
   * index (the snapshot index when the log is empty), from the cache or read once.
   */
  private bounds(): LogBounds {
    if (this.logBounds === null) {
      const snapshot = this.statements.selectSnapshotMeta.get();
      const last = this.statements.selectLastIndex.get();
      const snapshotIndex = snapshot?.log_index ?? 0;
      this.logBounds = { snapshotIndex, snapshotTerm: snapshot?.term ?? 0, last: typeof last === 'number' ? last : snapshotIndex };
    }
    return this.logBounds;
  }
}

function prepareStatements(db: SqliteDatabase): Statements {
  return {
    selectHardState: db.prepare<[], HardStateRow>('SELECT term, voted_for, commit_index FROM hard_state WHERE singleton = 1'),
    upsertHardState: db.prepare<[{ term: number; voted_for: string | null; commit_index: number }]>(
      `INSERT INTO hard_state (singleton, term, voted_for, commit_index) VALUES (1, @term, @voted_for, @commit_index)
       ON CONFLICT (singleton) DO UPDATE SET term = excluded.term, voted_for = excluded.voted_for, commit_index = excluded.commit_index`,
    ),
    selectSnapshot: db.prepare<[], SnapshotRow>('SELECT log_index, term, membership, data FROM snapshot WHERE singleton = 1'),
    selectSnapshotMeta: db.prepare<[], SnapshotMetaRow>('SELECT log_index, term FROM snapshot WHERE singleton = 1'),
    upsertSnapshot: db.prepare<[SnapshotRow]>(
      `INSERT INTO snapshot (singleton, log_index, term, membership, data) VALUES (1, @log_index, @term, @membership, @data)
       ON CONFLICT (singleton) DO UPDATE SET log_index = excluded.log_index, term = excluded.term, membership = excluded.membership, data = excluded.data`,
    ),
    selectEntries: db.prepare<[], EntryRow>('SELECT log_index, term, type, data, conf FROM entries ORDER BY log_index'),
    selectEntryTerm: db.prepare<[number], number>('SELECT term FROM entries WHERE log_index = ?').pluck(),
    selectLastIndex: db.prepare<[], number | null>('SELECT MAX(log_index) FROM entries').pluck(),
    insertEntries: INSERT_ROWS.map((rows) => db.prepare<unknown[]>(`INSERT INTO entries (log_index, term, type, data, conf) VALUES ${Array(rows).fill('(?, ?, ?, ?, ?)').join(', ')}`)),
    deleteEntriesFrom: db.prepare<[number]>('DELETE FROM entries WHERE log_index >= ?'),
    deleteEntriesThrough: db.prepare<[number]>('DELETE FROM entries WHERE log_index <= ?'),
    deleteAllEntries: db.prepare<[]>('DELETE FROM entries'),
    selectLocal: db.prepare<[string], string>('SELECT value FROM local WHERE key = ?').pluck(),
    upsertLocal: db.prepare<[string, string]>('INSERT INTO local (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
  };
}

/** makeDataDir creates the data dir if needed and returns the first directory it created, if any. */
function makeDataDir(dataDir: string): string | undefined {
  try {
    return mkdirSync(dataDir, { recursive: true });
  } catch (error) {
    throw new StorageError('Io', dataDir, `cannot create the data dir ${dataDir}: ${describe(error)}. Check the path and its permissions.`, { cause: error });
  }
}

const sqliteMagic = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * checkDatabaseFile says whether the database file exists, after checking (without SQLite, so
 * without any chance of writing) that it looks like a SQLite database.
 */
function checkDatabaseFile(file: string): boolean {
  if (!existsSync(file)) {
    if (existsSync(`${file}-wal`)) throw corrupt(file, `the database file is missing but its write-ahead log ${file}-wal exists`);
    return false;
  }
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return true; // SQLite's empty database: a first open that crashed before its first commit.
    const header = Buffer.alloc(sqliteMagic.length);
    const read = readSync(fd, header, 0, header.length, 0);
    if (read < header.length || !header.equals(sqliteMagic)) throw corrupt(file, 'it is not a SQLite database (bad file header)');
    return true;
  } finally {
    closeSync(fd);
  }
}

/**
 * prepareDatabase inspects, then initialises or migrates, the database and returns the recorded
 * bootstrap membership. NB: every check runs before the first write; the only writes are the
 * migrations and the identity of a fresh data dir, in one transaction with the final checks.
 */
function prepareDatabase(db: SqliteDatabase, file: string, options: SqliteLogStorageOptions): Membership {
  // NB: exclusive locking before the first read: the connection keeps its file lock until close,
  // and in WAL mode no shared-memory index is used, so no other process can open the database.
  db.pragma('locking_mode = EXCLUSIVE');
  const version = readSchemaVersion(db);
  if (version > SCHEMA_VERSION) throw newerVersion(file, version);
  quickCheck(db, file);
  let bootstrap = options.bootstrap;
  if (version === 0) {
    const tables = db.prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all();
    if (tables.length > 0) throw corrupt(file, `it is a SQLite database but not a Warden data dir (tables ${tables.join(', ')})`);
  } else {
    if (version === SCHEMA_VERSION) checkTables(db, file);
    bootstrap = checkIdentity(db, file, options);
  }
  db.transaction(() => {
    migrate(db, file, version);
    if (version === 0) {
      db.prepare('INSERT INTO identity (singleton, cluster_id, node_id, bootstrap) VALUES (1, ?, ?, ?)').run(options.clusterId, options.nodeId, encodeMembership(options.bootstrap));
    }
    checkTables(db, file);
    checkLog(db, file);
  })();
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal') throw new StorageError('Io', file, `${file}: cannot switch to write-ahead logging (journal mode is ${String(mode)}). Use a local file system for the data dir.`);
  // NB: in WAL mode FULL syncs the WAL on every commit, which is what makes save() durable.
  db.pragma('synchronous = FULL');
  // Take the write lock now, so that a second process is refused at open rather than at its first save.
  db.exec('BEGIN EXCLUSIVE; COMMIT');
  return bootstrap;
}

/**
 * openWalForSync switches a background-sync connection to synchronous = NORMAL and opens the
 * WAL for the fdatasyncs that replace SQLite's sync at commit. NB: that is as durable as FULL:
 * a commit is acknowledged only after its WAL frames are flushed, and with NORMAL SQLite still
 * syncs the WAL before every checkpoint and the database after it, before the WAL is reused. In
 * exclusive locking mode the WAL file stays the same file until the connection closes.
 */
function openWalForSync(db: SqliteDatabase, file: string): number {
  db.pragma('synchronous = NORMAL');
  const wal = `${file}-wal`;
  // The WAL exists once a write transaction ran in WAL mode; make sure one did.
  if (!existsSync(wal)) db.exec('BEGIN IMMEDIATE; UPDATE hard_state SET term = term WHERE singleton = 1; COMMIT');
  try {
    return openSync(wal, 'r');
  } catch (error) {
    throw new StorageError('Io', file, `cannot open the write-ahead log ${wal}: ${describe(error)}`, { cause: error });
  }
}

function quickCheck(db: SqliteDatabase, file: string): void {
  const problems = db.prepare<[], string>('PRAGMA quick_check').pluck().all();
  if (problems.length !== 1 || problems[0] !== 'ok') {
    throw corrupt(file, `PRAGMA quick_check failed: ${problems.slice(0, 3).join('; ').replace(/\s+/g, ' ')}`);
  }
}

function checkTables(db: SqliteDatabase, file: string): void {
  const present = new Set(db.prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all());
  const missing = requiredTables.filter((table) => !present.has(table));
  if (missing.length > 0) throw corrupt(file, `tables ${missing.join(', ')} are missing`);
}

/** checkIdentity refuses another cluster's or node's data dir and returns the recorded bootstrap. */
function checkIdentity(db: SqliteDatabase, file: string, options: SqliteLogStorageOptions): Membership {
  const row = db.prepare<[], IdentityRow>('SELECT cluster_id, node_id, bootstrap FROM identity WHERE singleton = 1').get();
  if (row === undefined) throw corrupt(file, 'the identity record is missing');
  if (row.cluster_id !== options.clusterId) {
    throw new StorageError(
      'WrongCluster',
      file,
      `${file} belongs to cluster ${JSON.stringify(row.cluster_id)}, but this node is configured for cluster ${JSON.stringify(options.clusterId)}. ` +
        'Point the node at its own data dir or fix the cluster id in its configuration. The file was not modified.',
    );
  }
  if (row.node_id !== options.nodeId) {
    throw new StorageError(
      'WrongNode',
      file,
      `${file} belongs to node ${JSON.stringify(row.node_id)}, but this node is ${JSON.stringify(options.nodeId)}. ` +
        'Each node needs its own data dir: point this node at its own, or fix its id in the configuration. The file was not modified.',
    );
  }
  return decodeMembership(row.bootstrap, file, 'the bootstrap membership');
}

/** checkLog verifies the log's invariants: contiguous after the snapshot, terms never decreasing, commit within the log. */
function checkLog(db: SqliteDatabase, file: string): void {
  const hardState = decodeHardState(db.prepare<[], HardStateRow>('SELECT term, voted_for, commit_index FROM hard_state WHERE singleton = 1').get(), file);
  const snapshot = db.prepare<[], SnapshotMetaRow>('SELECT log_index, term FROM snapshot WHERE singleton = 1').get();
  const snapshotIndex = snapshot === undefined ? 0 : count(snapshot.log_index, file, 'the snapshot index');
  const snapshotTerm = snapshot === undefined ? 0 : count(snapshot.term, file, 'the snapshot term');
  const bounds = db.prepare<[], LogBoundsRow>('SELECT MIN(log_index) AS first, MAX(log_index) AS last, COUNT(*) AS n FROM entries').get() as LogBoundsRow;
  let last = snapshotIndex;
  if (bounds.n > 0 && bounds.first !== null && bounds.last !== null) {
    if (bounds.first !== snapshotIndex + 1) throw corrupt(file, `the log starts at entry ${bounds.first}, but the snapshot ends at ${snapshotIndex}`);
    if (bounds.last - bounds.first + 1 !== bounds.n) {
      const missing = db
        .prepare<[], number>('SELECT e.log_index + 1 FROM entries e WHERE NOT EXISTS (SELECT 1 FROM entries f WHERE f.log_index = e.log_index + 1) ORDER BY e.log_index LIMIT 1')
        .pluck()
        .get();
      throw corrupt(file, `the log has a gap: entry ${String(missing)} is missing before entry ${bounds.last}`);
    }
    const decreasing = db
      .prepare<[], number>('SELECT f.log_index FROM entries e JOIN entries f ON f.log_index = e.log_index + 1 WHERE f.term < e.term ORDER BY f.log_index LIMIT 1')
      .pluck()
      .get();
    if (decreasing !== undefined) throw corrupt(file, `the term decreases at entry ${decreasing}`);
    const firstTerm = db.prepare<[number], number>('SELECT term FROM entries WHERE log_index = ?').pluck().get(bounds.first);
    if (firstTerm !== undefined && firstTerm < snapshotTerm) throw corrupt(file, `entry ${bounds.first} has a term below the snapshot's`);
    last = bounds.last;
  }
  if (hardState.commit > last) throw corrupt(file, `the hard state's commit index ${hardState.commit} is beyond the last entry ${last}`);
}

function decodeHardState(row: HardStateRow | undefined, file: string): HardState {
  if (row === undefined) throw corrupt(file, 'the hard state record is missing');
  return {
    term: count(row.term, file, 'the hard state term'),
    votedFor: row.voted_for === null ? null : storedNodeId(row.voted_for, file, 'the hard state vote'),
    commit: count(row.commit_index, file, 'the hard state commit index'),
  };
}

function decodeSnapshot(row: SnapshotRow, file: string): Snapshot {
  if (!(row.data instanceof Uint8Array)) throw corrupt(file, 'the snapshot has no data');
  return {
    meta: {
      index: count(row.log_index, file, 'the snapshot index'),
      term: count(row.term, file, 'the snapshot term'),
      membership: decodeMembership(row.membership, file, 'the snapshot membership'),
    },
    data: plainBytes(row.data),
  };
}

/** syncDirectory makes new entries in a directory (a database file, a data dir) durable. */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * toStorageError maps what better-sqlite3 and the file system throw to a StorageError. Broken
 * invariants (AssertionError) and errors already typed pass through unchanged.
 */
function toStorageError(error: unknown, file: string, operation: string): unknown {
  if (error instanceof StorageError || error instanceof AssertionError) return error;
  if (error instanceof Database.SqliteError) {
    const code = error.code;
    if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED') {
      return new StorageError('Locked', file, `${file} is locked by another connection: another process has this data dir open. Stop it first.`, { cause: error });
    }
    if (code === 'SQLITE_NOTADB') return corrupt(file, 'it is not a SQLite database', error);
    if (code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT_')) return corrupt(file, `SQLite reports: ${error.message}`, error);
    if (/no such (table|column)/.test(error.message)) return corrupt(file, `the schema does not match its version (${error.message})`, error);
    if (code === 'SQLITE_FULL') return new StorageError('Io', file, `${operation} failed on ${file}: the disk is full. Free space, then restart the node.`, { cause: error });
  }
  // SQLite's other codes and Node's system errors (EACCES, ENOSPC, EIO, ...) carry a string code.
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') {
    return new StorageError('Io', file, `${operation} failed on ${file} (${error.code}): ${error.message}. Check the disk and the data dir's permissions, then restart the node.`, { cause: error });
  }
  return error;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
