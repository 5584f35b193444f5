// Leader election (Raft §5.1, §5.2, §5.4.1): randomized timeouts and the priority penalty, one
// vote per term, split votes, stepping down on a current or higher term, the election
// restriction, and who may campaign at all (voters only).
import { describe, expect, it } from 'vitest';
import type { RaftNode } from '../../../core/raft/raftNode.ts';
import type { Message, NodeId } from '../../../core/raft/types.ts';
import {
  TestNetwork,
  appendEntries,
  commandEntries,
  drain,
  heartbeat,
  ids,
  makeLeader,
  newNode,
  voteRequest,
  type NodeState,
} from './network.ts';

const [n1, n2, n3, n4, n5] = ids(5) as [NodeId, NodeId, NodeId, NodeId, NodeId];
const E = 10; // electionTicks in every test configuration

/** ticksUntilCampaign ticks a standalone follower until it leaves the follower role. */
function ticksUntilCampaign(node: RaftNode, limit = 1000): number {
  for (let t = 1; t <= limit; t++) {
    node.tick();
    if (node.status().role !== 'follower') return t;
  }
  throw new Error(`${node.id} did not campaign within ${limit} ticks`);
}

function votesIn(messages: readonly Message[]): Message[] {
  return messages.filter((m) => m.type === 'RequestVoteResponse');
}

describe('§5.2 election timeouts', () => {
  it('§5.2 a follower that hears from no leader becomes a candidate: new term, vote for itself, RequestVote to every other voter', () => {
    const node = newNode(n1, [n1, n2, n3]);
    ticksUntilCampaign(node);
    const out = drain(node);
    expect(node.status().role).toBe('candidate');
    expect(out.hardState).toEqual({ term: 1, votedFor: n1, commit: 0 });
    expect(out.messages.map((m) => [m.type, m.to, m.term])).toEqual([
      ['RequestVote', n2, 1],
      ['RequestVote', n3, 1],
    ]);
  });

  it('§5.2 election timeouts are randomized over exactly [electionTicks, 2*electionTicks)', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 200; seed++) seen.add(ticksUntilCampaign(newNode(n1, [n1, n2, n3], {}, {}, seed)));
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: E }, (_, i) => E + i));
  });

  it('§5.2 a candidate whose election times out starts a new election in the next term, again after a randomized timeout', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const node = newNode(n1, [n1, n2, n3], {}, {}, seed);
      ticksUntilCampaign(node);
      let t = 0;
      while (node.status().term === 1) {
        node.tick();
        t++;
      }
      expect(node.status()).toMatchObject({ role: 'candidate', term: 2 });
      expect(t).toBeGreaterThanOrEqual(E);
      expect(t).toBeLessThan(2 * E);
    }
  });

  it.each([0, 1, 2])(
    '§5.2 priority: a voter of priority %i never campaigns before electionTicks*(1+maxPriority-priority) ticks (maxPriority 3)',
    (priority) => {
      const maxPriority = 3;
      const min = E * (1 + maxPriority - priority);
      const seen = new Set<number>();
      for (let seed = 1; seed <= 100; seed++) {
        const node = newNode(n1, [n1, n2, n3], {}, { priority, maxPriority }, seed);
        const first = ticksUntilCampaign(node);
        seen.add(first);
        expect(first).toBeGreaterThanOrEqual(min);
        expect(first).toBeLessThan(min + E);
      }
      // The penalty shifts the window; it does not remove the randomization.
      expect(seen.size).toBeGreaterThan(E / 2);
    },
  );

  it.each([false, true])('§5.2 priority: the highest-priority voter wins the first election for every seed (preVote %s)', (preVote) => {
    const priorities = new Map([[n1, 1], [n2, 0], [n3, 3], [n4, 2], [n5, 0]]);
    for (let seed = 1; seed <= 30; seed++) {
      const net = new TestNetwork([n1, n2, n3, n4, n5], { maxPriority: 3, preVote }, seed);
      for (const [id, priority] of priorities) net.add(id, { priority });
      for (let t = 0; t < 100 && !net.leader(); t++) net.tickAll(1);
      expect(net.leader()?.id, `seed ${seed}`).toBe(n3);
      expect(net.leader()?.status().term).toBe(1);
    }
  });

  it('§5.2 followers that keep hearing from a leader never start an election', () => {
    const net = new TestNetwork([n1, n2, n3]);
    net.node(n1).campaign();
    net.stabilize();
    net.tickAll(10 * E);
    expect(net.node(n1).status()).toMatchObject({ role: 'leader', term: 1 });
    for (const id of [n2, n3]) expect(net.node(id).status()).toMatchObject({ role: 'follower', term: 1, leaderId: n1 });
  });

  it('§5.2 granting a vote resets the election timer (Figure 2, rules for followers)', () => {
    // Two identical nodes draw the same randomized timeout T; the clone measures it.
    const state: NodeState = { hardState: { term: 1, votedFor: null, commit: 0 } };
    const timeout = ticksUntilCampaign(newNode(n1, [n1, n2, n3], state, {}, 7));
    const node = newNode(n1, [n1, n2, n3], state, {}, 7);
    for (let t = 0; t < timeout - 1; t++) node.tick();
    node.step(voteRequest(n2, n1, 1, 0, 0));
    expect(drain(node).messages).toEqual([{ type: 'RequestVoteResponse', from: n1, to: n2, term: 1, granted: true }]);
    for (let t = 0; t < timeout - 1; t++) node.tick();
    expect(node.status()).toMatchObject({ role: 'follower', term: 1, votedFor: n2 });
    node.tick();
    expect(node.status()).toMatchObject({ role: 'candidate', term: 2 });
  });

  it('§5.2 a RequestVote that the voter refuses does not restart its election timer (Figure 2, rules for followers)', () => {
    // The voter's log (1:1 1:1) is ahead of the candidate's, so the request for term 2 is refused.
    const state: NodeState = { hardState: { term: 1, votedFor: null, commit: 0 }, entries: commandEntries(1, [1, 1]) };
    const refused = voteRequest(n2, n1, 2, 0, 0);
    for (let seed = 1; seed <= 20; seed++) {
      const first = ticksUntilCampaign(newNode(n1, [n1, n2, n3], state, {}, seed));
      // A clone that gets the request at once measures the timeout drawn when the term changes.
      const clone = newNode(n1, [n1, n2, n3], state, {}, seed);
      clone.step(refused);
      const second = ticksUntilCampaign(clone);
      const node = newNode(n1, [n1, n2, n3], state, {}, seed);
      for (let t = 0; t < first - 1; t++) node.tick();
      node.step(refused);
      expect(votesIn(drain(node).messages)).toEqual([{ type: 'RequestVoteResponse', from: n1, to: n2, term: 2, granted: false }]);
      expect(ticksUntilCampaign(node), `seed ${seed}`).toBe(Math.max(1, second - (first - 1)));
    }
  });
});

