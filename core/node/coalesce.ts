// Pure. Merges the messages of one Ready that the receiver would handle as one: a leader's run of
// AppendEntries to a follower that continue one another, and a follower's run of successful
// AppendEntriesResponses to its leader. Under load the leader sends one AppendEntries per
// proposal; merged, a follower steps, persists and answers once per batch instead of per entry.

import type { Entry, Message, NodeId } from '../raft/types.ts';

type AppendEntries = Extract<Message, { type: 'AppendEntries' }>;
type AppendEntriesResponse = Extract<Message, { type: 'AppendEntriesResponse' }>;

/** CoalesceLimits bound a merged AppendEntries like the Raft core bounds its own (RaftConfig). */
export interface CoalesceLimits {
  readonly maxEntriesPerMessage: number;
  readonly maxBytesPerMessage?: number;
}

/** entryBytes sizes an entry the way the Raft core does when it fills a message. */
function entryBytes(entry: Entry): number {
  return entry.type === 'command' ? entry.data.byteLength : 64;
}

function lastTermOf(m: AppendEntries): number {
  const last = m.entries[m.entries.length - 1];
  return last === undefined ? m.prevLogTerm : last.term;
}

/**
 * continues says whether `next` picks up exactly where `prev` ends, from the same leader and term.
 * The merged message is one the Raft core could have sent itself (it sends runs of entries when
 * it has them): the follower appends the same entries after the same log-matching check, and
 * commits min(leaderCommit, last new index) with the later, never smaller, leaderCommit.
 */
function continues(prev: AppendEntries, next: AppendEntries, limits: CoalesceLimits, prevBytes: number): boolean {
  if (next.from !== prev.from || next.term !== prev.term) return false;
  if (next.prevLogIndex !== prev.prevLogIndex + prev.entries.length || next.prevLogTerm !== lastTermOf(prev)) return false;
  if (next.leaderCommit < prev.leaderCommit) return false;
  if (prev.entries.length + next.entries.length > limits.maxEntriesPerMessage) return false;
  if (limits.maxBytesPerMessage === undefined || next.entries.length === 0) return true;
  let bytes = prevBytes;
  for (const entry of next.entries) bytes += entryBytes(entry);
  return bytes <= limits.maxBytesPerMessage;
}

/**
 * supersedes says whether `next` makes `prev` redundant: both accept appends from the same node in
 * the same term, and `next` acknowledges at least as much. The leader only ever raises matchIndex
 * on a success, so it loses nothing by seeing the last one alone (Raft tolerates dropped messages).
 */
function supersedes(prev: AppendEntriesResponse, next: AppendEntriesResponse): boolean {
  return prev.success && next.success && next.from === prev.from && next.term === prev.term && next.matchIndex >= prev.matchIndex;
}

/**
 * coalesceMessages returns the messages with runs merged per destination. Only a message's latest
 * predecessor to the same peer is ever merged with, so the order of messages to each peer is kept
 * (the transport keeps per-peer order and nothing else). The input is not modified.
 */
export function coalesceMessages(messages: readonly Message[], limits: CoalesceLimits): readonly Message[] {
  if (messages.length <= 1) return messages;
  const out: Message[] = [];
  /**
   * Per peer: the position in `out` of the latest message to it, the byte size of its entries,
   * and, once something was merged into it, the entries array it owns (appended to in place, so
   * a run of n messages costs O(n), not O(n²)).
   */
  const latest = new Map<NodeId, { at: number; bytes: number; owned: Entry[] | null }>();
  for (const m of messages) {
    const seen = latest.get(m.to);
    const prev = seen === undefined ? undefined : (out[seen.at] as Message);
    if (seen !== undefined && prev !== undefined) {
      if (prev.type === 'AppendEntries' && m.type === 'AppendEntries' && continues(prev, m, limits, seen.bytes)) {
        let entries: readonly Entry[] = prev.entries;
        if (m.entries.length > 0) {
          if (seen.owned === null) seen.owned = prev.entries.slice();
          for (const entry of m.entries) {
            seen.owned.push(entry);
            seen.bytes += entryBytes(entry);
          }
          entries = seen.owned;
        }
        out[seen.at] = { ...prev, entries, leaderCommit: m.leaderCommit };
        continue;
      }
      if (prev.type === 'AppendEntriesResponse' && m.type === 'AppendEntriesResponse' && supersedes(prev, m)) {
        out[seen.at] = m;
        continue;
      }
    }
    let bytes = 0;
    if (m.type === 'AppendEntries') for (const entry of m.entries) bytes += entryBytes(entry);
    latest.set(m.to, { at: out.length, bytes, owned: null });
    out.push(m);
  }
  return out;
}
