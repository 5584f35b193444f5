// Linearizable reads with ReadIndex (Raft thesis §6.4): the leader records its commit index,
// confirms leadership with a quorum heartbeat round, waits for an entry of its own term, forwards
// and answers followers, and fails reads instead of serving stale data after losing leadership.
import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../../core/raft/types.ts';
import { TestNetwork, bytes, drain, ids, newNode } from './network.ts';

const [n1, n2, n3] = ids(3) as [NodeId, NodeId, NodeId];
const E = 10;

function electN1(overrides: ConstructorParameters<typeof TestNetwork>[1] = {}, members: NodeId[] = [n1, n2, n3]): TestNetwork {
  const net = new TestNetwork(members, overrides);
  net.node(n1).campaign();
  net.stabilize();
  net.node(n1).propose(bytes('a'));
  net.stabilize();
  expect(net.node(n1).status()).toMatchObject({ role: 'leader', commitIndex: 2 });
  return net;
}

const readsOf = (net: TestNetwork, id: NodeId) => net.readStates.get(id) ?? [];

describe('thesis §6.4 ReadIndex', () => {
  it('thesis §6.4 the leader answers with its commit index after a quorum of followers acknowledged a heartbeat', () => {
    const net = electN1();
    const seen = net.delivered.length;
    net.node(n1).readIndex('r1');
    net.stabilize();
    expect(readsOf(net, n1)).toEqual([{ context: 'r1', index: 2, ok: true }]);
    const round = net.delivered.slice(seen);
    expect(round.filter((m) => m.type === 'Heartbeat' && m.context === 'r1').map((m) => m.to)).toEqual([n2, n3]);
    expect(round.filter((m) => m.type === 'HeartbeatResponse' && m.context === 'r1').length).toBeGreaterThanOrEqual(1);
  });

  it('thesis §6.4 without heartbeat acknowledgements from a quorum the leader does not answer', () => {
    const net = electN1();
    net.dropIf = (m) => m.type === 'HeartbeatResponse';
    net.node(n1).readIndex('r1');
    net.tickAll(3);
    expect(readsOf(net, n1)).toEqual([]);
    net.dropIf = null;
    net.tickAll(1);
    expect(readsOf(net, n1)).toEqual([{ context: 'r1', index: 2, ok: true }]);
  });

  it('thesis §6.4 acknowledgements from a minority of five voters do not answer a read', () => {
    const [, , , n4, n5] = ids(5) as [NodeId, NodeId, NodeId, NodeId, NodeId];
    const net = electN1({}, [n1, n2, n3, n4, n5]);
    net.isolate(n4);
    net.isolate(n5);
    net.dropIf = (m) => m.type === 'HeartbeatResponse' && m.from === n3;
    net.node(n1).readIndex('r1');
    net.tickAll(3);
    expect(net.delivered.some((m) => m.type === 'HeartbeatResponse' && m.from === n2 && m.context === 'r1')).toBe(true);
    expect(readsOf(net, n1)).toEqual([]);
    net.dropIf = null;
    net.tickAll(1);
    expect(readsOf(net, n1)).toEqual([{ context: 'r1', index: 2, ok: true }]);
  });

  it('thesis §6.4 the read index is the commit index when the request arrived, not a later one', () => {
    const net = electN1();
    net.dropIf = (m) => m.type === 'HeartbeatResponse';
    net.node(n1).readIndex('r1');
    net.node(n1).propose(bytes('b'));
    net.stabilize();
    expect(net.node(n1).status().commitIndex).toBe(3);
    net.dropIf = null;
    net.tickAll(1);
    expect(readsOf(net, n1)).toEqual([{ context: 'r1', index: 2, ok: true }]);
  });

  it('thesis §6.4 one quorum round answers every earlier pending read too, in order', () => {
    const net = electN1();
    net.dropIf = (m) => m.type === 'HeartbeatResponse';
    net.node(n1).readIndex('r1');
    net.stabilize();
    net.node(n1).readIndex('r2');
    net.stabilize();
    net.dropIf = null;
    net.tickAll(1);
    expect(readsOf(net, n1).map((r) => r.context)).toEqual(['r1', 'r2']);
    expect(readsOf(net, n1).every((r) => r.ok && r.index === 2)).toBe(true);
  });

  it('thesis §6.4 a leader that has not committed an entry of its term defers reads until it has', () => {
    const net = electN1();
    // n2 wins term 2, but its AppendEntries (with its no-op) are lost for a while.
    net.dropIf = (m) => m.type === 'AppendEntries' && m.from === n2;
    net.node(n2).campaign();
    net.stabilize();
    expect(net.node(n2).status()).toMatchObject({ role: 'leader', term: 2, commitIndex: 2, lastIndex: 3 });
    net.node(n2).readIndex('r');
    net.tickAll(3);
    expect(readsOf(net, n2)).toEqual([]);
    net.dropIf = null;
    net.tickAll(2);
    // The answer covers the no-op of term 2, hence everything the previous leader committed.
    expect(readsOf(net, n2)).toEqual([{ context: 'r', index: 3, ok: true }]);
  });

  it('thesis §6.4 a follower ReadIndex is forwarded to the leader and answered with the leader commit index', () => {
    const net = electN1();
    net.node(n2).readIndex('f');
    net.stabilize();
    expect(net.delivered.filter((m) => m.type === 'ReadIndex').map((m) => [m.from, m.to])).toEqual([[n2, n1]]);
    expect(readsOf(net, n2)).toEqual([{ context: 'f', index: 2, ok: true }]);
    expect(readsOf(net, n1)).toEqual([]);
  });

  it('thesis §6.4 a follower that knows no leader fails the read at once', () => {
    const node = newNode(n2, [n1, n2, n3]);
    node.readIndex('x');
    expect(drain(node).readStates).toEqual([{ context: 'x', index: 0, ok: false }]);
  });

  it.each([
    ['check-quorum: it steps down on its own', { checkQuorum: true }],
    ['no check-quorum: it learns the new term when the partition heals', { checkQuorum: false }],
  ] as const)('thesis §6.4 a partitioned, deposed leader fails its reads instead of answering with stale data (%s)', (_name, options) => {
    const net = electN1(options);
    net.isolate(n1);
    net.node(n1).readIndex('stale');
    // The majority elects a new leader and commits a write the old leader never sees.
    for (let t = 0; t < 5 * E && !(net.leader() && net.leader() !== net.node(n1)); t++) net.tickAll(1);
    const newLeader = net.leader();
    expect(newLeader?.id).not.toBe(n1);
    newLeader?.propose(bytes('fresh'));
    net.tickAll(3 * E);
    net.heal();
    net.tickAll(3);
    expect(net.node(n1).status().role).toBe('follower');
    expect(readsOf(net, n1).map((r) => [r.context, r.ok])).toEqual([['stale', false]]);
  });

  it('thesis §6.4 a learner heartbeat acknowledgement does not count toward the read quorum', () => {
    const net = electN1({}, [n1, n2]);
    net.add(n3);
    expect(net.node(n1).proposeConfChange({ type: 'addLearner', node: n3 }).ok).toBe(true);
    net.stabilize();
    net.isolate(n2);
    net.node(n1).readIndex('r');
    net.tickAll(3);
    expect(net.delivered.some((m) => m.type === 'HeartbeatResponse' && m.from === n3 && m.context === 'r')).toBe(true);
    expect(readsOf(net, n1)).toEqual([]);
  });

  it('thesis §6.4 a single-voter cluster answers a read in the very next Ready, without messages', () => {
    const net = new TestNetwork([n1]);
    net.node(n1).campaign();
    net.stabilize();
    net.node(n1).propose(bytes('a'));
    net.stabilize();
    net.node(n1).readIndex('solo');
    const rd = net.node(n1).ready();
    expect(rd?.readStates).toEqual([{ context: 'solo', index: 2, ok: true }]);
    expect(rd?.messages).toEqual([]);
    if (rd) net.node(n1).advance(rd);
  });
});