describe('§5.2 winning and losing', () => {
  it('§5.2 a candidate that receives votes from a majority becomes leader', () => {
    const net = new TestNetwork([n1, n2, n3, n4, n5]);
    net.isolate(n4);
    net.isolate(n5);
    net.node(n1).campaign();
    net.stabilize();
    expect(net.node(n1).status()).toMatchObject({ role: 'leader', term: 1, leaderId: n1 });
    expect(net.node(n2).status()).toMatchObject({ role: 'follower', term: 1, leaderId: n1, votedFor: n1 });
  });

  it('§5.2 a candidate with votes from only a minority does not become leader', () => {
    const net = new TestNetwork([n1, n2, n3, n4, n5]);
    for (const id of [n3, n4, n5]) net.isolate(id);
    net.node(n1).campaign();
    net.stabilize();
    expect(net.node(n1).status()).toMatchObject({ role: 'candidate', term: 1 });
  });

  it('§5.2 a candidate rejected by a majority returns to follower in the same term', () => {
    const node = newNode(n1, [n1, n2, n3]);
    node.campaign();
    drain(node);
    node.step({ type: 'RequestVoteResponse', from: n2, to: n1, term: 1, granted: false });
    expect(node.status().role).toBe('candidate');
    node.step({ type: 'RequestVoteResponse', from: n3, to: n1, term: 1, granted: false });
    expect(node.status()).toMatchObject({ role: 'follower', term: 1, leaderId: null, votedFor: n1 });
  });

  it('§5.2 after a split vote no one leads that term, and a later election in a new term elects exactly one leader', () => {
    const net = new TestNetwork([n1, n2, n3, n4]);
    // n3 only hears n1's request and n4 only hears n2's: 2 votes each out of 4.
    net.cut.add(`${n1}->${n4}`);
    net.cut.add(`${n2}->${n3}`);
    net.node(n1).campaign();
    net.node(n2).campaign();
    net.stabilize();
    expect(net.leader()).toBeUndefined();
    expect(net.node(n3).status().votedFor).toBe(n1);
    expect(net.node(n4).status().votedFor).toBe(n2);
    net.heal();
    for (let t = 0; t < 10 * E && !net.leader(); t++) net.tickAll(1);
    net.tickAll(2);
    const leader = net.leader();
    expect(leader?.status().term).toBeGreaterThanOrEqual(2);
    const leaders = [...net.nodes.values()].filter((n) => n.status().role === 'leader');
    expect(leaders).toHaveLength(1);
    for (const node of net.nodes.values()) expect(node.status().leaderId).toBe(leader?.id);
  });

  it.each(['AppendEntries', 'Heartbeat'] as const)('§5.2 a candidate steps down on %s from a current-term leader', (type) => {
    const node = newNode(n1, [n1, n2, n3]);
    node.campaign();
    drain(node);
    node.step(type === 'AppendEntries' ? appendEntries(n2, n1, 1, 0, 0, []) : heartbeat(n2, n1, 1));
    expect(node.status()).toMatchObject({ role: 'follower', term: 1, leaderId: n2, votedFor: n1 });
    const answer = drain(node).messages;
    expect(answer).toHaveLength(1);
    expect(answer[0]).toMatchObject({ to: n2, term: 1, type: type === 'AppendEntries' ? 'AppendEntriesResponse' : 'HeartbeatResponse' });
  });
});

