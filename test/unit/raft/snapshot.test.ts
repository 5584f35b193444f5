// Log compaction and InstallSnapshot (Raft §7): compaction bounds, catching up a follower that
// is behind the leader's first index, replacing a conflicting log, restarting from a snapshot plus
// later entries, and retrying a snapshot that was lost.
import { describe, expect, it } from 'vitest';
import type { Message, NodeId, Snapshot } from '../../../core/raft/types.ts';
import { AssertionError } from '../../../core/util/assert.ts';
import { TestNetwork, bytes, commandEntries, drain, ids, newNode } from './network.ts';

const [n1, n2, n3, n4] = ids(4) as [NodeId, NodeId, NodeId, NodeId];
const E = 10;

function electN1(overrides: ConstructorParameters<typeof TestNetwork>[1] = {}): TestNetwork {
  const net = new TestNetwork([n1, n2, n3], overrides);
  net.node(n1).campaign();
  net.stabilize();
  expect(net.node(n1).status().role).toBe('leader');
  return net;
}

function proposeAll(net: TestNetwork, leader: NodeId, prefix: string, count: number): void {
  for (let i = 0; i < count; i++) expect(net.node(leader).propose(bytes(`${prefix}${i}`)).ok).toBe(true);
  net.stabilize();
}

const isSnapshotTo = (to: NodeId) => (m: Message) => m.type === 'InstallSnapshot' && m.to === to;

describe('§7 log compaction', () => {
  it('§7 compact() drops the entries up to the snapshot index and keeps the later ones', () => {
    const net = electN1();
    proposeAll(net, n1, 'p', 10);
    const node = net.node(n1);
    expect(node.status().appliedIndex).toBe(11);
    const snapshot = node.compact(6, bytes('state@6'));
    expect(snapshot.meta).toEqual({ index: 6, term: 1, membership: { voters: [n1, n2, n3], learners: [] } });
    expect(node.firstIndex()).toBe(7);
    expect(node.lastIndex()).toBe(11);
    expect(node.entryAt(6)).toBeUndefined();
    expect(node.entryAt(7)?.type).toBe('command');
    expect(node.termAt(6)).toBe(1);
    expect(node.termAt(5)).toBeUndefined();
  });

  it('§7 compact() refuses an index that is not applied yet', () => {
    const net = electN1();
    net.isolate(n2);
    net.isolate(n3);
    net.node(n1).propose(bytes('uncommitted'));
    net.stabilize();
    expect(() => net.node(n1).compact(2, bytes('s'))).toThrow(AssertionError);
    expect(net.node(n1).firstIndex()).toBe(1);
  });
});

