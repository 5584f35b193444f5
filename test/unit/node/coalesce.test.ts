// Pure. Merging of a Ready's messages: runs of AppendEntries that continue one another become one
// message per peer, runs of successful AppendEntriesResponses keep only the last, and nothing
// else changes order or content.

import { describe, expect, it } from 'vitest';
import { coalesceMessages } from '../../../core/node/coalesce.ts';
import { nodeId } from '../../../core/raft/types.ts';
import type { Entry, Message } from '../../../core/raft/types.ts';

const n1 = nodeId('n1');
const n2 = nodeId('n2');
const n3 = nodeId('n3');
const limits = { maxEntriesPerMessage: 512, maxBytesPerMessage: 1024 * 1024 };

function entry(index: number, term = 2, bytes = 8): Entry {
  return { index, term, type: 'command', data: new Uint8Array(bytes) };
}

function append(to: typeof n2, prevLogIndex: number, entries: Entry[], leaderCommit: number, prevLogTerm = 2, term = 2): Message {
  return { type: 'AppendEntries', from: n1, to, term, prevLogIndex, prevLogTerm, entries, leaderCommit };
}

function ack(from: typeof n2, matchIndex: number, success = true, term = 2): Message {
  return { type: 'AppendEntriesResponse', from, to: n1, term, success, matchIndex, rejectHint: 0, rejectedIndex: success ? 0 : matchIndex };
}

describe('coalesceMessages', () => {
  it('merges a leader\'s run of AppendEntries per follower into one, with the last commit index', () => {
    const out = coalesceMessages(
      [append(n2, 10, [entry(11)], 9), append(n3, 10, [entry(11)], 9), append(n2, 11, [entry(12)], 9), append(n3, 11, [entry(12)], 9), append(n2, 12, [], 11), append(n3, 12, [], 11)],
      limits,
    );
    expect(out).toEqual([append(n2, 10, [entry(11), entry(12)], 11), append(n3, 10, [entry(11), entry(12)], 11)]);
  });

  it('keeps AppendEntries apart when they do not continue each other', () => {
    const resend = [append(n2, 10, [entry(11)], 9), append(n2, 10, [entry(11)], 9)];
    expect(coalesceMessages(resend, limits)).toEqual(resend);
    const otherTerm = [append(n2, 10, [entry(11)], 9), append(n2, 11, [entry(12, 3)], 9, 2, 3)];
    expect(coalesceMessages(otherTerm, limits)).toEqual(otherTerm);
    const wrongPrevTerm = [append(n2, 10, [entry(11)], 9), append(n2, 11, [entry(12)], 9, 1)];
    expect(coalesceMessages(wrongPrevTerm, limits)).toEqual(wrongPrevTerm);
    const commitBack = [append(n2, 10, [entry(11)], 9), append(n2, 11, [entry(12)], 8)];
    expect(coalesceMessages(commitBack, limits)).toEqual(commitBack);
  });

  it('does not merge across another message to the same peer', () => {
    const heartbeat: Message = { type: 'Heartbeat', from: n1, to: n2, term: 2, commit: 9, context: null };
    const messages = [append(n2, 10, [entry(11)], 9), heartbeat, append(n2, 11, [entry(12)], 9)];
    expect(coalesceMessages(messages, limits)).toEqual(messages);
  });

  it('respects the entry count and byte limits of one message', () => {
    const byCount = coalesceMessages([append(n2, 10, [entry(11), entry(12)], 9), append(n2, 12, [entry(13)], 9)], { maxEntriesPerMessage: 2 });
    expect(byCount).toHaveLength(2);
    const byBytes = coalesceMessages([append(n2, 10, [entry(11, 2, 600)], 9), append(n2, 11, [entry(12, 2, 600)], 9)], { maxEntriesPerMessage: 512, maxBytesPerMessage: 1000 });
    expect(byBytes).toHaveLength(2);
    const commitOnly = coalesceMessages([append(n2, 10, [entry(11, 2, 600)], 9), append(n2, 11, [], 11)], { maxEntriesPerMessage: 1, maxBytesPerMessage: 100 });
    expect(commitOnly).toEqual([append(n2, 10, [entry(11, 2, 600)], 11)]);
  });

  it('keeps only the last of a follower\'s successful answers, but every rejection', () => {
    expect(coalesceMessages([ack(n2, 11), ack(n2, 12), ack(n2, 14)], limits)).toEqual([ack(n2, 14)]);
    const withReject = [ack(n2, 11), ack(n2, 12, false), ack(n2, 13)];
    expect(coalesceMessages(withReject, limits)).toEqual(withReject);
    const older = [ack(n2, 12), ack(n2, 11)];
    expect(coalesceMessages(older, limits)).toEqual(older);
  });

  it('returns short inputs as they are and never modifies its input', () => {
    const one = [append(n2, 10, [entry(11)], 9)];
    expect(coalesceMessages(one, limits)).toBe(one);
    const first = append(n2, 10, [entry(11)], 9);
    const input = [first, append(n2, 11, [entry(12)], 10)];
    coalesceMessages(input, limits);
    expect(first).toEqual(append(n2, 10, [entry(11)], 9));
    expect(input).toHaveLength(2);
  });
});
