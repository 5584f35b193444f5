// Membership changes, one server at a time (Raft thesis §4.1): learners replicate without voting
// or counting for commitment, promotion and removal change the quorum, changes are serialized and
// validated, and the configuration survives restarts (log replay) and snapshots.
import { describe, expect, it } from 'vitest';
import type { ConfChange, NodeId } from '../../../core/raft/types.ts';
import { TestNetwork, bytes, drain, ids, makeLeader, newNode } from './network.ts';

const [n1, n2, n3, n4, n5] = ids(5) as [NodeId, NodeId, NodeId, NodeId, NodeId];

function electN1(members: NodeId[] = [n1, n2, n3], overrides: ConstructorParameters<typeof TestNetwork>[1] = {}): TestNetwork {
  const net = new TestNetwork(members, overrides);
  net.node(n1).campaign();
  net.stabilize();
  expect(net.node(n1).status().role).toBe('leader');
  return net;
}

/** change proposes a conf change on n1, expects it accepted, and lets it commit. */
function change(net: TestNetwork, conf: ConfChange): void {
  expect(net.node(n1).proposeConfChange(conf)).toMatchObject({ ok: true });
  net.stabilize();
}

describe('thesis §4.1 learners', () => {
  it('thesis §4.1 addLearner: the learner receives and applies the log, including entries from before it joined', () => {
    const net = electN1();
    net.node(n1).propose(bytes('before'));
    net.stabilize();
    net.add(n4);
    change(net, { type: 'addLearner', node: n4 });
    net.node(n1).propose(bytes('after'));
    net.stabilize();
    expect(net.node(n1).status().membership).toEqual({ voters: [n1, n2, n3], learners: [n4] });
    expect(net.appliedData(n4)).toEqual(['before', 'after']);
    expect(net.node(n4).status().membership).toEqual({ voters: [n1, n2, n3], learners: [n4] });
  });

  it('thesis §4.1 a learner acknowledgement does not count toward commitment', () => {
    const net = electN1([n1, n2]);
    net.add(n3);
    change(net, { type: 'addLearner', node: n3 });
    net.isolate(n2);
    const { index } = net.node(n1).propose(bytes('x')) as { index: number };
    net.stabilize();
    net.tickAll(3);
    expect(net.node(n3).lastIndex()).toBe(index);
    expect(net.node(n1).status().progress.get(n3)?.matchIndex).toBe(index);
    expect(net.node(n1).status().commitIndex).toBe(index - 1);
  });

  it('thesis §4.1 a learner vote does not count toward an election', () => {
    const node = newNode(n1, [n1, n2, n3], { learners: [n4] });
    node.campaign();
    drain(node);
    node.step({ type: 'RequestVoteResponse', from: n4, to: n1, term: 1, granted: true });
    expect(node.status().role).toBe('candidate');
    node.step({ type: 'RequestVoteResponse', from: n2, to: n1, term: 1, granted: true });
    expect(node.status().role).toBe('leader');
  });

  it('thesis §4.1 promoteLearner: the promoted node acknowledgement counts toward commitment', () => {
    const net = electN1([n1, n2]);
    net.add(n3);
    change(net, { type: 'addLearner', node: n3 });
    change(net, { type: 'promoteLearner', node: n3 });
    expect(net.node(n1).status().membership).toEqual({ voters: [n1, n2, n3], learners: [] });
    net.isolate(n2);
    const { index } = net.node(n1).propose(bytes('x')) as { index: number };
    net.stabilize();
    expect(net.node(n1).status().commitIndex).toBe(index);
  });

  it('thesis §4.1 a promoted learner may campaign and be elected', () => {
    const net = electN1([n1, n2]);
    net.add(n3);
    change(net, { type: 'addLearner', node: n3 });
    change(net, { type: 'promoteLearner', node: n3 });
    net.tickAll(1);
    expect(net.node(n3).status().membership.voters).toContain(n3);
    net.isolate(n1);
    net.node(n3).campaign();
    net.stabilize();
    expect(net.node(n3).status()).toMatchObject({ role: 'leader', term: 2 });
  });
});

