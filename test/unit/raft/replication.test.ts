// Log replication (Raft §5.3) and commitment (§5.4.2): log matching and conflict repair (the
// Figure 7 and Figure 8 scenarios), a commit index that only rises, batching, bounded pipelining,
// recovery of lost messages, and the Ready contract (a message never outruns its persistence).
import { describe, expect, it } from 'vitest';
import type { Entry, Message, NodeId, Ready, Term } from '../../../core/raft/types.ts';
import { Prng } from '../../../core/util/prng.ts';
import {
  TestNetwork,
  appendEntries,
  bytes,
  commandEntries,
  drain,
  heartbeat,
  ids,
  makeLeader,
  newNode,
  voteRequest,
  type Disk,
} from './network.ts';

const [n1, n2, n3, n4, n5] = ids(5) as [NodeId, NodeId, NodeId, NodeId, NodeId];

function electN1(overrides: ConstructorParameters<typeof TestNetwork>[1] = {}, members: NodeId[] = [n1, n2, n3]): TestNetwork {
  const net = new TestNetwork(members, overrides);
  net.node(n1).campaign();
  net.stabilize();
  expect(net.node(n1).status().role).toBe('leader');
  return net;
}

function appendsTo(messages: readonly Message[], to: NodeId): Extract<Message, { type: 'AppendEntries' }>[] {
  return messages.filter((m): m is Extract<Message, { type: 'AppendEntries' }> => m.type === 'AppendEntries' && m.to === to);
}

function appendResponses(messages: readonly Message[]): Extract<Message, { type: 'AppendEntriesResponse' }>[] {
  return messages.filter((m): m is Extract<Message, { type: 'AppendEntriesResponse' }> => m.type === 'AppendEntriesResponse');
}

function termsOfNode(node: { firstIndex(): number; lastIndex(): number; termAt(i: number): Term | undefined }): (Term | undefined)[] {
  const terms: (Term | undefined)[] = [];
  for (let i = node.firstIndex(); i <= node.lastIndex(); i++) terms.push(node.termAt(i));
  return terms;
}

