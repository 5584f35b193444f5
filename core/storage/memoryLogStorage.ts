// Effectful only in memory. MemoryLogStorage implements the LogStorage port with the same rules
// as SqliteLogStorage (one atomic batch per save, Raft §7 snapshot rules, the same invariant
// checks) and a synchronous `done`, so unit tests can run a node without a disk.

import { assert } from '../util/assert.ts';
import type { LogStorage, PersistBatch } from '../node/ports.ts';
import type { Entry, HardState, LogIndex, Membership, PersistedState, Snapshot } from '../raft/types.ts';
import { plainBytes } from './rowCodec.ts';

/** MemoryLogStorageOptions gives the bootstrap membership a fresh SQLite data dir would record. */
export interface MemoryLogStorageOptions {
  readonly bootstrap: Membership;
}

interface LogImage {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | null;
  /** Entries after the snapshot, contiguous, in index order. */
  readonly entries: readonly Entry[];
}

/**
 * MemoryLogStorage is the reference LogStorage for unit tests: nothing survives the process, but
 * everything else matches SqliteLogStorage, which the shared storage test table checks. Inputs
 * are copied (like bytes written to disk), so a caller mutating its buffers changes nothing here.
 */
export class MemoryLogStorage implements LogStorage {
  /** The bootstrap membership, as a fresh data dir would record it. */
  readonly bootstrap: Membership;
  private image: LogImage = { hardState: { term: 0, votedFor: null, commit: 0 }, snapshot: null, entries: [] };
  private readonly local = new Map<string, string>();

  constructor(options: MemoryLogStorageOptions) {
    this.bootstrap = copyMembership(options.bootstrap);
  }

  /** load returns the stored state; `applied` is the snapshot index (or 0), as on disk. */
  load(): PersistedState {
    const { hardState, snapshot, entries } = this.image;
    return { hardState, snapshot, entries: entries.slice(), bootstrap: this.bootstrap, applied: snapshot?.meta.index ?? 0 };
  }

  /** save applies the whole batch or, if an invariant fails, nothing; then calls `done` synchronously. */
  save(batch: PersistBatch, done: () => void): void {
    let next = this.image;
    if (batch.snapshot) next = installSnapshot(next, copySnapshot(batch.snapshot));
    if (batch.hardState) next = { ...next, hardState: { ...batch.hardState } };
    if (batch.entries.length > 0) next = appendEntries(next, batch.entries.map(copyEntry));
    const last = lastIndex(next);
    assert(next.hardState.commit <= last, `save would leave commit ${next.hardState.commit} beyond the last entry ${last}`);
    this.image = next;
    done();
  }

  /** saveSnapshot records an application snapshot and forgets the entries it covers (Raft §7). */
  saveSnapshot(snapshot: Snapshot): void {
    const { index, term } = snapshot.meta;
    const current = this.image.snapshot;
    if (current && index <= current.meta.index) return;
    const local = entryAt(this.image, index);
    assert(local !== undefined, `snapshot at ${index} is beyond the durable log (last ${lastIndex(this.image)})`);
    assert(local.term === term, `snapshot term ${term} differs from the durable entry ${index} (term ${local.term})`);
    this.image = { ...this.image, snapshot: copySnapshot(snapshot), entries: this.image.entries.filter((entry) => entry.index > index) };
  }

  /** getLocal reads a node-local value (see SqliteLogStorage.getLocal). */
  getLocal(key: string): string | undefined {
    return this.local.get(key);
  }

  /** setLocal writes a node-local value. */
  setLocal(key: string, value: string): void {
    this.local.set(key, value);
  }

  /** close does nothing; it exists so tests can treat both storages alike. */
  close(): void {}
}

function installSnapshot(image: LogImage, snapshot: Snapshot): LogImage {
  const { index, term } = snapshot.meta;
  if (image.snapshot && index <= image.snapshot.meta.index) return image;
  // Raft §7: keep the entries after the snapshot only if the log holds its last entry.
  const keep = entryAt(image, index)?.term === term;
  return { ...image, snapshot, entries: keep ? image.entries.filter((entry) => entry.index > index) : [] };
}

function appendEntries(image: LogImage, entries: readonly Entry[]): LogImage {
  for (let i = 1; i < entries.length; i++) {
    assert((entries[i] as Entry).index === (entries[i - 1] as Entry).index + 1, 'save batch is not contiguous');
  }
  const snapshotIndex = image.snapshot?.meta.index ?? 0;
  let batch = entries;
  const head = batch[0] as Entry;
  if (head.index <= snapshotIndex) {
    // Entries the snapshot covers are committed: they may be re-sent, never changed.
    const atSnapshot = batch[snapshotIndex - head.index];
    assert(atSnapshot === undefined || atSnapshot.term === image.snapshot?.meta.term, `save rewrites entry ${snapshotIndex} under the snapshot`);
    batch = batch.slice(snapshotIndex - head.index + 1);
    if (batch.length === 0) return image;
  }
  const first = (batch[0] as Entry).index;
  const last = lastIndex(image);
  assert(first <= last + 1, `save leaves a gap: first ${first}, durable last ${last}`);
  return { ...image, entries: [...image.entries.filter((entry) => entry.index < first), ...batch] };
}

function entryAt(image: LogImage, index: LogIndex): Entry | undefined {
  const first = (image.snapshot?.meta.index ?? 0) + 1;
  return index >= first ? image.entries[index - first] : undefined;
}

function lastIndex(image: LogImage): LogIndex {
  return (image.snapshot?.meta.index ?? 0) + image.entries.length;
}

function copyEntry(entry: Entry): Entry {
  return entry.type === 'command' ? { ...entry, data: plainBytes(entry.data) } : entry.type === 'conf' ? { ...entry, change: { ...entry.change } } : { ...entry };
}

function copySnapshot(snapshot: Snapshot): Snapshot {
  return { meta: { ...snapshot.meta, membership: copyMembership(snapshot.meta.membership) }, data: plainBytes(snapshot.data) };
}

function copyMembership(membership: Membership): Membership {
  return { voters: [...membership.voters], learners: [...membership.learners] };
}
