// Leadership transfer (Raft thesis §3.10): TimeoutNow to an up-to-date target, catching a lagging
// target up first, refusing proposals meanwhile, aborting after an election timeout, and refusing
// targets that cannot lead.
import { describe, expect, it } from 'vitest';
import type { Message, NodeId } from '../../../core/raft/types.ts';
import { TestNetwork, bytes, drain, ids, newNode } from './network.ts';

const [n1, n2, n3, n4, n5] = ids(5) as [NodeId, NodeId, NodeId, NodeId, NodeId];
const E = 10;

function electN1(overrides: ConstructorParameters<typeof TestNetwork>[1] = {}, members: NodeId[] = [n1, n2, n3]): TestNetwork {
  const net = new TestNetwork(members, overrides);
  net.node(n1).campaign();
  net.stabilize();
  net.tickAll(1);
  expect(net.node(n1).status()).toMatchObject({ role: 'leader', term: 1 });
  return net;
}

const timeoutNows = (net: TestNetwork) => net.delivered.filter((m) => m.type === 'TimeoutNow');

describe('thesis §3.10 leadership transfer', () => {
  it.each([
    ['plain', {}],
    ['with pre-vote and check-quorum (the lease must not block it)', { preVote: true, checkQuorum: true }],
  ] as const)('thesis §3.10 transfer to an up-to-date follower: TimeoutNow, and the target leads the next term (%s)', (_name, options) => {
    const net = electN1(options);
    expect(net.node(n1).transferLeadership(n2)).toBe(true);
    expect(net.node(n1).status().transferee).toBe(n2);
    net.stabilize();
    expect(timeoutNows(net).map((m) => [m.from, m.to, m.term])).toEqual([[n1, n2, 1]]);
    expect(net.node(n2).status()).toMatchObject({ role: 'leader', term: 2 });
    expect(net.node(n1).status()).toMatchObject({ role: 'follower', term: 2, leaderId: n2, transferee: null });
    expect(net.node(n3).status()).toMatchObject({ role: 'follower', term: 2, leaderId: n2 });
  });

  it('thesis §3.10 transfer to a lagging follower: the leader first brings it up to date, then sends TimeoutNow', () => {
    const net = electN1();
    net.cut.add(`${n1}->${n3}`);
    for (let i = 0; i < 5; i++) net.node(n1).propose(bytes(`p${i}`));
    net.stabilize();
    net.heal();
    expect(net.node(n3).lastIndex()).toBeLessThan(net.node(n1).lastIndex());
    let lagAtTimeoutNow: number | null = null;
    net.dropIf = (m: Message) => {
      if (m.type === 'TimeoutNow') lagAtTimeoutNow = net.node(n1).lastIndex() - net.node(n3).lastIndex();
      return false;
    };
    const seen = net.delivered.length;
    expect(net.node(n1).transferLeadership(n3)).toBe(true);
    net.stabilize();
    expect(lagAtTimeoutNow).toBe(0);
    const after = net.delivered.slice(seen);
    const timeoutNowAt = after.findIndex((m) => m.type === 'TimeoutNow');
    const catchUpAt = after.findIndex((m) => m.type === 'AppendEntries' && m.to === n3 && m.entries.length > 0);
    expect(catchUpAt).toBeGreaterThanOrEqual(0);
    expect(catchUpAt).toBeLessThan(timeoutNowAt);
    expect(net.node(n3).status()).toMatchObject({ role: 'leader', term: 2 });
    expect(net.appliedData(n3).slice(0, 5)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
  });

  it('thesis §3.10 the leader refuses proposals and conf changes (TransferInProgress) while a transfer is under way', () => {
    const net = electN1();
    net.isolate(n3);
    expect(net.node(n1).transferLeadership(n3)).toBe(true);
    expect(net.node(n1).propose(bytes('x'))).toEqual({ ok: false, reason: 'TransferInProgress', leaderHint: n3 });
    expect(net.node(n1).proposeConfChange({ type: 'addLearner', node: n4 })).toMatchObject({ ok: false, reason: 'TransferInProgress' });
  });

  it('thesis §3.10 a transfer to an unreachable target is aborted after an election timeout, and proposals resume', () => {
    const net = electN1();
    net.isolate(n3);
    expect(net.node(n1).transferLeadership(n3)).toBe(true);
    net.tick(n1, E - 1);
    expect(net.node(n1).status().transferee).toBe(n3);
    net.tick(n1, 1);
    expect(net.node(n1).status()).toMatchObject({ role: 'leader', term: 1, transferee: null });
    expect(net.node(n1).propose(bytes('x'))).toMatchObject({ ok: true });
    expect(timeoutNows(net)).toEqual([]);
  });

  it.each([
    ['a learner', n4],
    ['a node outside the configuration', n5],
    ['the leader itself', n1],
  ])('thesis §3.10 transfer to %s is refused', (_name, target) => {
    const net = electN1({}, [n1, n2, n3]);
    net.add(n4);
    expect(net.node(n1).proposeConfChange({ type: 'addLearner', node: n4 }).ok).toBe(true);
    net.stabilize();
    expect(net.node(n1).status().membership.learners).toEqual([n4]);
    expect(net.node(n1).transferLeadership(target)).toBe(false);
    expect(net.node(n1).status().transferee).toBeNull();
    net.tickAll(2);
    expect(timeoutNows(net)).toEqual([]);
    expect(net.node(n1).propose(bytes('still-leading'))).toMatchObject({ ok: true });
  });

  it('thesis §3.10 only the leader can transfer leadership', () => {
    const net = electN1();
    expect(net.node(n2).transferLeadership(n3)).toBe(false);
  });

  it('thesis §3.10 a learner that receives TimeoutNow does not campaign', () => {
    const node = newNode(n4, [n1, n2, n3], { learners: [n4] });
    node.step({ type: 'TimeoutNow', from: n1, to: n4, term: 1 });
    expect(node.status()).toMatchObject({ role: 'follower', term: 1 });
    expect(drain(node).messages).toEqual([]);
  });

  it('thesis §3.10 a TimeoutNow makes a pre-vote node campaign at once, skipping pre-vote', () => {
    const node = newNode(n2, [n1, n2, n3], {}, { preVote: true });
    node.step({ type: 'TimeoutNow', from: n1, to: n2, term: 1 });
    expect(node.status()).toMatchObject({ role: 'candidate', term: 2 });
    const requests = drain(node).messages.filter((m) => m.type === 'RequestVote');
    expect(requests.map((m) => m.type === 'RequestVote' && m.transfer)).toEqual([true, true]);
  });
});