describe('thesis §4.1 removing servers', () => {
  it('thesis §4.1 removeNode shrinks the quorum: two of the three remaining voters commit', () => {
    const net = electN1([n1, n2, n3, n4]);
    net.isolate(n3);
    net.isolate(n4);
    const stuck = net.node(n1).propose(bytes('stuck')) as { index: number };
    net.stabilize();
    expect(net.node(n1).status().commitIndex).toBe(stuck.index - 1); // two of four is not a quorum
    net.heal();
    net.tickAll(1);
    change(net, { type: 'removeNode', node: n4 });
    expect(net.node(n1).status().membership.voters).toEqual([n1, n2, n3]);
    net.isolate(n3);
    net.isolate(n4);
    const { index } = net.node(n1).propose(bytes('x')) as { index: number };
    net.stabilize();
    expect(net.node(n1).status().commitIndex).toBe(index);
  });

  it('thesis §4.1 a removed node no longer receives the log', () => {
    const net = electN1([n1, n2, n3, n4]);
    change(net, { type: 'removeNode', node: n4 });
    net.tickAll(1);
    const seen = net.delivered.length;
    net.node(n1).propose(bytes('x'));
    net.stabilize();
    net.tickAll(3);
    expect(net.delivered.slice(seen).filter((m) => m.to === n4)).toEqual([]);
    expect(net.node(n1).status().progress.has(n4)).toBe(false);
  });

  // The leader re-checks commitment under the new configuration (advance() re-runs maybeCommit),
  // so an entry on a majority of the smaller configuration commits without a new proposal.
  it('thesis §4.1 after removeNode commits, entries already on a majority of the new configuration commit too', () => {
    const net = electN1([n1, n2, n3, n4]);
    net.tickAll(1);
    const k = net.node(n1).lastIndex() + 1;
    net.isolate(n4);
    // n3 stores and acknowledges the removal at k, then goes silent before it gets k+1.
    net.dropIf = (m) =>
      (m.to === n3 && !(m.type === 'AppendEntries' && m.entries.length > 0 && m.entries.every((e) => e.index <= k))) ||
      (m.from === n3 && !(m.type === 'AppendEntriesResponse' && m.success));
    expect(net.node(n1).proposeConfChange({ type: 'removeNode', node: n4 })).toMatchObject({ ok: true, index: k });
    expect(net.node(n1).propose(bytes('x'))).toMatchObject({ ok: true, index: k + 1 });
    net.stabilize();
    expect(net.node(n1).status().membership.voters).toEqual([n1, n2, n3]);
    expect(net.node(n2).lastIndex()).toBe(k + 1); // n1 and n2: a majority of {n1, n2, n3}
    net.tickAll(3);
    expect(net.node(n1).status().commitIndex).toBe(k + 1);
  });
});

describe('thesis §4.1 one change at a time', () => {
  it('thesis §4.1 a second change is refused (ConfChangeInProgress) until the first is committed', () => {
    const net = electN1([n1, n2, n3]);
    net.add(n4);
    net.add(n5);
    expect(net.node(n1).proposeConfChange({ type: 'addLearner', node: n4 })).toMatchObject({ ok: true });
    expect(net.node(n1).proposeConfChange({ type: 'addLearner', node: n5 })).toMatchObject({
      ok: false,
      reason: 'ConfChangeInProgress',
      leaderHint: n1,
    });
    net.stabilize();
    expect(net.node(n1).proposeConfChange({ type: 'addLearner', node: n5 })).toMatchObject({ ok: true });
  });

  it('thesis §4.1 a new leader refuses conf changes until its no-op entry commits', () => {
    const net = new TestNetwork([n1, n2, n3]);
    net.dropIf = (m) => m.type === 'AppendEntries';
    net.node(n1).campaign();
    net.stabilize();
    expect(net.node(n1).status().role).toBe('leader');
    expect(net.node(n1).proposeConfChange({ type: 'addLearner', node: n4 })).toMatchObject({ ok: false, reason: 'ConfChangeInProgress' });
    net.dropIf = null;
    net.tickAll(1);
    expect(net.node(n1).status().commitIndex).toBe(1);
    expect(net.node(n1).proposeConfChange({ type: 'addLearner', node: n4 })).toMatchObject({ ok: true });
  });

  it('thesis §4.1 a change takes effect when it commits, not when it is appended', () => {
    const net = electN1([n1, n2, n3]);
    net.dropIf = (m) => m.type === 'AppendEntriesResponse';
    change(net, { type: 'addLearner', node: n4 });
    for (const id of [n1, n2, n3]) expect(net.node(id).status().membership.learners, id).toEqual([]);
    net.dropIf = null;
    net.tickAll(2);
    for (const id of [n1, n2, n3]) expect(net.node(id).status().membership.learners, id).toEqual([n4]);
  });
});