describe('§5.2 one vote per term', () => {
  it('§5.2 a voter that granted its vote rejects a second candidate in the same term', () => {
    const node = newNode(n1, [n1, n2, n3]);
    node.step(voteRequest(n2, n1, 1, 0, 0));
    node.step(voteRequest(n3, n1, 1, 0, 0));
    const votes = votesIn(drain(node).messages);
    expect(votes.map((m) => [m.to, m.type === 'RequestVoteResponse' && m.granted])).toEqual([
      [n2, true],
      [n3, false],
    ]);
    expect(node.status().votedFor).toBe(n2);
  });

  it('§5.2 a voter grants its vote again to the candidate it voted for (a retransmitted request)', () => {
    const node = newNode(n1, [n1, n2, n3]);
    node.step(voteRequest(n2, n1, 1, 0, 0));
    node.step(voteRequest(n2, n1, 1, 0, 0));
    expect(votesIn(drain(node).messages).map((m) => m.type === 'RequestVoteResponse' && m.granted)).toEqual([true, true]);
  });

  it('§5.2 the vote is durable: after a restart the voter still rejects a second candidate in that term', () => {
    const net = new TestNetwork([n1, n2, n3]);
    net.node(n1).step(voteRequest(n2, n1, 1, 0, 0));
    net.flush();
    expect(net.disks.get(n1)?.hardState).toEqual({ term: 1, votedFor: n2, commit: 0 });
    const restarted = net.restart(n1);
    restarted.step(voteRequest(n3, n1, 1, 0, 0));
    expect(votesIn(drain(restarted).messages)).toEqual([{ type: 'RequestVoteResponse', from: n1, to: n3, term: 1, granted: false }]);
  });

  it('§5.2 a voter that knows the current leader rejects a candidate of the same term', () => {
    const node = newNode(n1, [n1, n2, n3]);
    node.step(heartbeat(n2, n1, 1));
    node.step(voteRequest(n3, n1, 1, 0, 0));
    expect(votesIn(drain(node).messages)).toEqual([{ type: 'RequestVoteResponse', from: n1, to: n3, term: 1, granted: false }]);
  });
});

describe('§5.4.1 election restriction', () => {
  // The voter's log: 1:1 2:2 3:2, current term 2.
  const state: NodeState = { hardState: { term: 2, votedFor: null, commit: 0 }, entries: commandEntries(1, [1, 2, 2]) };

  it('§5.4.1 a voter rejects a candidate whose last entry has a lower term, even if its log is longer', () => {
    const node = newNode(n1, [n1, n2, n3], state);
    node.step(voteRequest(n2, n1, 3, 10, 1));
    expect(votesIn(drain(node).messages)).toEqual([{ type: 'RequestVoteResponse', from: n1, to: n2, term: 3, granted: false }]);
    expect(node.status()).toMatchObject({ term: 3, votedFor: null });
  });

  it('§5.4.1 a voter rejects a candidate with the same last term but a shorter log', () => {
    const node = newNode(n1, [n1, n2, n3], state);
    node.step(voteRequest(n2, n1, 3, 2, 2));
    expect(votesIn(drain(node).messages)).toEqual([{ type: 'RequestVoteResponse', from: n1, to: n2, term: 3, granted: false }]);
  });

  it.each([
    ['the same last term and length', 3, 2],
    ['the same last term and a longer log', 4, 2],
    ['a higher last term and a shorter log', 1, 3],
  ] as const)('§5.4.1 a voter grants a candidate whose log has %s', (_name, lastLogIndex, lastLogTerm) => {
    const node = newNode(n1, [n1, n2, n3], state);
    node.step(voteRequest(n2, n1, 3, lastLogIndex, lastLogTerm));
    expect(votesIn(drain(node).messages)).toEqual([{ type: 'RequestVoteResponse', from: n1, to: n2, term: 3, granted: true }]);
  });

  it('§5.4.1 in a cluster, a node missing committed entries cannot become leader', () => {
    const net = new TestNetwork([n1, n2, n3]);
    net.node(n1).campaign();
    net.stabilize();
    net.cut.add(`${n1}->${n3}`);
    net.node(n1).propose(new Uint8Array([1]));
    net.stabilize();
    net.isolate(n1);
    net.node(n3).campaign();
    net.stabilize();
    expect(net.node(n3).status().role).not.toBe('leader');
    expect(net.node(n2).status().votedFor).not.toBe(n3);
  });
});

