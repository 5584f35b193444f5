// Effectful only in virtual time. SimStorage is one node's simulated disk: it implements the
// LogStorage port, makes each synced save durable only after a seeded disk latency (FIFO, like
// an fsync queue), and on a crash forgets every save not yet durable (an unsynced commit-index
// update may or may not have reached the platter). The durable image survives restarts.

import { assert } from '../../../core/util/assert.ts';
import type { Prng } from '../../../core/util/prng.ts';
import type { LogStorage, PersistBatch } from '../../../core/node/ports.ts';
import type { Entry, HardState, LogIndex, Membership, PersistedState, Snapshot } from '../../../core/raft/types.ts';
import { EventKind, type SimClock, type SimEvent } from './simClock.ts';

/** DiskFaults are the knobs of the disk model. */
export interface DiskFaults {
  /** Every non-empty save takes at least this long to become durable. */
  latencyMs: number;
  /** Plus a uniform extra delay in [0, jitterMs). */
  jitterMs: number;
}

/** DurableImage is what is on the platter: exactly what a restart sees. */
export interface DurableImage {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | null;
  /** Entries after the snapshot, contiguous, in index order. */
  readonly entries: readonly Entry[];
}

interface PendingWrite {
  readonly batch: PersistBatch;
  readonly event: SimEvent;
}

/**
 * SimStorage keeps a node's log, hard state and snapshot across crashes. `save` completes (calls
 * `done`) only when the batch is durable; `crash` discards what is still in flight, which is what
 * makes the `send-before-persist` bug observable.
 */
export class SimStorage implements LogStorage {
  readonly node: number;
  readonly bootstrap: Membership;
  faults: DiskFaults;
  /** Saves made durable, saves lost to crashes. */
  readonly stats = { durable: 0, lost: 0, snapshots: 0 };
  private readonly clock: SimClock;
  private readonly prng: Prng;
  private hardState: HardState = { term: 0, votedFor: null, commit: 0 };
  private snapshot: Snapshot | null = null;
  private entries: Entry[] = [];
  private pending: PendingWrite[] = [];
  private lastDoneTime = 0;
  /** A hard state written without sync: in the OS cache, durable with the next synced write. */
  private unsynced: HardState | null = null;

  constructor(clock: SimClock, prng: Prng, node: number, bootstrap: Membership, faults: DiskFaults) {
    this.clock = clock;
    this.prng = prng;
    this.node = node;
    this.bootstrap = bootstrap;
    this.faults = { ...faults };
  }

  /** durable is the current durable image (for checkers and tests; do not mutate). */
  get durable(): DurableImage {
    return { hardState: this.hardState, snapshot: this.snapshot, entries: this.entries };
  }

  /** pendingWrites is the number of saves not yet durable. */
  get pendingWrites(): number {
    return this.pending.length;
  }

  load(): PersistedState {
    assert(this.pending.length === 0, 'load with saves in flight: crash the node first');
    return {
      hardState: this.hardState,
      snapshot: this.snapshot,
      entries: this.entries.slice(),
      bootstrap: this.bootstrap,
      // NB: the simulator's state machine lives in memory, so after a restart only the snapshot is applied.
      applied: this.snapshot?.meta.index ?? 0,
    };
  }

  save(batch: PersistBatch, done: () => void): void {
    const copy: PersistBatch = { hardState: batch.hardState, entries: batch.entries.slice(), snapshot: batch.snapshot };
    const empty = !copy.hardState && copy.entries.length === 0 && !copy.snapshot;
    if (this.pending.length === 0 && (empty || batch.sync === false)) {
      // Nothing to sync: complete inline, which also exercises the host's synchronous path.
      assert(copy.entries.length === 0 && !copy.snapshot, 'an unsynced save must not carry entries or a snapshot');
      if (copy.hardState) {
        const durable = this.hardState;
        assert(copy.hardState.term === durable.term && copy.hardState.votedFor === durable.votedFor, 'an unsynced save changes the term or vote');
        this.unsynced = copy.hardState;
      }
      done();
      return;
    }
    const latency = this.faults.latencyMs + this.prng.next() * this.faults.jitterMs;
    // NB: writes complete in FIFO order, like a single fsync queue; equal times keep insertion order.
    const at = Math.max(this.clock.now + latency, this.lastDoneTime);
    this.lastDoneTime = at;
    const event = this.clock.schedule(at - this.clock.now, EventKind.diskDone, this.node, () => {
      const head = this.pending.shift();
      assert(head !== undefined && head.event === event, 'disk writes completed out of order');
      this.apply(copy);
      this.stats.durable++;
      done();
    });
    this.pending.push({ batch: copy, event });
  }