describe('thesis §4.1 invalid changes', () => {
  it('thesis §4.1 the leader cannot remove itself (InvalidConfChange)', () => {
    const net = electN1();
    expect(net.node(n1).proposeConfChange({ type: 'removeNode', node: n1 })).toEqual({
      ok: false,
      reason: 'InvalidConfChange',
      leaderHint: n1,
      detail: 'the leader cannot remove itself: transfer leadership first',
    });
  });

  it.each([
    ['addVoter of an existing voter', { type: 'addVoter', node: n2 }, /already a voter/],
    ['addVoter of a learner', { type: 'addVoter', node: n4 }, /is a learner: promote it instead/],
    ['addLearner of a voter', { type: 'addLearner', node: n2 }, /already a member/],
    ['addLearner of a learner', { type: 'addLearner', node: n4 }, /already a member/],
    ['promoteLearner of a voter', { type: 'promoteLearner', node: n2 }, /is not a learner/],
    ['promoteLearner of a stranger', { type: 'promoteLearner', node: n5 }, /is not a learner/],
    ['removeNode of a stranger', { type: 'removeNode', node: n5 }, /is not a member/],
  ] as const)('thesis §4.1 %s is refused (InvalidConfChange) with a detail', (_name, conf, detail) => {
    const leader = newNode(n1, [n1, n2, n3], { learners: [n4] });
    makeLeader(leader);
    leader.step({ type: 'AppendEntriesResponse', from: n2, to: n1, term: 1, success: true, matchIndex: 1, rejectHint: 0, rejectedIndex: 0 });
    drain(leader);
    const lastIndex = leader.lastIndex();
    const result = leader.proposeConfChange(conf);
    expect(result).toMatchObject({ ok: false, reason: 'InvalidConfChange', leaderHint: n1 });
    expect(!result.ok && result.detail).toMatch(detail);
    expect(leader.lastIndex()).toBe(lastIndex);
  });

  it('thesis §4.1 a follower refuses conf changes (NotLeader) and names the leader', () => {
    const net = electN1();
    expect(net.node(n2).proposeConfChange({ type: 'addLearner', node: n4 })).toEqual({ ok: false, reason: 'NotLeader', leaderHint: n1 });
  });
});

describe('thesis §4.1 durable membership', () => {
  it('thesis §4.1 membership survives a restart: committed changes are replayed from the log', () => {
    const net = electN1();
    net.add(n4);
    change(net, { type: 'addLearner', node: n4 });
    change(net, { type: 'promoteLearner', node: n4 });
    net.add(n5);
    change(net, { type: 'addLearner', node: n5 });
    net.tickAll(1);
    for (const id of [n1, n2, n3, n4, n5]) {
      const restarted = net.restart(id);
      expect(restarted.status().membership, id).toEqual({ voters: [n1, n2, n3, n4], learners: [n5] });
    }
  });

  it('thesis §4.1 §7 membership survives compaction: a follower that installs the snapshot adopts its configuration', () => {
    const net = electN1();
    net.isolate(n3);
    net.add(n4);
    change(net, { type: 'addLearner', node: n4 });
    net.node(n1).propose(bytes('x'));
    net.stabilize();
    const snapshot = net.compact(n1);
    expect(snapshot.meta.membership).toEqual({ voters: [n1, n2, n3], learners: [n4] });
    net.heal();
    net.tickAll(3);
    expect(net.disks.get(n3)?.snapshot?.meta.index).toBe(snapshot.meta.index);
    expect(net.node(n3).status().membership).toEqual({ voters: [n1, n2, n3], learners: [n4] });
    expect(net.restart(n3).status().membership).toEqual({ voters: [n1, n2, n3], learners: [n4] });
  });
});