describe('§5.3 log matching', () => {
  // The follower's log: 1:1 2:1 3:2, term 2, nothing committed.
  const follower = () => newNode(n2, [n1, n2, n3], { hardState: { term: 2, votedFor: null, commit: 0 }, entries: commandEntries(1, [1, 1, 2]) });

  it('§5.3 a follower rejects AppendEntries whose prevLogTerm differs from its entry at prevLogIndex', () => {
    const node = follower();
    node.step(appendEntries(n1, n2, 3, 3, 3, commandEntries(4, [3])));
    const [response, ...rest] = appendResponses(drain(node).messages);
    expect(rest).toEqual([]);
    expect(response).toMatchObject({ success: false, rejectedIndex: 3, rejectHint: 3, term: 3 });
    expect(termsOfNode(node)).toEqual([1, 1, 2]);
  });

  it('§5.3 a follower rejects AppendEntries whose prevLogIndex is beyond its last entry, hinting at its last index', () => {
    const node = follower();
    node.step(appendEntries(n1, n2, 3, 7, 3, commandEntries(8, [3])));
    expect(appendResponses(drain(node).messages)).toMatchObject([{ success: false, rejectedIndex: 7, rejectHint: 3 }]);
    expect(node.lastIndex()).toBe(3);
  });

  it('§5.3 a follower hints at the last entry whose term is not above prevLogTerm (fast backtracking)', () => {
    const node = follower();
    node.step(appendEntries(n1, n2, 3, 3, 1, commandEntries(4, [3])));
    expect(appendResponses(drain(node).messages)).toMatchObject([{ success: false, rejectedIndex: 3, rejectHint: 2 }]);
  });

  it('§5.3 conflicting entries are truncated and replaced, and the Ready asks the driver to overwrite from the conflict', () => {
    const node = newNode(n2, [n1, n2, n3], { hardState: { term: 2, votedFor: null, commit: 1 }, entries: commandEntries(1, [1, 1, 2, 2]) });
    node.step(appendEntries(n1, n2, 3, 2, 1, commandEntries(3, [3]), 1));
    const out = drain(node);
    expect(termsOfNode(node)).toEqual([1, 1, 3]);
    expect(out.entries.map((e) => [e.index, e.term])).toEqual([[3, 3]]);
    expect(appendResponses(out.messages)).toMatchObject([{ success: true, matchIndex: 3 }]);
  });

  it('§5.3 an AppendEntries whose entries are all present truncates nothing (a reordered or duplicated message)', () => {
    const node = newNode(n2, [n1, n2, n3], { hardState: { term: 1, votedFor: null, commit: 0 }, entries: commandEntries(1, [1, 1, 1, 1]) });
    node.step(appendEntries(n1, n2, 1, 1, 1, commandEntries(2, [1])));
    const out = drain(node);
    expect(node.lastIndex()).toBe(4);
    expect(out.entries).toEqual([]);
    expect(appendResponses(out.messages)).toMatchObject([{ success: true, matchIndex: 2 }]);
  });

  it('§5.3 a follower sets its commit index to min(leaderCommit, index of the last new entry)', () => {
    const node = newNode(n2, [n1, n2, n3]);
    node.step(appendEntries(n1, n2, 1, 0, 0, commandEntries(1, [1, 1]), 5));
    expect(node.status().commitIndex).toBe(2);
    // A stale message covering only entry 1 must not let the commit index run past what it proves.
    const other = newNode(n2, [n1, n2, n3], { hardState: { term: 1, votedFor: null, commit: 0 }, entries: commandEntries(1, [1, 1, 1]) });
    other.step(appendEntries(n1, n2, 1, 0, 0, commandEntries(1, [1]), 3));
    expect(other.status().commitIndex).toBe(1);
  });

  // Raft Figure 7: the leader of term 8 and six possible follower logs (a)-(f).
  const figure7Leader = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  it.each([
    ['(a) missing an entry', [1, 1, 1, 4, 4, 5, 5, 6, 6]],
    ['(b) missing many entries', [1, 1, 1, 4]],
    ['(c) an extra uncommitted entry of the same term', [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6]],
    ['(d) extra entries of a later term', [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7]],
    ['(e) missing entries and extra entries of an old term', [1, 1, 1, 4, 4, 4, 4]],
    ['(f) many extra entries of earlier terms', [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]],
  ])('§5.3 Figure 7 %s: the new leader backs up nextIndex and makes the follower log identical to its own', (_name, followerTerms) => {
    const net = new TestNetwork([n1, n2, n3]);
    net.load(n1, { term: 8, votedFor: null, commit: 0 }, commandEntries(1, figure7Leader));
    net.load(n2, { term: Math.max(...followerTerms), votedFor: null, commit: 0 }, commandEntries(1, followerTerms));
    net.node(n1).campaign(); // n3 (empty log) provides the second vote when n2 refuses.
    net.stabilize();
    expect(net.node(n1).status()).toMatchObject({ role: 'leader', term: 9 });
    expect(net.logTerms(n2)).toEqual([...figure7Leader, 9]);
    expect(net.disks.get(n2)?.entries.map((e) => e.term)).toEqual([...figure7Leader, 9]);
    expect(net.appliedData(n2)).toEqual(net.appliedData(n1));
  });

  it('§5.3 divergent logs built by partitioning leaders across terms converge to the current leader log', () => {
    const net = electN1({}, [n1, n2, n3, n4, n5]);
    net.node(n1).propose(bytes('a1'));
    net.node(n1).propose(bytes('a2'));
    net.stabilize();
    // Term 1: n1 is cut off and keeps appending entries that can never commit.
    net.isolate(n1);
    for (const x of ['x1', 'x2', 'x3']) net.node(n1).propose(bytes(x));
    net.stabilize();
    // Term 2: n2 leads n3..n5, then n5 falls behind, then n2 is cut off with an uncommitted entry.
    net.node(n2).campaign();
    net.stabilize();
    expect(net.node(n2).status()).toMatchObject({ role: 'leader', term: 2 });
    net.isolate(n5);
    net.node(n2).propose(bytes('b1'));
    net.node(n2).propose(bytes('b2'));
    net.stabilize();
    net.isolate(n2);
    net.node(n2).propose(bytes('y1'));
    net.stabilize();
    // Term 3: n3 leads n4 and the lagging n5.
    net.heal();
    net.isolate(n1);
    net.isolate(n2);
    net.node(n3).campaign();
    net.stabilize();
    expect(net.node(n3).status()).toMatchObject({ role: 'leader', term: 3 });
    net.node(n3).propose(bytes('c1'));
    net.stabilize();
    expect(net.logTerms(n1)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(net.logTerms(n2)).toEqual([1, 1, 1, 2, 2, 2, 2]);
    // Everyone reconnects; the stale leaders learn term 3 and are repaired.
    net.heal();
    net.tickAll(5);
    for (const id of [n1, n2, n3, n4, n5]) {
      expect(net.logTerms(id), id).toEqual([1, 1, 1, 2, 2, 2, 3, 3]);
      expect(net.appliedData(id), id).toEqual(['a1', 'a2', 'b1', 'b2', 'c1']);
    }
    // n1's divergent tail and n5's missing entries made n3 back up; n2's extra entry was replaced
    // on the first matching AppendEntries.
    const rejected = appendResponses(net.delivered).filter((m) => !m.success && m.term === 3 && m.to === n3);
    expect(new Set(rejected.map((m) => m.from))).toEqual(new Set([n1, n5]));
  });
});

describe('§5.4.2 committing entries from previous terms (Figure 8)', () => {
  /**
   * figure8 builds Figure 8 (c): S1 leads term 4 and has replicated the term-2 entry at index 2 to
   * a majority (S1, S3, S4), but its own term-4 entry at index 3 to nobody.
   */
  function figure8(bugs?: ReadonlySet<'commit-old-term'>): TestNetwork {
    const [s1, s2, s3, s4, s5] = [n1, n2, n3, n4, n5];
    const net = new TestNetwork([s1, s2, s3, s4, s5], { maxEntriesPerMessage: 1, ...(bugs ? { bugs } : {}) });
    // (a) S1 led term 2 and replicated index 2 to S2 only; index 1 is committed everywhere.
    for (const id of [s1, s2]) net.load(id, { term: 2, votedFor: s1, commit: 1 }, commandEntries(1, [1, 2]));
    for (const id of [s3, s4, s5]) net.load(id, { term: 2, votedFor: s1, commit: 1 }, commandEntries(1, [1]));
    // (b) S1 crashes; S5 wins term 3 with S3 and S4 and appends at index 2, then crashes too.
    net.isolate(s1);
    net.dropIf = (m) => m.from === s5 && (m.type === 'AppendEntries' || m.type === 'Heartbeat');
    net.node(s5).campaign();
    net.stabilize();
    expect(net.node(s5).status()).toMatchObject({ role: 'leader', term: 3 });
    expect(net.node(s5).termAt(2)).toBe(3);
    net.isolate(s5);
    // (c) S1 restarts, wins term 4 and replicates index 2 (term 2) to S3 and S4, but not index 3.
    net.reconnect(s1);
    net.restart(s1);
    // The entry at index 3 never reaches a node that could store it (probes that fail still pass).
    net.dropIf = (m) => m.type === 'AppendEntries' && m.entries.some((e) => e.index >= 3) && net.node(m.to).lastIndex() >= 2;
    net.node(s1).campaign();
    net.stabilize();
    net.node(s1).campaign();
    net.stabilize();
    expect(net.node(s1).status()).toMatchObject({ role: 'leader', term: 4 });
    for (const id of [s3, s4]) expect(net.node(id).termAt(2)).toBe(2);
    expect(net.node(s1).status().progress.get(s3)?.matchIndex).toBe(2);
    expect(net.node(s1).status().progress.get(s4)?.matchIndex).toBe(2);
    return net;
  }

  it('§5.4.2 Figure 8 (c): an entry from an earlier term is not committed by counting replicas, even on a majority', () => {
    const net = figure8();
    net.stabilize();
    expect(net.node(n1).status().commitIndex).toBe(1);
    for (const id of [n1, n2, n3, n4]) expect(net.disks.get(id)?.hardState.commit).toBe(1);
  });

  it('§5.4.2 Figure 8 (d): the uncommitted old-term entry may then be overwritten by S5, and no node ever applied it', () => {
    const net = figure8();
    net.isolate(n1);
    net.reconnect(n5);
    net.dropIf = null;
    net.restart(n5);
    net.node(n5).campaign(); // term 4: everyone already voted for S1
    net.stabilize();
    net.node(n5).campaign(); // term 5: S2, S3, S4 vote for S5 (last term 3 > 2)
    net.stabilize();
    expect(net.node(n5).status()).toMatchObject({ role: 'leader', term: 5 });
    for (const id of [n2, n3, n4, n5]) {
      expect(net.node(id).termAt(2), id).toBe(3);
      expect(net.node(id).status().commitIndex, id).toBe(3);
    }
    for (const id of [n1, n2, n3, n4, n5]) {
      expect(net.disks.get(id)?.applied.some((e) => e.index === 2 && e.term === 2), id).toBe(false);
    }
  });

  it('§5.4.2 Figure 8 (e): the old-term entry commits together with an entry of the current term', () => {
    const net = figure8();
    net.dropIf = null;
    net.tickAll(1);
    expect(net.node(n1).status().commitIndex).toBe(3);
    expect(net.disks.get(n1)?.applied.filter((e) => e.index >= 2).map((e) => [e.index, e.term])).toEqual([[2, 2], [3, 4]]);
  });

  it('§5.4.2 contrast: with the planted bug commit-old-term, the Figure 8 (c) leader commits the old entry by counting', () => {
    const net = figure8(new Set(['commit-old-term']));
    expect(net.node(n1).status().commitIndex).toBe(2);
  });
});

describe('§5.3 the commit index only rises', () => {
  it('§5.3 a follower keeps its commit index when a heartbeat or AppendEntries carries a lower leaderCommit', () => {
    const node = newNode(n2, [n1, n2, n3], { hardState: { term: 1, votedFor: null, commit: 3 }, entries: commandEntries(1, [1, 1, 1, 1]) });
    node.step(heartbeat(n1, n2, 1, 1));
    expect(node.status().commitIndex).toBe(3);
    node.step(appendEntries(n1, n2, 1, 3, 1, commandEntries(4, [1]), 2));
    expect(node.status().commitIndex).toBe(3);
    expect(drain(node).hardState).toBeNull();
  });

  it('§5.3 thesis §10.2.1 a leader counts its own entry toward commitment only once the entry is persisted', () => {
    const leader = newNode(n1, [n1, n2, n3]);
    makeLeader(leader);
    leader.step({ type: 'AppendEntriesResponse', from: n2, to: n1, term: 1, success: true, matchIndex: 1, rejectHint: 0, rejectedIndex: 0 });
    drain(leader);
    expect(leader.status().commitIndex).toBe(1);
    const { index } = leader.propose(bytes('x')) as { index: number };
    const rd = leader.ready() as Ready;
    expect(rd.entries.map((e) => e.index)).toEqual([index]);
    // n2 acknowledges before the leader's own write is durable: one of three is not a quorum.
    leader.step({ type: 'AppendEntriesResponse', from: n2, to: n1, term: 1, success: true, matchIndex: index, rejectHint: 0, rejectedIndex: 0 });
    expect(leader.status().commitIndex).toBe(1);
    leader.advance(rd);
    expect(leader.status().commitIndex).toBe(index);
  });

  it('§5.3 proposeMany appends commands in order and sends each follower one AppendEntries for all of them', () => {
    const leader = newNode(n1, [n1, n2, n3]);
    makeLeader(leader);
    leader.step({ type: 'AppendEntriesResponse', from: n2, to: n1, term: 1, success: true, matchIndex: 1, rejectHint: 0, rejectedIndex: 0 });
    leader.step({ type: 'AppendEntriesResponse', from: n3, to: n1, term: 1, success: true, matchIndex: 1, rejectHint: 0, rejectedIndex: 0 });
    drain(leader);
    const results = leader.proposeMany([bytes('a'), bytes('b'), bytes('c')]);
    expect(results).toEqual([
      { ok: true, index: 2, term: 1 },
      { ok: true, index: 3, term: 1 },
      { ok: true, index: 4, term: 1 },
    ]);
    const rd = leader.ready() as Ready;
    expect(rd.entries.map((e) => (e.type === 'command' ? new TextDecoder().decode(e.data) : e.type))).toEqual(['a', 'b', 'c']);
    for (const to of [n2, n3]) {
      const appends = appendsTo(rd.messages, to);
      expect(appends, `to ${to}`).toHaveLength(1);
      expect(appends[0]?.entries.map((e) => e.index)).toEqual([2, 3, 4]);
    }
  });

  it('§5.3 proposeMany on a follower refuses every command and appends none', () => {
    const follower = newNode(n2, [n1, n2, n3]);
    const results = follower.proposeMany([bytes('a'), bytes('b')]);
    expect(results.map((r) => r.ok)).toEqual([false, false]);
    expect(follower.lastIndex()).toBe(0);
  });

  it('§5.3 thesis §10.2.1 entries appended after a Ready was taken do not count for the leader when that Ready is advanced', () => {
    const leader = newNode(n1, [n1, n2, n3]);
    makeLeader(leader);
    leader.step({ type: 'AppendEntriesResponse', from: n2, to: n1, term: 1, success: true, matchIndex: 1, rejectHint: 0, rejectedIndex: 0 });
    drain(leader);
    const first = leader.propose(bytes('x')) as { index: number };
    const rd = leader.ready() as Ready;
    const second = leader.propose(bytes('y')) as { index: number };
    leader.step({ type: 'AppendEntriesResponse', from: n2, to: n1, term: 1, success: true, matchIndex: second.index, rejectHint: 0, rejectedIndex: 0 });
    leader.advance(rd);
    // Durable: x on n1 and n2, y on n2 only.
    expect(leader.status().commitIndex).toBe(first.index);
    const next = leader.ready() as Ready;
    expect(next.entries.map((e) => e.index)).toEqual([second.index]);
    leader.advance(next);
    expect(leader.status().commitIndex).toBe(second.index);
  });

  it('§5.3 during seeded runs with loss, partitions and restarts, no node commit index ever decreases and applied logs agree', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const { commitDrops, conflicts } = chaos(seed, 250, { preVote: seed % 2 === 0, checkQuorum: seed % 3 === 0 });
      expect(commitDrops, `seed ${seed}`).toEqual([]);
      expect(conflicts, `seed ${seed}`).toEqual([]);
    }
  });
});