  saveSnapshot(snapshot: Snapshot): void {
    const index = snapshot.meta.index;
    if (this.snapshot && index <= this.snapshot.meta.index) return;
    const first = this.firstIndex();
    assert(index <= this.lastIndex(), `snapshot at ${index} beyond the durable log (last ${this.lastIndex()})`);
    const local = this.entries[index - first];
    assert(local === undefined || local.term === snapshot.meta.term, `snapshot term ${snapshot.meta.term} differs from the durable entry at ${index}`);
    this.entries = this.entries.slice(index - first + 1);
    this.snapshot = snapshot;
    this.stats.snapshots++;
  }

  /**
   * crash discards every save that is not yet durable; their `done` callbacks never run. Returns
   * how many were lost.
   */
  crash(): number {
    const lost = this.pending.length;
    // The OS may or may not have flushed an unsynced write before the crash.
    if (this.unsynced && this.prng.chance(0.5)) this.hardState = this.unsynced;
    this.unsynced = null;
    for (const write of this.pending) this.clock.cancel(write.event);
    this.pending = [];
    this.lastDoneTime = 0;
    this.stats.lost += lost;
    return lost;
  }

  /** firstIndex is the index of the first durable entry after the snapshot. */
  firstIndex(): LogIndex {
    return (this.snapshot?.meta.index ?? 0) + 1;
  }

  /** lastIndex is the index of the last durable entry (the snapshot index when the log is empty). */
  lastIndex(): LogIndex {
    return this.firstIndex() - 1 + this.entries.length;
  }

  private apply(batch: PersistBatch): void {
    if (this.unsynced) {
      // A synced write flushes what was written before it.
      this.hardState = this.unsynced;
      this.unsynced = null;
    }
    if (batch.snapshot) this.applySnapshot(batch.snapshot);
    if (batch.hardState) this.hardState = batch.hardState;
    if (batch.entries.length > 0) this.applyEntries(batch.entries);
  }

  private applySnapshot(snapshot: Snapshot): void {
    const index = snapshot.meta.index;
    if (this.snapshot && index <= this.snapshot.meta.index) return;
    const local = index <= this.lastIndex() && index >= this.firstIndex() ? this.entries[index - this.firstIndex()] : undefined;
    // Raft §7: keep the entries after the snapshot only if the log agrees with it at its index.
    this.entries = local !== undefined && local.term === snapshot.meta.term ? this.entries.slice(index - this.firstIndex() + 1) : [];
    this.snapshot = snapshot;
    this.stats.snapshots++;
  }

  private applyEntries(entries: readonly Entry[]): void {
    const snapshotIndex = this.firstIndex() - 1;
    let batch = entries;
    for (let i = 1; i < batch.length; i++) {
      assert((batch[i] as Entry).index === (batch[i - 1] as Entry).index + 1, 'save batch is not contiguous');
    }
    const head = batch[0] as Entry;
    if (head.index <= snapshotIndex) {
      // Entries the snapshot already covers are committed: they may be re-sent, never changed.
      const atSnapshot = batch[snapshotIndex - head.index];
      assert(atSnapshot === undefined || atSnapshot.term === this.snapshot?.meta.term, `save rewrites entry ${snapshotIndex} under the snapshot`);
      batch = batch.slice(snapshotIndex - head.index + 1);
      if (batch.length === 0) return;
    }
    const first = (batch[0] as Entry).index;
    assert(first <= this.lastIndex() + 1, `save leaves a gap: first ${first}, durable last ${this.lastIndex()}`);
    // A batch's entries replace everything from their first index on (the Ready contract).
    this.entries.length = first - this.firstIndex();
    for (const entry of batch) this.entries.push(entry);
  }
}
