// Pure (it only reads what it is shown). SafetyChecker holds Raft's safety properties (Raft §5.4,
// Figure 3) against a running simulation, incrementally: cheap checks after every event on the
// node the event touched, checks on every message sent and entry applied, and a periodic full
// comparison of the in-memory logs whose cost is amortized over the events in between.

import type { DurableImage } from '../harness/simStorage.ts';
import type { Entry, LogIndex, Message, RaftStatus, Term } from '../../../core/raft/types.ts';

/** NodeView is the read-only slice of a RaftNode the checker needs (RaftNode satisfies it). */
export interface NodeView {
  status(): RaftStatus;
  firstIndex(): LogIndex;
  lastIndex(): LogIndex;
  entryAt(index: LogIndex): Entry | undefined;
  termAt(index: LogIndex): Term | undefined;
}

/** SafetyEnv is how the checker sees the cluster: a view per running node and each node's disk. */
export interface SafetyEnv {
  readonly nodeCount: number;
  /** The node's Raft state, or null while it is down. */
  view(node: number): NodeView | null;
  /** The node's durable disk image (what a restart would load). */
  durable(node: number): DurableImage;
  /** A node's display name, for messages. */
  name(node: number): string;
  /** Virtual time, for messages. */
  now(): number;
}

const TERM_LIMIT = 1 << 20;

/** entryDigest is a 32-bit FNV-1a hash of an entry's content (type and payload), cached per object. */
export function entryDigest(entry: Entry): number {
  const cached = digestCache.get(entry);
  if (cached !== undefined) return cached;
  let h = 0x811c9dc5;
  const mix = (byte: number): void => {
    h ^= byte & 0xff;
    h = Math.imul(h, 0x01000193);
  };
  switch (entry.type) {
    case 'noop':
      mix(1);
      break;
    case 'conf': {
      mix(2);
      const text = `${entry.change.type}:${entry.change.node}`;
      for (let i = 0; i < text.length; i++) mix(text.charCodeAt(i));
      break;
    }
    case 'command':
      mix(3);
      for (const byte of entry.data) mix(byte);
      break;
  }
  const digest = h >>> 0;
  digestCache.set(entry, digest);
  return digest;
}
const digestCache = new WeakMap<Entry, number>();

interface NodeTrack {
  /** Highest commit index already checked in this incarnation (-1: not observed yet). */
  commit: number;
  /** Term of the last leadership observed (to notice a new one). */
  leaderTerm: number;
  /** The vote observed in `voteTerm` (within this incarnation). */
  voteTerm: number;
  votedFor: string | null;
  term: number;
}

/**
 * SafetyChecker accumulates violations as human-readable strings. It never throws on a
 * violation: the run decides whether to stop, and a report with every violation is more useful.
 */
export class SafetyChecker {
  readonly violations: string[] = [];
  /** How many full log comparisons ran (for tests and reports). */
  fullChecks = 0;
  private readonly env: SafetyEnv;
  private readonly tracks: NodeTrack[];
  /** Per index: the term of the committed entry, its digest, and the lowest term in which it was seen committed. */
  private readonly committedTerm: number[] = [];
  private readonly committedDigest: number[] = [];
  private readonly committedSeenTerm: number[] = [];
  private maxCommitted = 0;
  private readonly leaderOfTerm = new Map<number, number>();
  /** Key term * 16 + voter: the candidate that voter granted its vote to in that term. */
  private readonly votesGranted = new Map<number, number>();
  /** Key index * 2^20 + term: the digest of every entry ever seen at that position. */
  private readonly seenEntries = new Map<number, number>();
  private eventsSinceFull = 0;
  private fullCheckEvery = 2000;

  constructor(env: SafetyEnv) {
    this.env = env;
    this.tracks = Array.from({ length: env.nodeCount }, () => ({ commit: -1, leaderTerm: -1, voteTerm: -1, votedFor: null, term: 0 }));
  }

  /** ok is true while no violation has been found. */
  get ok(): boolean {
    return this.violations.length === 0;
  }

