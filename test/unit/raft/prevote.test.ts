// Pre-vote (Raft thesis §9.6), check-quorum and the leader lease (thesis §6.2, §4.2.3): a
// partitioned node must not inflate terms and depose a healthy leader when it returns, and a
// leader cut off from a quorum must step down on its own.
import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../../core/raft/types.ts';
import { TestNetwork, bytes, drain, heartbeat, ids, makeLeader, newNode, voteRequest } from './network.ts';

const [n1, n2, n3, n4, n5] = ids(5) as [NodeId, NodeId, NodeId, NodeId, NodeId];
const E = 10;

/** electN1 builds a three-node cluster with n1 as the leader of term 1, settled. */
function electN1(options: { preVote: boolean; checkQuorum: boolean }, seed = 1): TestNetwork {
  const net = new TestNetwork([n1, n2, n3], options, seed);
  net.node(n1).campaign();
  net.stabilize();
  net.tickAll(2);
  expect(net.node(n1).status()).toMatchObject({ role: 'leader', term: 1 });
  return net;
}

describe('thesis §9.6 pre-vote', () => {
  it('thesis §9.6 with pre-vote, a partitioned node does not increase its term', () => {
    const net = electN1({ preVote: true, checkQuorum: false });
    net.isolate(n3);
    net.tickAll(10 * E);
    expect(net.node(n3).status().term).toBe(1);
    expect(net.disks.get(n3)?.hardState.term).toBe(1);
    expect(net.node(n3).status().role).toBe('preCandidate');
  });

  it.each([
    ['pre-vote only, entries written meanwhile', { preVote: true, checkQuorum: false }, true],
    ['pre-vote and check-quorum, entries written meanwhile', { preVote: true, checkQuorum: true }, true],
    ['pre-vote and check-quorum, no entries written meanwhile', { preVote: true, checkQuorum: true }, false],
  ] as const)('thesis §9.6 a partitioned node rejoining does not disrupt the leader (%s)', (_name, options, write) => {
    const net = electN1(options);
    net.isolate(n3);
    if (write) net.node(n1).propose(bytes('while-partitioned'));
    net.tickAll(10 * E);
    net.heal();
    net.tickAll(10 * E);
    expect(net.node(n1).status()).toMatchObject({ role: 'leader', term: 1 });
    expect(net.node(n3).status()).toMatchObject({ role: 'follower', term: 1, leaderId: n1 });
    expect(net.node(n3).lastIndex()).toBe(net.node(n1).lastIndex());
  });

  it('thesis §9.6 contrast: without pre-vote, a partitioned node inflates its term and deposes the leader on rejoining', () => {
    const net = electN1({ preVote: false, checkQuorum: false });
    net.isolate(n3);
    net.node(n1).propose(bytes('while-partitioned'));
    net.tickAll(10 * E);
    const inflated = net.node(n3).status().term;
    expect(inflated).toBeGreaterThan(2);
    net.heal();
    net.tickAll(10 * E);
    expect(net.node(n1).status().term).toBeGreaterThanOrEqual(inflated);
    expect(net.leader()?.status().term).toBeGreaterThan(1);
  });

  it('thesis §9.6 a pre-candidate keeps its term and asks for pre-votes for the next term', () => {
    const node = newNode(n1, [n1, n2, n3], { hardState: { term: 4, votedFor: null, commit: 0 } }, { preVote: true });
    node.campaign();
    const out = drain(node);
    expect(node.status()).toMatchObject({ role: 'preCandidate', term: 4, votedFor: null });
    expect(out.hardState).toBeNull();
    expect(out.messages.map((m) => [m.type, m.to, m.term])).toEqual([
      ['PreVote', n2, 5],
      ['PreVote', n3, 5],
    ]);
  });

  it('thesis §9.6 a pre-candidate granted pre-votes by a majority starts a real election in the next term', () => {
    const node = newNode(n1, [n1, n2, n3], { hardState: { term: 4, votedFor: null, commit: 0 } }, { preVote: true });
    node.campaign();
    drain(node);
    node.step({ type: 'PreVoteResponse', from: n2, to: n1, term: 5, granted: true });
    const out = drain(node);
    expect(node.status()).toMatchObject({ role: 'candidate', term: 5, votedFor: n1 });
    expect(out.messages.filter((m) => m.type === 'RequestVote').map((m) => m.to)).toEqual([n2, n3]);
  });

  it('thesis §9.6 a pre-candidate rejected by a majority returns to follower without changing its term', () => {
    const node = newNode(n1, [n1, n2, n3], { hardState: { term: 4, votedFor: null, commit: 0 } }, { preVote: true });
    node.campaign();
    drain(node);
    node.step({ type: 'PreVoteResponse', from: n2, to: n1, term: 4, granted: false });
    node.step({ type: 'PreVoteResponse', from: n3, to: n1, term: 4, granted: false });
    expect(node.status()).toMatchObject({ role: 'follower', term: 4 });
  });

  it('thesis §9.6 granting a pre-vote changes neither the voter term nor its vote', () => {
    const node = newNode(n2, [n1, n2, n3], { hardState: { term: 4, votedFor: null, commit: 0 } });
    node.step({ type: 'PreVote', from: n1, to: n2, term: 5, lastLogIndex: 0, lastLogTerm: 0, transfer: false });
    const out = drain(node);
    expect(out.messages).toEqual([{ type: 'PreVoteResponse', from: n2, to: n1, term: 5, granted: true }]);
    expect(out.hardState).toBeNull();
    expect(node.status()).toMatchObject({ term: 4, votedFor: null });
  });

  it('thesis §9.6 §5.4.1 a pre-vote is rejected when the pre-candidate log is less up to date', () => {
    const node = newNode(n2, [n1, n2, n3], { hardState: { term: 4, votedFor: null, commit: 0 }, entries: [{ term: 4, index: 1, type: 'noop' }] });
    node.step({ type: 'PreVote', from: n1, to: n2, term: 5, lastLogIndex: 3, lastLogTerm: 3, transfer: false });
    expect(drain(node).messages).toEqual([{ type: 'PreVoteResponse', from: n2, to: n1, term: 4, granted: false }]);
  });

  it('thesis §9.6 with pre-vote alone, a voter that heard from its leader within the election timeout rejects a pre-vote', () => {
    const node = newNode(n2, [n1, n2, n3], { hardState: { term: 1, votedFor: n1, commit: 0 } }, { preVote: true, checkQuorum: false });
    node.step(heartbeat(n1, n2, 1));
    drain(node);
    node.step({ type: 'PreVote', from: n3, to: n2, term: 2, lastLogIndex: 0, lastLogTerm: 0, transfer: false });
    const grants = drain(node).messages.filter((m) => m.type === 'PreVoteResponse' && m.granted);
    expect(grants).toEqual([]);
  });

  it('thesis §9.6 with pre-vote alone, a node that cannot hear a healthy leader does not depose it', () => {
    const net = electN1({ preVote: true, checkQuorum: false });
    net.cut.add(`${n1}->${n3}`);
    net.tickAll(10 * E);
    expect(net.node(n1).status()).toMatchObject({ role: 'leader', term: 1 });
  });

  it('thesis §9.6 with pre-vote and check-quorum, a node that cannot hear a healthy leader does not depose it', () => {
    const net = electN1({ preVote: true, checkQuorum: true });
    net.cut.add(`${n1}->${n3}`);
    net.tickAll(10 * E);
    expect(net.node(n1).status()).toMatchObject({ role: 'leader', term: 1 });
    expect(net.node(n2).status()).toMatchObject({ term: 1, leaderId: n1 });
  });
});

