// Unit tests for core/raft/quorum.ts: the optimized commit index and vote counting are checked
// against deliberately naive implementations over many seeded random inputs (in the spirit of
// etcd's quorum/quick_test.go), plus hand-picked won/lost/pending cases.
import { describe, expect, it } from 'vitest';
import { committedIndex, quorumSize, voteResult, type VoteResult } from '../../../core/raft/quorum.ts';
import type { LogIndex, NodeId } from '../../../core/raft/types.ts';
import { Prng } from '../../../core/util/prng.ts';
import { ids } from './network.ts';

/** naiveCommitted tries every index and keeps the highest one that a majority has reached. */
function naiveCommitted(voters: readonly NodeId[], match: ReadonlyMap<NodeId, LogIndex>): LogIndex {
  let best = 0;
  for (const candidate of match.values()) {
    const holders = voters.filter((id) => (match.get(id) ?? 0) >= candidate).length;
    if (holders * 2 > voters.length && candidate > best) best = candidate;
  }
  return best;
}

/** naiveVote decides by counting: won with a majority of grants, lost once a majority is out of reach. */
function naiveVote(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const granted = voters.filter((id) => votes.get(id) === true).length;
  const missing = voters.filter((id) => !votes.has(id)).length;
  if (granted * 2 > voters.length) return 'won';
  if ((granted + missing) * 2 <= voters.length) return 'lost';
  return 'pending';
}

describe('quorum', () => {
  it('§5.2 a quorum is a strict majority of the voters', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(quorumSize)).toEqual([1, 2, 2, 3, 3, 4, 4]);
  });

  it('§5.3 committedIndex equals the highest index a majority holds, for random match indexes (property)', () => {
    const prng = new Prng(0x5eed);
    const all = ids(9);
    for (let run = 0; run < 2000; run++) {
      const voters = all.slice(0, prng.range(1, all.length));
      const match = new Map<NodeId, LogIndex>();
      // Small index ranges make ties common, which is where off-by-one errors hide.
      const maxIndex = prng.pick([3, 10, 1000]);
      for (const id of voters) if (!prng.chance(0.1)) match.set(id, prng.range(0, maxIndex));
      const expected = naiveCommitted(voters, match);
      expect(committedIndex(voters, (id) => match.get(id) ?? 0), `voters=${voters.length} match=${[...match.values()].join(',')}`).toBe(expected);
    }
  });

  it('§5.3 committedIndex ignores the match index of non-voters', () => {
    const [a, b, c, d] = ids(4) as [NodeId, NodeId, NodeId, NodeId];
    const match = new Map([[a, 5], [b, 1], [c, 1], [d, 9]]);
    expect(committedIndex([a, b, c], (id) => match.get(id) ?? 0)).toBe(1);
  });

  it('§5.3 committedIndex of an empty configuration is 0', () => {
    expect(committedIndex([], () => 7)).toBe(0);
  });

  it('§5.2 voteResult matches naive counting for random partial elections (property)', () => {
    const prng = new Prng(0xb0a7);
    const all = ids(9);
    const seen = new Set<VoteResult>();
    for (let run = 0; run < 2000; run++) {
      const voters = all.slice(0, prng.range(1, 7));
      const votes = new Map<NodeId, boolean>();
      // Every node may answer, including ones outside the configuration (learners, strangers).
      for (const id of all) if (prng.chance(0.6)) votes.set(id, prng.chance(0.5));
      const expected = naiveVote(voters, votes);
      seen.add(expected);
      expect(voteResult(voters, votes)).toBe(expected);
    }
    expect(seen).toEqual(new Set(['won', 'lost', 'pending']));
  });

  it.each([
    ['won with a bare majority of grants', [true, true, true, false, undefined], 'won'],
    ['lost once a majority has rejected', [true, false, false, false, undefined], 'lost'],
    ['pending while the outcome is still open', [true, true, false, false, undefined], 'pending'],
    ['pending with a single grant of three', [true, undefined, undefined], 'pending'],
    ['lost in a four-voter split (2 grants, 2 rejections)', [true, true, false, false], 'lost'],
  ] as const)('§5.2 voteResult: %s', (_name, answers, expected) => {
    const voters = ids(answers.length);
    const votes = new Map<NodeId, boolean>();
    answers.forEach((answer, i) => {
      if (answer !== undefined) votes.set(voters[i] as NodeId, answer);
    });
    expect(voteResult(voters, votes)).toBe(expected);
  });

  it('§5.2 voteResult does not count grants from non-voters', () => {
    const [a, b, c, learner, stranger] = ids(5) as [NodeId, NodeId, NodeId, NodeId, NodeId];
    const votes = new Map([[a, true], [learner, true], [stranger, true]]);
    expect(voteResult([a, b, c], votes)).toBe('pending');
  });
});