  /**
   * afterEvent checks the node an event touched (its status is passed in because the run needs
   * it for the trace anyway), and now and then compares every log in full.
   */
  afterEvent(node: number, status: RaftStatus | null): void {
    if (node >= 0 && status) this.checkNode(node, status);
    if (++this.eventsSinceFull >= this.fullCheckEvery) this.fullCheck();
  }

  /** onCrash forgets per-incarnation observations. */
  onCrash(node: number): void {
    const track = this.track(node);
    track.commit = -1;
    track.leaderTerm = -1;
    track.voteTerm = -1;
    track.votedFor = null;
    track.term = 0;
  }

  /** onRestart checks a restarted node at once: its durable log must still hold what it committed. */
  onRestart(node: number): void {
    this.onCrash(node);
    const view = this.env.view(node);
    if (view) this.checkNode(node, view.status());
  }

  /**
   * onApplied is state-machine safety (Raft §5.4.3): whenever any node applies index i, it applies
   * the same entry every other node applied (or will apply) at i.
   */
  onApplied(node: number, entry: Entry): void {
    const term = this.env.view(node)?.status().term ?? entry.term;
    this.recordCommitted(node, entry.index, entry.term, entryDigest(entry), term, 'applied');
  }

  /**
   * onSend checks what a message claims against the sender's disk and against every message sent
   * before: Figure 2 says persist before answering, and at most one vote and one leader per term.
   */
  onSend(from: number, m: Message): void {
    if (m.type === 'PreVote' || m.type === 'PreVoteResponse') return; // Pre-votes speak of a future term.
    const durable = this.env.durable(from);
    const who = this.env.name(from);
    if (durable.hardState.term < m.term) {
      this.violate(`durability: ${who} sent ${m.type} in term ${m.term} while its durable term is ${durable.hardState.term}`);
    }
    switch (m.type) {
      case 'RequestVoteResponse': {
        if (!m.granted) return;
        const hs = durable.hardState;
        if (hs.term === m.term && hs.votedFor !== m.to) {
          this.violate(`durability: ${who} granted its term-${m.term} vote to ${m.to} but its disk says votedFor=${hs.votedFor}`);
        }
        const key = m.term * 16 + from;
        const candidate = this.candidateIndex(m.to);
        const previous = this.votesGranted.get(key);
        if (previous === undefined) this.votesGranted.set(key, candidate);
        else if (previous !== candidate) {
          this.violate(`election safety: ${who} granted votes in term ${m.term} to both ${this.env.name(previous)} and ${m.to}`);
        }
        return;
      }
      case 'AppendEntries':
      case 'Heartbeat':
      case 'InstallSnapshot':
      case 'TimeoutNow':
        this.noteLeader(from, m.term, `sent ${m.type}`);
        return;
      case 'AppendEntriesResponse':
      case 'InstallSnapshotResponse': {
        const acked = m.type === 'AppendEntriesResponse' ? (m.success ? m.matchIndex : 0) : m.accepted ? m.matchIndex : 0;
        const durableLast = (durable.snapshot?.meta.index ?? 0) + durable.entries.length;
        if (acked > durableLast && durable.hardState.term <= m.term) {
          this.violate(`durability: ${who} acknowledged index ${acked} in term ${m.term} but only ${durableLast} is durable`);
        }
        return;
      }
      default:
        return;
    }
  }