describe('check-quorum', () => {
  it('thesis §6.2 check-quorum: a leader that loses contact with a quorum steps down within two election timeouts and refuses proposals', () => {
    const net = electN1({ preVote: false, checkQuorum: true });
    net.tickAll(3 * E + 3);
    net.isolate(n1);
    let ticks = 0;
    while (net.node(n1).status().role === 'leader' && ticks < 10 * E) {
      net.tick(n1);
      ticks++;
    }
    expect(net.node(n1).status()).toMatchObject({ role: 'follower', term: 1, leaderId: null });
    expect(ticks).toBeGreaterThanOrEqual(E);
    expect(ticks).toBeLessThanOrEqual(2 * E);
    expect(net.node(n1).propose(bytes('x'))).toMatchObject({ ok: false, reason: 'NotLeader' });
  });

  it('thesis §6.2 check-quorum: a leader cut off right after its election steps down after one election timeout', () => {
    const net = new TestNetwork([n1, n2, n3], { checkQuorum: true });
    // Votes arrive; nothing else the followers send ever reaches n1.
    net.dropIf = (m) => m.to === n1 && m.type !== 'RequestVoteResponse';
    net.node(n1).campaign();
    net.stabilize();
    expect(net.node(n1).status().role).toBe('leader');
    net.tick(n1, E);
    expect(net.node(n1).status().role).toBe('follower');
  });

  it('thesis §6.2 check-quorum: a leader that hears from a quorum stays leader', () => {
    const net = new TestNetwork([n1, n2, n3, n4, n5], { checkQuorum: true });
    net.node(n1).campaign();
    net.stabilize();
    net.isolate(n4);
    net.isolate(n5);
    net.tickAll(10 * E);
    expect(net.node(n1).status()).toMatchObject({ role: 'leader', term: 1 });
  });

  it('thesis §4.2.3 leader lease: a follower that heard from the leader within the election timeout ignores RequestVote', () => {
    const net = electN1({ preVote: false, checkQuorum: true });
    net.node(n3).campaign();
    net.stabilize();
    expect(net.node(n2).status()).toMatchObject({ term: 1, votedFor: n1, leaderId: n1 });
    expect(net.node(n1).status()).toMatchObject({ role: 'leader', term: 1 });
    expect(net.delivered.filter((m) => m.type === 'RequestVoteResponse' && m.term === 2)).toEqual([]);
  });

  it('thesis §4.2.3 leader lease: a transfer-initiated RequestVote (after TimeoutNow) is not ignored', () => {
    const node = newNode(n2, [n1, n2, n3], {}, { checkQuorum: true });
    node.step(heartbeat(n1, n2, 1));
    drain(node);
    node.step(voteRequest(n3, n2, 2, 0, 0, true));
    expect(drain(node).messages).toEqual([{ type: 'RequestVoteResponse', from: n2, to: n3, term: 2, granted: true }]);
    expect(node.status()).toMatchObject({ term: 2, votedFor: n3 });
  });

  it('thesis §4.2.3 leader lease: after an election timeout without the leader, the follower grants votes again', () => {
    const node = newNode(n2, [n1, n2, n3], {}, { checkQuorum: true, priority: 0, maxPriority: 5 });
    node.step(heartbeat(n1, n2, 1));
    drain(node);
    // maxPriority 5 keeps this follower from campaigning itself while the lease runs out.
    for (let t = 0; t < E; t++) node.tick();
    expect(node.status().role).toBe('follower');
    node.step(voteRequest(n3, n2, 2, 0, 0));
    expect(drain(node).messages).toEqual([{ type: 'RequestVoteResponse', from: n2, to: n3, term: 2, granted: true }]);
  });

  it('thesis §4.2.3 leader lease: the leader itself ignores a RequestVote for a higher term', () => {
    const node = newNode(n1, [n1, n2, n3], {}, { checkQuorum: true });
    makeLeader(node);
    node.step(voteRequest(n3, n1, 2, 0, 0));
    expect(node.status()).toMatchObject({ role: 'leader', term: 1 });
    expect(drain(node).messages.filter((m) => m.type === 'RequestVoteResponse')).toEqual([]);
  });
});