/**
 * chaos drives a five-node cluster through a seeded mix of ticks, proposals, partitions, message
 * loss and restarts, checking after every step that commit indexes never fall and that no two
 * nodes apply different entries at the same index. It ends healed and checks that all converge.
 */
function chaos(seed: number, steps: number, overrides: { preVote: boolean; checkQuorum: boolean }, onReady: TestNetwork['onReady'] = null) {
  const members = [n1, n2, n3, n4, n5];
  const net = new TestNetwork(members, overrides, seed);
  net.onReady = onReady;
  const prng = new Prng(seed).fork('chaos');
  const lossPrng = prng.fork('loss');
  const commitSeen = new Map<NodeId, number>();
  const appliedTerm = new Map<number, Term>();
  const commitDrops: string[] = [];
  const conflicts: string[] = [];
  const check = (step: number) => {
    for (const [id, node] of net.nodes) {
      const commit = node.status().commitIndex;
      if (commit < (commitSeen.get(id) ?? 0)) commitDrops.push(`step ${step}: ${id} commit ${commitSeen.get(id)} -> ${commit}`);
      commitSeen.set(id, commit);
      for (const e of (net.disks.get(id) as Disk).applied) {
        const term = appliedTerm.get(e.index);
        if (term === undefined) appliedTerm.set(e.index, e.term);
        else if (term !== e.term) conflicts.push(`step ${step}: ${id} applied ${e.index}@${e.term}, another node ${e.index}@${term}`);
      }
    }
  };
  for (let step = 0; step < steps; step++) {
    const roll = prng.next();
    if (roll < 0.45) net.tickAll(1);
    else if (roll < 0.7) net.leader()?.propose(bytes(`s${seed}-${step}`));
    else if (roll < 0.78) net.isolate(prng.pick(members));
    else if (roll < 0.86) net.heal();
    else if (roll < 0.91) net.restart(prng.pick(members));
    else if (roll < 0.96) net.dropIf = () => lossPrng.chance(0.25);
    else net.dropIf = null;
    net.stabilize();
    check(step);
  }
  net.heal();
  net.tickAll(60);
  net.leader()?.propose(bytes('final'));
  net.tickAll(5);
  check(steps);
  const appliedCounts = new Set(members.map((id) => (net.disks.get(id) as Disk).applied.length));
  if (appliedCounts.size !== 1) conflicts.push(`not converged: applied counts ${[...appliedCounts].join(',')}`);
  return { commitDrops, conflicts, net };
}