describe('§5.1 terms', () => {
  it('§5.1 a leader that sees a higher term becomes a follower in that term', () => {
    const node = newNode(n1, [n1, n2, n3]);
    makeLeader(node);
    node.step(heartbeat(n3, n1, 5));
    expect(node.status()).toMatchObject({ role: 'follower', term: 5, leaderId: n3, votedFor: null });
  });

  it('§5.1 a candidate that sees a higher term in a vote response becomes a follower in that term', () => {
    const node = newNode(n1, [n1, n2, n3]);
    node.campaign();
    drain(node);
    node.step({ type: 'RequestVoteResponse', from: n2, to: n1, term: 4, granted: false });
    expect(node.status()).toMatchObject({ role: 'follower', term: 4, votedFor: null, leaderId: null });
    expect(drain(node).hardState).toEqual({ term: 4, votedFor: null, commit: 0 });
  });

  it('§5.1 a stale-term AppendEntries is rejected: nothing is appended and no leader is recorded', () => {
    const node = newNode(n1, [n1, n2, n3], { hardState: { term: 3, votedFor: null, commit: 0 } });
    node.step(appendEntries(n2, n1, 2, 0, 0, commandEntries(1, [2, 2])));
    expect(node.lastIndex()).toBe(0);
    expect(node.status()).toMatchObject({ term: 3, leaderId: null });
  });

  it('§5.1 with check-quorum, a stale-term AppendEntries is answered with the current term so the stale leader can step down', () => {
    const node = newNode(n1, [n1, n2, n3], { hardState: { term: 3, votedFor: null, commit: 0 } }, { checkQuorum: true });
    node.step(appendEntries(n2, n1, 2, 0, 0, commandEntries(1, [2])));
    expect(drain(node).messages).toEqual([
      { type: 'AppendEntriesResponse', from: n1, to: n2, term: 3, success: false, matchIndex: 0, rejectHint: 0, rejectedIndex: -1 },
    ]);
    expect(node.lastIndex()).toBe(0);
  });

  it('§5.1 a stale leader that receives a response carrying a higher term steps down', () => {
    const node = newNode(n1, [n1, n2, n3], {}, { checkQuorum: true });
    makeLeader(node);
    node.step({ type: 'AppendEntriesResponse', from: n2, to: n1, term: 3, success: false, matchIndex: 0, rejectHint: 0, rejectedIndex: -1 });
    expect(node.status()).toMatchObject({ role: 'follower', term: 3 });
  });

  it('§5.1 a stale-term RequestVote is not granted and changes nothing', () => {
    const node = newNode(n1, [n1, n2, n3], { hardState: { term: 3, votedFor: null, commit: 0 } });
    node.step(voteRequest(n2, n1, 2, 5, 2));
    expect(votesIn(drain(node).messages).filter((m) => m.type === 'RequestVoteResponse' && m.granted)).toEqual([]);
    expect(node.status()).toMatchObject({ term: 3, votedFor: null, role: 'follower' });
  });
});

describe('§5.2 who may campaign', () => {
  it('thesis §4.2.1 a learner never campaigns, neither on timeout nor when asked', () => {
    const node = newNode(n4, [n1, n2, n3], { learners: [n4] });
    for (let t = 0; t < 50 * E; t++) node.tick();
    node.campaign();
    expect(drain(node).messages).toEqual([]);
    expect(node.status()).toMatchObject({ role: 'follower', term: 0, votedFor: null });
  });

  it('thesis §4.1 a node outside the configuration never campaigns', () => {
    const node = newNode(n4, [n1, n2, n3]);
    for (let t = 0; t < 50 * E; t++) node.tick();
    node.campaign();
    expect(drain(node).messages).toEqual([]);
    expect(node.status()).toMatchObject({ role: 'follower', term: 0 });
  });

  it('§5.2 candidates ask only voters, never learners, for votes', () => {
    const net = new TestNetwork({ voters: [n1, n2, n3], learners: [n4] });
    net.node(n1).campaign();
    net.stabilize();
    expect(net.delivered.filter((m) => m.type === 'RequestVote').map((m) => m.to)).toEqual([n2, n3]);
  });
});
