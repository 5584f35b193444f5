// Pure. Majority arithmetic for votes and commit indexes (Raft §5.2, §5.3).

import type { LogIndex, NodeId } from './types.ts';

/** quorumSize is the smallest majority of `voterCount` voters. */
export function quorumSize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * committedIndex is the highest index stored on a majority of voters: sort the match indexes in
 * descending order and take the one at the quorum position. Raft §5.3.
 */
export function committedIndex(voters: readonly NodeId[], matchOf: (id: NodeId) => LogIndex): LogIndex {
  if (voters.length === 0) return 0;
  const matches = voters.map(matchOf).sort((a, b) => b - a);
  return matches[quorumSize(voters.length) - 1] ?? 0;
}

/** VoteResult is the state of an election from the candidate's point of view. */
export type VoteResult = 'won' | 'lost' | 'pending';

/** voteResult counts only voters' answers: learners and strangers never decide an election. */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === true) granted++;
    else if (vote === false) rejected++;
  }
  const quorum = quorumSize(voters.length);
  if (granted >= quorum) return 'won';
  if (rejected > voters.length - quorum) return 'lost';
  return 'pending';
}