describe('§7 InstallSnapshot', () => {
  it('§7 a follower behind the leader first index receives InstallSnapshot, then the entries after it', () => {
    const net = electN1();
    net.isolate(n3);
    proposeAll(net, n1, 'a', 20);
    const snapshot = net.compact(n1, bytes('state@21'));
    expect(snapshot.meta.index).toBe(21);
    proposeAll(net, n1, 'b', 5);
    net.heal();
    net.tickAll(3);
    const snapshots = net.delivered.filter(isSnapshotTo(n3));
    expect(snapshots).toHaveLength(1);
    const snapshotAt = net.delivered.indexOf(snapshots[0] as Message);
    const laterAppends = net.delivered.findIndex((m, i) => i > snapshotAt && m.type === 'AppendEntries' && m.to === n3 && m.entries.length > 0);
    expect(laterAppends).toBeGreaterThan(snapshotAt);
    const disk = net.disks.get(n3);
    expect(disk?.snapshot?.meta.index).toBe(21);
    expect(disk?.snapshot?.data).toEqual(bytes('state@21'));
    expect(disk?.entries.map((e) => e.index)).toEqual([22, 23, 24, 25, 26]);
    expect(net.node(n3).status()).toMatchObject({ commitIndex: 26, appliedIndex: 26, firstIndex: 22, lastIndex: 26 });
    expect(net.appliedData(n3)).toEqual(['b0', 'b1', 'b2', 'b3', 'b4']);
  });

  it('§7 an installed snapshot replaces a conflicting log', () => {
    const net = electN1();
    // n1 is cut off and appends entries of term 1 that never commit.
    net.isolate(n1);
    proposeAll(net, n1, 'lost', 5);
    expect(net.logTerms(n1)).toEqual([1, 1, 1, 1, 1, 1]);
    net.node(n2).campaign();
    net.stabilize();
    proposeAll(net, n2, 'kept', 10);
    net.compact(n2);
    net.heal();
    net.tickAll(3);
    expect(net.delivered.filter(isSnapshotTo(n1))).toHaveLength(1);
    expect(net.node(n1).status()).toMatchObject({ role: 'follower', term: 2, leaderId: n2, firstIndex: 13, lastIndex: 12, commitIndex: 12 });
    expect(net.node(n1).termAt(12)).toBe(2);
    for (let i = 2; i <= 6; i++) expect(net.node(n1).termAt(i)).toBeUndefined();
    expect(net.disks.get(n1)?.entries).toEqual([]);
    expect(net.appliedData(n1).filter((d) => d.startsWith('lost'))).toEqual([]);
  });

  it('§7 a follower that already holds the snapshot last entry keeps the entries after it and only commits', () => {
    const node = newNode(n2, [n1, n2, n3], { hardState: { term: 1, votedFor: null, commit: 1 }, entries: commandEntries(1, [1, 1, 1, 1]) });
    const snapshot: Snapshot = { meta: { index: 3, term: 1, membership: { voters: [n1, n2, n3], learners: [] } }, data: bytes('s') };
    node.step({ type: 'InstallSnapshot', from: n1, to: n2, term: 1, snapshot });
    const out = drain(node);
    expect(out.readies.some((rd) => rd.snapshot !== null)).toBe(false);
    expect(node.status()).toMatchObject({ commitIndex: 3, lastIndex: 4, firstIndex: 1 });
    expect(out.messages).toEqual([{ type: 'InstallSnapshotResponse', from: n2, to: n1, term: 1, matchIndex: 3, accepted: true }]);
  });

  it('§7 a stale InstallSnapshot (at or below the commit index) is acknowledged with the commit index and changes nothing', () => {
    const node = newNode(n2, [n1, n2, n3], { hardState: { term: 1, votedFor: null, commit: 3 }, entries: commandEntries(1, [1, 1, 1, 1]) });
    drain(node);
    const snapshot: Snapshot = { meta: { index: 2, term: 1, membership: { voters: [n1, n2, n3], learners: [] } }, data: bytes('s') };
    node.step({ type: 'InstallSnapshot', from: n1, to: n2, term: 1, snapshot });
    const out = drain(node);
    expect(out.readies.some((rd) => rd.snapshot !== null)).toBe(false);
    expect(out.messages).toEqual([{ type: 'InstallSnapshotResponse', from: n2, to: n1, term: 1, matchIndex: 3, accepted: true }]);
    expect(node.status()).toMatchObject({ firstIndex: 1, lastIndex: 4, commitIndex: 3 });
  });

  it('§7 the snapshot, its hard state and its acknowledgement come in one Ready, and committed entries resume after it', () => {
    const node = newNode(n3, [n1, n2, n3]);
    const snapshot: Snapshot = { meta: { index: 10, term: 2, membership: { voters: [n1, n2, n3], learners: [] } }, data: bytes('s') };
    node.step({ type: 'InstallSnapshot', from: n1, to: n3, term: 2, snapshot });
    const rd = node.ready();
    expect(rd?.snapshot).toBe(snapshot);
    expect(rd?.hardState).toEqual({ term: 2, votedFor: null, commit: 10 });
    expect(rd?.committed).toEqual([]);
    expect(rd?.messages).toEqual([{ type: 'InstallSnapshotResponse', from: n3, to: n1, term: 2, matchIndex: 10, accepted: true }]);
  });

  it('§7 a lost InstallSnapshot is sent again after an election timeout, not before', () => {
    const net = electN1();
    net.isolate(n3);
    proposeAll(net, n1, 'a', 5);
    net.compact(n1);
    net.heal();
    const attempts: number[] = [];
    let tick = 0;
    net.dropIf = (m) => {
      if (m.type !== 'InstallSnapshot') return false;
      attempts.push(tick);
      return attempts.length === 1; // only the first copy is lost
    };
    for (tick = 1; tick <= 3 * E && net.node(n3).lastIndex() < 6; tick++) net.tickAll(1);
    expect(attempts).toHaveLength(2);
    const [first, second] = attempts as [number, number];
    expect(second - first).toBeGreaterThanOrEqual(E);
    expect(second - first).toBeLessThanOrEqual(E + 2);
    expect(net.node(n3).status()).toMatchObject({ lastIndex: 6, commitIndex: 6 });
  });
});

describe('§7 restart from a snapshot', () => {
  it('§7 a node restarted from a snapshot plus later entries restores its membership, commit index and applied state', () => {
    const net = electN1();
    net.add(n4);
    expect(net.node(n1).proposeConfChange({ type: 'addLearner', node: n4 }).ok).toBe(true);
    net.stabilize();
    proposeAll(net, n1, 'a', 3);
    const snapshot = net.compact(n2);
    expect(snapshot.meta.membership).toEqual({ voters: [n1, n2, n3], learners: [n4] });
    // After the snapshot: more commands and a promotion that lives only in the log.
    proposeAll(net, n1, 'b', 2);
    expect(net.node(n1).proposeConfChange({ type: 'promoteLearner', node: n4 }).ok).toBe(true);
    net.stabilize();
    net.tickAll(1);
    const before = net.node(n2).status();
    const appliedBefore = net.appliedData(n2);
    const restarted = net.restart(n2);
    expect(restarted.status()).toMatchObject({
      membership: { voters: [n1, n2, n3, n4], learners: [] },
      commitIndex: before.commitIndex,
      firstIndex: snapshot.meta.index + 1,
      lastIndex: before.lastIndex,
      term: before.term,
    });
    net.flush();
    expect(net.appliedData(n2)).toEqual(appliedBefore);
    expect(net.node(n2).status().appliedIndex).toBe(before.commitIndex);
  });
});