  /**
   * fullCheck compares every running node's in-memory log against the committed record and
   * against each other (log matching, Raft §5.3). Its period grows with the logs' size.
   */
  fullCheck(): void {
    this.eventsSinceFull = 0;
    this.fullChecks++;
    const views: { node: number; view: NodeView; first: number; last: number; commit: number }[] = [];
    let work = 0;
    for (let node = 0; node < this.env.nodeCount; node++) {
      const view = this.env.view(node);
      if (!view) continue;
      const status = view.status();
      views.push({ node, view, first: view.firstIndex(), last: view.lastIndex(), commit: status.commitIndex });
    }
    for (const { node, view, first, last, commit } of views) {
      const who = this.env.name(node);
      for (let index = first - 1; index <= commit; index++) {
        const term = view.termAt(index);
        const known = this.committedTerm[index];
        if (term === undefined) {
          if (index > 0) this.violate(`committed entries lost: ${who} lacks index ${index} below its commit ${commit}`);
          continue;
        }
        if (known !== undefined && known !== term) {
          this.violate(`committed entries lost: ${who} holds term ${term} at ${index} (commit ${commit}) but term ${known} was committed there`);
        }
      }
      for (let index = first; index <= last; index++) {
        const entry = view.entryAt(index);
        if (!entry) continue;
        work++;
        if (entry.index !== index) this.violate(`log: ${who} holds entry ${entry.index} at position ${index}`);
        this.noteEntry(node, entry);
        const known = this.committedTerm[index];
        const digest = this.committedDigest[index];
        if (index <= commit && known === entry.term && digest !== undefined && digest !== entryDigest(entry)) {
          this.violate(`state machine safety: ${who} holds a different entry at committed (${index}, term ${entry.term})`);
        }
      }
    }
    for (let a = 0; a < views.length; a++) {
      for (let b = a + 1; b < views.length; b++) work += this.compareLogs(views[a]!, views[b]!);
    }
    // Amortize: the next full check comes after at least as many events as this one cost.
    this.fullCheckEvery = Math.max(2000, work * 2);
  }

  private compareLogs(
    a: { node: number; view: NodeView; first: number; last: number },
    b: { node: number; view: NodeView; first: number; last: number },
  ): number {
    const lo = Math.max(a.first, b.first) - 1;
    const hi = Math.min(a.last, b.last);
    // Raft §5.3 log matching: find the highest index where both logs hold the same term; both
    // logs must then be identical at every index up to it.
    let top = -1;
    for (let index = hi; index >= lo; index--) {
      const ta = a.view.termAt(index);
      if (ta !== undefined && ta === b.view.termAt(index)) {
        top = index;
        break;
      }
    }
    for (let index = lo; index <= top; index++) {
      const ta = a.view.termAt(index);
      const tb = b.view.termAt(index);
      if (ta !== tb) {
        this.violate(
          `log matching: ${this.env.name(a.node)} and ${this.env.name(b.node)} agree at (${top}, term ${a.view.termAt(top)}) but differ at ${index} (terms ${ta} and ${tb})`,
        );
        return hi - lo;
      }
      const ea = a.view.entryAt(index);
      const eb = b.view.entryAt(index);
      if (ea && eb && entryDigest(ea) !== entryDigest(eb)) {
        this.violate(`log matching: ${this.env.name(a.node)} and ${this.env.name(b.node)} hold different entries at (${index}, term ${ta})`);
        return hi - lo;
      }
    }
    return Math.max(0, hi - lo);
  }

  private checkNode(node: number, status: RaftStatus): void {
    const track = this.track(node);
    const who = this.env.name(node);
    if (status.term < track.term) this.violate(`term: ${who} went back from term ${track.term} to ${status.term}`);
    track.term = status.term;
    if (status.votedFor !== null) {
      if (track.voteTerm === status.term && track.votedFor !== status.votedFor) {
        this.violate(`election safety: ${who} changed its term-${status.term} vote from ${track.votedFor} to ${status.votedFor}`);
      }
      track.voteTerm = status.term;
      track.votedFor = status.votedFor;
    }
    const view = this.env.view(node);
    if (!view) return;
    if (status.role === 'leader') {
      this.noteLeader(node, status.term, 'is leader');
      if (track.leaderTerm !== status.term) {
        track.leaderTerm = status.term;
        this.checkLeaderCompleteness(node, status, view);
      }
    }
    this.checkCommit(node, status, view, track);
  }