describe('flow control', () => {
  it('thesis §10.2 batching: no AppendEntries carries more than maxEntriesPerMessage entries', () => {
    const net = electN1({ maxEntriesPerMessage: 3 });
    net.isolate(n3);
    for (let i = 0; i < 10; i++) net.node(n1).propose(bytes(`p${i}`));
    net.stabilize();
    net.heal();
    net.tickAll(5);
    const sizes = net.delivered.filter((m) => m.type === 'AppendEntries').map((m) => (m.type === 'AppendEntries' ? m.entries.length : 0));
    expect(Math.max(...sizes)).toBe(3);
    expect(net.node(n3).lastIndex()).toBe(net.node(n1).lastIndex());
    expect(net.appliedData(n3)).toEqual(Array.from({ length: 10 }, (_, i) => `p${i}`));
  });

  it('thesis §10.2.2 pipelining: at most maxInflightMessages AppendEntries are outstanding to a follower whose answers are held back', () => {
    const net = electN1({ maxInflightMessages: 2, maxEntriesPerMessage: 1 });
    expect(net.node(n1).status().progress.get(n3)?.state).toBe('replicate');
    const held: Message[] = [];
    net.dropIf = (m) => {
      if (m.from !== n3 || m.type !== 'AppendEntriesResponse') return false;
      held.push(m);
      return true;
    };
    // In flight: AppendEntries with entries beyond what the leader knows n3 holds.
    const inflight = () => {
      const match = net.node(n1).status().progress.get(n3)?.matchIndex ?? 0;
      return appendsTo(net.delivered, n3).filter((m) => (m.entries.at(-1)?.index ?? 0) > match).length;
    };
    for (let i = 0; i < 10; i++) {
      net.node(n1).propose(bytes(`p${i}`));
      net.stabilize();
      expect(inflight()).toBe(Math.min(i + 1, 2));
    }
    expect(net.node(n3).lastIndex()).toBe(3);
    expect(net.node(n2).status().commitIndex).toBe(11); // the healthy follower is not held back
    // Releasing the acknowledgements one by one keeps the window full but never over 2.
    while (held.length > 0) {
      net.node(n1).step(held.shift() as Message);
      net.stabilize();
      expect(inflight()).toBeLessThanOrEqual(2);
    }
    expect(net.node(n3).lastIndex()).toBe(11);
    expect(inflight()).toBe(0);
  });

  it('§5.3 lost AppendEntries are recovered through heartbeats, without a new proposal', () => {
    const net = electN1();
    net.dropIf = (m) => m.type === 'AppendEntries' && m.to === n3;
    for (let i = 0; i < 5; i++) net.node(n1).propose(bytes(`p${i}`));
    net.stabilize();
    expect(net.node(n3).lastIndex()).toBe(1);
    net.dropIf = null;
    net.tickAll(2);
    expect(net.node(n3).lastIndex()).toBe(6);
    expect(net.appliedData(n3)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
  });

  it('§5.3 lost AppendEntriesResponses are recovered through heartbeats: the leader learns the follower match index', () => {
    const net = electN1();
    net.dropIf = (m) => m.type === 'AppendEntriesResponse' && m.from === n3;
    for (let i = 0; i < 5; i++) net.node(n1).propose(bytes(`p${i}`));
    net.stabilize();
    expect(net.node(n1).status().progress.get(n3)?.matchIndex).toBe(1);
    net.dropIf = null;
    net.tickAll(2);
    expect(net.node(n1).status().progress.get(n3)?.matchIndex).toBe(6);
  });
});

describe('Ready contract', () => {
  it('Figure 2 (persist before responding): a vote grant is in the same Ready as the hard state that records votedFor', () => {
    const node = newNode(n1, [n1, n2, n3]);
    node.step(voteRequest(n2, n1, 1, 0, 0));
    const rd = node.ready() as Ready;
    expect(rd.messages).toEqual([{ type: 'RequestVoteResponse', from: n1, to: n2, term: 1, granted: true }]);
    expect(rd.hardState).toEqual({ term: 1, votedFor: n2, commit: 0 });
    node.advance(rd);
    expect(node.ready()).toBeUndefined();
  });

  it('Figure 2 (persist before responding): a successful AppendEntriesResponse is in the same Ready as the entries it acknowledges', () => {
    const node = newNode(n2, [n1, n2, n3]);
    node.step(appendEntries(n1, n2, 1, 0, 0, commandEntries(1, [1, 1, 1]), 0));
    const rd = node.ready() as Ready;
    expect(rd.entries.map((e: Entry) => e.index)).toEqual([1, 2, 3]);
    expect(appendResponses(rd.messages)).toMatchObject([{ success: true, matchIndex: 3 }]);
    expect(rd.hardState).toEqual({ term: 1, votedFor: null, commit: 0 });
    node.advance(rd);
    expect(node.ready()).toBeUndefined();
  });

  it('Figure 2 (persist before responding): during seeded runs with faults, every message depends only on state its own or an earlier Ready persisted (property)', () => {
    const violations: string[] = [];
    const durableLast = (disk: Disk) => disk.entries.at(-1)?.index ?? disk.snapshot?.meta.index ?? 0;
    const onReady = (id: NodeId, rd: Ready, disk: Disk) => {
      for (const m of rd.messages) {
        const hs = disk.hardState;
        const bad = (why: string) => violations.push(`${id} sent ${m.type} to ${m.to} at term ${m.term}: ${why}`);
        if (m.type !== 'PreVote' && m.type !== 'PreVoteResponse' && m.term > hs.term) bad(`persisted term is ${hs.term}`);
        if (m.type === 'RequestVote' && m.term === hs.term && hs.votedFor !== id) bad(`persisted vote is ${hs.votedFor}`);
        if (m.type === 'RequestVoteResponse' && m.granted && m.term === hs.term && hs.votedFor !== m.to) bad(`persisted vote is ${hs.votedFor}`);
        if (m.type === 'AppendEntriesResponse' && m.success && m.matchIndex > durableLast(disk)) bad(`only ${durableLast(disk)} is durable`);
        if (m.type === 'InstallSnapshotResponse' && m.matchIndex > durableLast(disk)) bad(`only ${durableLast(disk)} is durable`);
      }
    };
    for (let seed = 100; seed < 106; seed++) chaos(seed, 200, { preVote: seed % 2 === 0, checkQuorum: true }, onReady);
    expect(violations).toEqual([]);
  });
});
