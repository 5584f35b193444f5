// Unit tests for core/raft/raftLog.ts, the in-memory log: conflict detection for AppendEntries,
// fast backtracking, truncation (never of committed entries), stability tracking across
// replaced entries, snapshot compaction bounds and restore.
import { describe, expect, it } from 'vitest';
import { RaftLog } from '../../../core/raft/raftLog.ts';
import type { Snapshot, Term } from '../../../core/raft/types.ts';
import { AssertionError } from '../../../core/util/assert.ts';
import { bytes, commandEntries, ids } from './network.ts';

/** logOf builds a log holding one entry per term in `terms`, from index 1. */
function logOf(terms: Term[], committed = 0, applied = 0): RaftLog {
  return new RaftLog(null, commandEntries(1, terms), committed, applied);
}

function snapshotAt(index: number, term: Term): Snapshot {
  return { meta: { index, term, membership: { voters: ids(3), learners: [] } }, data: bytes('state') };
}

function termsOf(log: RaftLog): (Term | undefined)[] {
  const terms: (Term | undefined)[] = [];
  for (let i = log.firstIndex(); i <= log.lastIndex(); i++) terms.push(log.term(i));
  return terms;
}

describe('RaftLog', () => {
  describe('findConflict (§5.3)', () => {
    const log = logOf([1, 2, 3]);
    it.each([
      ['no entries', [], 0],
      ['entries already present', commandEntries(1, [1, 2]), 0],
      ['all entries present, from the middle', commandEntries(2, [2, 3]), 0],
      ['new entries after the last one', commandEntries(3, [3, 4, 4]), 4],
      ['new entries only', commandEntries(4, [4, 4]), 4],
      ['a term mismatch at the first entry', commandEntries(1, [4, 4]), 1],
      ['a term mismatch in the middle', commandEntries(2, [2, 4, 4]), 3],
    ] as const)('§5.3 findConflict with %s', (_name, entries, expected) => {
      expect(log.findConflict(entries)).toBe(expected);
    });
  });

  describe('findConflictByTerm (fast backtracking)', () => {
    // Terms by index: 1:1 2:1 3:2 4:2 5:4 6:4 7:5
    const log = logOf([1, 1, 2, 2, 4, 4, 5]);
    it.each([
      ['the index itself when its term is not above the given term', 7, 5, 7],
      ['the last index of an earlier term', 7, 3, 4],
      ['skipping every entry of a later term', 6, 2, 4],
      ['the last index when asked beyond the log', 20, 9, 7],
      ['0 when every entry is of a later term', 7, 0, 0],
    ] as const)('§5.3 findConflictByTerm returns %s', (_name, index, term, expected) => {
      expect(log.findConflictByTerm(index, term)).toBe(expected);
    });

    it('§5.3 findConflictByTerm stops at the snapshot index', () => {
      const compacted = logOf([1, 1, 2, 2, 4], 5, 5);
      compacted.compact(snapshotAt(3, 2));
      expect(compacted.findConflictByTerm(5, 1)).toBe(3);
    });
  });

  describe('truncateAndAppend (§5.3, §5.4)', () => {
    it('§5.3 conflicting uncommitted entries are replaced and everything after them dropped', () => {
      const log = logOf([1, 1, 1, 1], 1);
      log.truncateAndAppend(commandEntries(3, [2]));
      expect(termsOf(log)).toEqual([1, 1, 2]);
    });

    it('§5.4 truncating a committed entry is refused with an assertion', () => {
      const log = logOf([1, 1, 1], 2);
      expect(() => log.truncateAndAppend(commandEntries(2, [2]))).toThrow(AssertionError);
      expect(() => log.truncateAndAppend(commandEntries(2, [2]))).toThrow(/truncating committed entry 2/);
      expect(termsOf(log)).toEqual([1, 1, 1]);
    });

    it('§5.3 entries must attach to the log without a gap', () => {
      const log = logOf([1, 1]);
      expect(() => log.truncateAndAppend(commandEntries(4, [1]))).toThrow(AssertionError);
    });

    it('§5.3 truncation moves the stable index back to the last kept entry', () => {
      const log = logOf([1, 1, 1, 1]);
      expect(log.stable).toBe(4);
      log.truncateAndAppend(commandEntries(3, [2, 2]));
      expect(log.stable).toBe(2);
      expect(log.unstableEntries().map((e) => [e.index, e.term])).toEqual([[3, 2], [4, 2]]);
    });
  });

  describe('stableTo', () => {
    it('Figure 2 (persist before responding) stableTo marks entries durable up to the acknowledged one', () => {
      const log = logOf([1]);
      log.append(commandEntries(2, [1, 1]));
      log.stableTo(3, 1);
      expect(log.stable).toBe(3);
      expect(log.unstableEntries()).toEqual([]);
    });

    it('Figure 2 (persist before responding) stableTo ignores an acknowledgement for an entry that was replaced since (different term)', () => {
      const log = logOf([1]);
      log.append(commandEntries(2, [1, 1]));
      // While the driver was writing (2..3, term 1), a new leader replaced them with term 2.
      log.truncateAndAppend(commandEntries(2, [2]));
      log.stableTo(3, 1);
      expect(log.stable).toBe(1);
      log.stableTo(2, 1);
      expect(log.stable).toBe(1);
      expect(log.unstableEntries().map((e) => [e.index, e.term])).toEqual([[2, 2]]);
    });

    it('Figure 2 (persist before responding) stableTo never moves the stable index backwards', () => {
      const log = logOf([1, 1, 1]);
      log.stableTo(1, 1);
      expect(log.stable).toBe(3);
    });
  });

  describe('commitTo', () => {
    it('§5.3 the commit index only rises', () => {
      const log = logOf([1, 1, 1], 2);
      expect(log.commitTo(1)).toBe(false);
      expect(log.committed).toBe(2);
      expect(log.commitTo(3)).toBe(true);
      expect(log.committed).toBe(3);
    });

    it('§5.3 committing beyond the last index is refused with an assertion', () => {
      const log = logOf([1, 1]);
      expect(() => log.commitTo(3)).toThrow(AssertionError);
    });
  });

  describe('isUpToDate (§5.4.1)', () => {
    const log = logOf([1, 2, 2]);
    it.each([
      ['a higher last term, even with a shorter log', 1, 3, true],
      ['the same last term and a longer log', 4, 2, true],
      ['the same last term and the same length', 3, 2, true],
      ['the same last term and a shorter log', 2, 2, false],
      ['a lower last term, even with a longer log', 9, 1, false],
    ] as const)('§5.4.1 a candidate log with %s is up to date: %s', (_name, lastIndex, lastTerm, expected) => {
      expect(log.isUpToDate(lastIndex, lastTerm)).toBe(expected);
    });
  });

  describe('compact (§7)', () => {
    it('§7 compact drops the covered entries and keeps the term of the snapshot index', () => {
      const log = logOf([1, 1, 2, 2, 3], 5, 5);
      log.compact(snapshotAt(3, 2));
      expect(log.firstIndex()).toBe(4);
      expect(log.lastIndex()).toBe(5);
      expect(log.entry(3)).toBeUndefined();
      expect(log.term(3)).toBe(2);
      expect(log.term(2)).toBeUndefined();
      expect(termsOf(log)).toEqual([2, 3]);
      expect(log.snapshot?.meta.index).toBe(3);
    });

    it('§7 compact beyond the applied index is refused with an assertion', () => {
      const log = logOf([1, 1, 1], 3, 2);
      expect(() => log.compact(snapshotAt(3, 1))).toThrow(/beyond applied/);
    });

    it('§7 compact beyond the stable index is refused with an assertion', () => {
      const log = logOf([1, 1], 2, 2);
      log.append(commandEntries(3, [1]));
      log.committed = 3;
      log.applied = 3;
      expect(() => log.compact(snapshotAt(3, 1))).toThrow(/beyond stable/);
    });

    it('§7 compact with a term that differs from the log is refused with an assertion', () => {
      const log = logOf([1, 1, 1], 3, 3);
      expect(() => log.compact(snapshotAt(2, 7))).toThrow(/snapshot term differs/);
    });

    it('§7 compact at or below the current snapshot index changes nothing', () => {
      const log = logOf([1, 1, 2, 2], 4, 4);
      log.compact(snapshotAt(3, 2));
      log.compact(snapshotAt(2, 1));
      expect(log.firstIndex()).toBe(4);
      expect(log.snapshot?.meta.index).toBe(3);
    });

    it('§7 slicing from a compacted index is refused with an assertion', () => {
      const log = logOf([1, 1, 2], 3, 3);
      log.compact(snapshotAt(2, 1));
      expect(() => log.slice(2, 10)).toThrow(AssertionError);
      expect(log.slice(3, 10).map((e) => e.index)).toEqual([3]);
    });
  });

  describe('restore and construction (§7)', () => {
    it('§7 restore replaces the whole log with the snapshot and commits its index', () => {
      const log = logOf([1, 1, 1, 1], 1, 1);
      log.restore(snapshotAt(6, 3));
      expect(log.firstIndex()).toBe(7);
      expect(log.lastIndex()).toBe(6);
      expect(log.lastTerm()).toBe(3);
      expect(log.committed).toBe(6);
      expect(log.entry(2)).toBeUndefined();
    });

    it('§7 a log restarted from a snapshot skips persisted entries the snapshot covers', () => {
      const log = new RaftLog(snapshotAt(2, 1), commandEntries(1, [1, 1, 2, 2]), 3, 0);
      expect(log.firstIndex()).toBe(3);
      expect(termsOf(log)).toEqual([2, 2]);
      expect(log.applied).toBe(2);
      expect(log.committed).toBe(3);
    });

    it('§5.3 a persisted log with a gap is refused with an assertion', () => {
      expect(() => new RaftLog(null, [...commandEntries(1, [1]), ...commandEntries(3, [1])], 0, 0)).toThrow(/gap/);
    });

    it('§5.3 a persisted commit index beyond the log is refused with an assertion', () => {
      expect(() => logOf([1, 1], 3)).toThrow(/beyond last index/);
    });
  });
});