  /**
   * checkCommit records every index this node newly considers committed, and re-checks the
   * entry at its commit index, so a committed entry that disappears is noticed at once.
   */
  private checkCommit(node: number, status: RaftStatus, view: NodeView, track: NodeTrack): void {
    const commit = status.commitIndex;
    const who = this.env.name(node);
    if (commit > status.lastIndex) this.violate(`commit: ${who} has commit ${commit} beyond its last index ${status.lastIndex}`);
    if (track.commit >= 0 && commit < track.commit) {
      this.violate(`commit: ${who} moved its commit index back from ${track.commit} to ${commit}`);
    }
    const from = track.commit < 0 ? status.firstIndex - 1 : Math.max(track.commit + 1, status.firstIndex - 1);
    for (let index = Math.max(from, 1); index <= commit; index++) {
      const term = view.termAt(index);
      if (term === undefined) continue;
      const entry = view.entryAt(index);
      this.recordCommitted(node, index, term, entry ? entryDigest(entry) : undefined, status.term, 'committed');
    }
    if (commit > track.commit) track.commit = commit;
    if (commit > 0) {
      const known = this.committedTerm[commit];
      const term = view.termAt(commit);
      if (term !== undefined && known !== undefined && known !== term) {
        this.violate(`committed entries lost: ${who} holds term ${term} at its commit index ${commit}, but term ${known} was committed there`);
      }
    }
  }

  /**
   * checkLeaderCompleteness is Raft §5.4 (Figure 3): a leader's log holds every entry committed in
   * an earlier term. Entries first seen committed in this term or later are skipped: a leader of
   * an old term may legitimately be elected late, after a later term committed more.
   */
  private checkLeaderCompleteness(node: number, status: RaftStatus, view: NodeView): void {
    const who = this.env.name(node);
    const first = Math.max(1, view.firstIndex() - 1);
    for (let index = first; index <= this.maxCommitted; index++) {
      const known = this.committedTerm[index];
      const seen = this.committedSeenTerm[index];
      if (known === undefined || seen === undefined || seen >= status.term) continue;
      const term = view.termAt(index);
      if (term !== known) {
        this.violate(
          `leader completeness: ${who} became leader of term ${status.term} with ${term === undefined ? 'no entry' : `term ${term}`} at ${index}, where term ${known} was committed (seen in term ${seen})`,
        );
        return;
      }
    }
  }

  private recordCommitted(node: number, index: number, term: number, digest: number | undefined, seenTerm: number, how: string): void {
    const known = this.committedTerm[index];
    const who = this.env.name(node);
    if (known === undefined) {
      this.committedTerm[index] = term;
      this.committedSeenTerm[index] = seenTerm;
      if (digest !== undefined) this.committedDigest[index] = digest;
      if (index > this.maxCommitted) this.maxCommitted = index;
      return;
    }
    if (known !== term) {
      this.violate(`state machine safety: ${who} ${how} (${index}, term ${term}) but (${index}, term ${known}) was committed before`);
      return;
    }
    const knownDigest = this.committedDigest[index];
    if (digest !== undefined) {
      if (knownDigest === undefined) this.committedDigest[index] = digest;
      else if (knownDigest !== digest) this.violate(`state machine safety: ${who} ${how} a different entry at (${index}, term ${term})`);
    }
    if (seenTerm < (this.committedSeenTerm[index] ?? Infinity)) this.committedSeenTerm[index] = seenTerm;
  }

  private noteLeader(node: number, term: number, how: string): void {
    const previous = this.leaderOfTerm.get(term);
    if (previous === undefined) this.leaderOfTerm.set(term, node);
    else if (previous !== node) {
      this.violate(`election safety: two leaders in term ${term}: ${this.env.name(previous)} and ${this.env.name(node)} (${how})`);
    }
  }

  private noteEntry(node: number, entry: Entry): void {
    if (entry.term >= TERM_LIMIT) return;
    const key = entry.index * TERM_LIMIT + entry.term;
    const digest = entryDigest(entry);
    const previous = this.seenEntries.get(key);
    if (previous === undefined) this.seenEntries.set(key, digest);
    else if (previous !== digest) {
      this.violate(`log matching: ${this.env.name(node)} holds an entry at (${entry.index}, term ${entry.term}) that differs from one seen there before`);
    }
  }

  private candidateIndex(id: string): number {
    for (let node = 0; node < this.env.nodeCount; node++) if (this.env.name(node) === id) return node;
    return -1;
  }

  private track(node: number): NodeTrack {
    const track = this.tracks[node];
    if (!track) throw new RangeError(`no node ${node}`);
    return track;
  }

  private violate(message: string): void {
    if (this.violations.length < 20) this.violations.push(`t=${this.env.now().toFixed(1)}ms ${message}`);
  }
}
