// Pure. The in-memory Raft log: the latest snapshot's position, the entries after it, the commit
// index, and how far the driver has made the entries durable ("stable"). The driver persists
// what Ready hands it; this log never reads the disk.

import { assert } from '../util/assert.ts';
import type { Entry, LogIndex, Snapshot, Term } from './types.ts';

/** RaftLog holds entries (snapshotIndex, lastIndex] in memory, in index order without gaps. */
export class RaftLog {
  /** The snapshot the log starts after (the last one made or installed), if any. */
  snapshot: Snapshot | null;
  private snapshotIndex: LogIndex;
  private snapshotTerm: Term;
  private entries: Entry[];
  /** committed is the highest index known to be committed (Raft §5.3). */
  committed: LogIndex;
  /** applied is the highest index handed to the application and acknowledged by advance(). */
  applied: LogIndex;
  /** stable is the highest index the driver has made durable. */
  stable: LogIndex;

  constructor(snapshot: Snapshot | null, entries: readonly Entry[], committed: LogIndex, applied: LogIndex) {
    this.snapshot = snapshot;
    this.snapshotIndex = snapshot?.meta.index ?? 0;
    this.snapshotTerm = snapshot?.meta.term ?? 0;
    this.entries = [];
    for (const entry of entries) {
      if (entry.index <= this.snapshotIndex) continue;
      assert(entry.index === this.snapshotIndex + this.entries.length + 1, `gap in persisted log at ${entry.index}`);
      this.entries.push(entry);
    }
    this.stable = this.lastIndex();
    this.committed = Math.max(committed, this.snapshotIndex);
    assert(this.committed <= this.lastIndex(), `commit ${committed} beyond last index ${this.lastIndex()}`);
    this.applied = Math.min(Math.max(applied, this.snapshotIndex), this.committed);
  }

  /** firstIndex is the first index held in memory (one past the snapshot). */
  firstIndex(): LogIndex {
    return this.snapshotIndex + 1;
  }

  lastIndex(): LogIndex {
    return this.snapshotIndex + this.entries.length;
  }

  lastTerm(): Term {
    return this.term(this.lastIndex()) as Term;
  }

  /** term is the term of the entry at `index`, or undefined when compacted away or not yet there. */
  term(index: LogIndex): Term | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    if (index < this.snapshotIndex || index > this.lastIndex()) return undefined;
    return (this.entries[index - this.snapshotIndex - 1] as Entry).term;
  }

  /** entry returns the entry at `index` if it is still in memory. */
  entry(index: LogIndex): Entry | undefined {
    if (index <= this.snapshotIndex || index > this.lastIndex()) return undefined;
    return this.entries[index - this.snapshotIndex - 1];
  }

  /** matchTerm says whether the log holds an entry at `index` with `term` (the log-matching check). */
  matchTerm(index: LogIndex, term: Term): boolean {
    return this.term(index) === term;
  }

  /** slice returns up to `max` entries from `lo` on. */
  slice(lo: LogIndex, max: number): Entry[] {
    assert(lo > this.snapshotIndex, `slice from compacted index ${lo}`);
    const start = lo - this.snapshotIndex - 1;
    return this.entries.slice(start, start + max);
  }

  /**
   * isUpToDate is the election restriction (Raft §5.4.1): a candidate's log is at least as
   * up-to-date as ours when its last term is higher, or equal with an index at least ours.
   */
  isUpToDate(lastIndex: LogIndex, lastTerm: Term): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** append adds entries at the end; the leader's own proposals. */
  append(entries: readonly Entry[]): void {
    for (const entry of entries) {
      assert(entry.index === this.lastIndex() + 1, `append at ${entry.index} after ${this.lastIndex()}`);
      this.entries.push(entry);
    }
  }

  /**
   * truncateAndAppend replaces everything from the first entry's index on. Committed entries are
   * never replaced: that would be a safety violation (Raft §5.4).
   */
  truncateAndAppend(entries: readonly Entry[]): void {
    const first = entries[0];
    if (!first) return;
    assert(first.index > this.snapshotIndex && first.index <= this.lastIndex() + 1, `append at ${first.index} outside (${this.snapshotIndex}, ${this.lastIndex() + 1}]`);
    assert(first.index > this.committed, `truncating committed entry ${first.index} (commit ${this.committed})`);
    this.entries.length = first.index - this.snapshotIndex - 1;
    if (this.stable >= first.index) this.stable = first.index - 1;
    for (const entry of entries) {
      assert(entry.index === this.lastIndex() + 1, 'entries must be contiguous');
      this.entries.push(entry);
    }
  }

  /**
   * findConflict returns the index of the first entry that is new or differs in term from ours,
   * or 0 when every entry is already present (an old or duplicated message).
   */
  findConflict(entries: readonly Entry[]): LogIndex {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index;
    }
    return 0;
  }

  /** findConflictByTerm returns the largest index <= index whose term is <= term (fast backtracking). */
  findConflictByTerm(index: LogIndex, term: Term): LogIndex {
    let i = Math.min(index, this.lastIndex());
    while (i > this.snapshotIndex) {
      const t = this.term(i);
      if (t !== undefined && t <= term) return i;
      i--;
    }
    return i;
  }

  /** commitTo raises the commit index; it never decreases. */
  commitTo(index: LogIndex): boolean {
    if (index <= this.committed) return false;
    assert(index <= this.lastIndex(), `commit ${index} beyond last index ${this.lastIndex()}`);
    this.committed = index;
    return true;
  }

  /** restore replaces the whole log with an installed snapshot (Raft §7). */
  restore(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    this.snapshotIndex = snapshot.meta.index;
    this.snapshotTerm = snapshot.meta.term;
    this.entries = [];
    this.committed = snapshot.meta.index;
    this.stable = Math.min(this.stable, snapshot.meta.index);
  }

  /**
   * compact drops entries up to and including `snapshot.meta.index`, which the application has
   * applied and saved in the snapshot.
   */
  compact(snapshot: Snapshot): void {
    const index = snapshot.meta.index;
    assert(index <= this.applied, `compact ${index} beyond applied ${this.applied}`);
    assert(index <= this.stable, `compact ${index} beyond stable ${this.stable}`);
    if (index <= this.snapshotIndex) return;
    assert(this.term(index) === snapshot.meta.term, 'snapshot term differs from the log');
    this.entries = this.entries.slice(index - this.snapshotIndex);
    this.snapshotIndex = index;
    this.snapshotTerm = snapshot.meta.term;
    this.snapshot = snapshot;
  }

  /** unstableEntries are the entries the driver has not made durable yet. */
  unstableEntries(): Entry[] {
    if (this.stable >= this.lastIndex()) return [];
    return this.slice(Math.max(this.stable + 1, this.firstIndex()), Number.MAX_SAFE_INTEGER);
  }

  /** stableTo records that the driver made entries up to (index, term) durable, unless they were replaced since. */
  stableTo(index: LogIndex, term: Term): void {
    if (index > this.stable && this.matchTerm(index, term)) this.stable = index;
  }
}
