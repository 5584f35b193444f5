// Effectful only in virtual time. A scripted datacenter scenario on the simulator's harness: five
// real NodeHosts laid out 2+2+1 over three datacenters with WAN latency and `wan` timing, a writer
// through the current leader, and the leader's whole datacenter cut off. A leader must appear in
// another datacenter within a few election timeouts, and no acknowledged write may be lost.

import { describe, expect, it } from 'vitest';
import { Prng } from '../../core/util/prng.ts';
import { SafetyChecker } from './checkers/safety.ts';
import { Cluster } from './harness/cluster.ts';
import { WAN_TICK_MS, type DatacenterConfig } from './harness/datacenters.ts';
import { encodeCommand, KvMachine, type KvResult } from './harness/kvMachine.ts';
import { EventKind, SimClock } from './harness/simClock.ts';

const ELECTION_TICKS = 10;
const ELECTION_MS = ELECTION_TICKS * WAN_TICK_MS;

/** LAYOUT is 2+2+1: n1, n2 in dc0 (preferred), n3, n4 in dc1, n5 in dc2; 20 to 35 ms one way between datacenters. */
const LAYOUT: DatacenterConfig = {
  nodeDatacenter: [0, 0, 1, 1, 2],
  oneWayMs: [
    [0.3, 20, 35],
    [20, 0.2, 25],
    [35, 25, 0.4],
  ],
  jitterRatio: 0.1,
};

/** datacenterCluster builds the cluster with the safety checker wired in. */
function datacenterCluster(seed: number) {
  const clock = new SimClock();
  let safety: SafetyChecker | null = null;
  const cluster = new Cluster<KvResult, KvMachine>(
    clock,
    new Prng(seed),
    {
      nodeCount: 5,
      tickMs: WAN_TICK_MS,
      tickDrift: 0.01,
      electionTicks: ELECTION_TICKS,
      heartbeatTicks: 1,
      preVote: true,
      checkQuorum: true,
      maxEntriesPerMessage: 64,
      maxInflightMessages: 16,
      priorities: [2, 2, 1, 1, 1],
      snapshotEvery: 50,
      deferDrain: true,
      network: { baseDelayMs: 0, jitterMs: 0, dropRate: 0, duplicateRate: 0, spikeRate: 0, spikeMs: 0 },
      datacenters: LAYOUT,
      disk: { latencyMs: 1, jitterMs: 0 },
      bugs: new Set(),
    },
    () => new KvMachine(),
    {
      onApplied: (node, entry) => safety?.onApplied(node, entry),
      onSend: (from, message) => safety?.onSend(from, message),
    },
  );
  const checker = new SafetyChecker({
    nodeCount: 5,
    view: (node) => cluster.node(node).host?.raft ?? null,
    durable: (node) => cluster.node(node).storage.durable,
    name: (node) => cluster.node(node).id,
    now: () => clock.now,
  });
  safety = checker;
  /** run executes events until `done()` holds or `ms` of virtual time have passed; the safety checker sees every event. */
  const run = (ms: number, done: () => boolean = () => false): void => {
    const until = clock.now + ms;
    while (!done()) {
      const event = clock.step(until);
      if (!event) break;
      checker.afterEvent(event.node, event.node >= 0 ? cluster.statusOf(event.node) : null);
    }
  };
  return { clock, cluster, checker, run };
}

describe('simulation scenarios: datacenters', () => {
  it.each([11, 12, 13])("isolating the leader's datacenter (2+2+1) elects a leader elsewhere within a few election timeouts, and loses no acknowledged write (prng %i)", (seed) => {
    const s = datacenterCluster(seed);
    const dcs = s.cluster.network.datacenters;
    if (!dcs) throw new Error('no datacenter model');
    s.cluster.start();
    s.run(10 * ELECTION_MS, () => s.cluster.leader() !== undefined);
    const first = s.cluster.leader();
    if (!first) throw new Error('no first leader');

    // A writer: one put of a fresh key every 50 ms through whichever node leads in the highest term.
    const acknowledged: string[] = [];
    let seq = 0;
    let writing = true;
    const write = (): void => {
      if (!writing) return;
      const leader = s.cluster.leader();
      if (leader?.host) {
        const key = `w${seq}`;
        leader.host.propose(encodeCommand({ op: 'put', key, value: key, clientId: 1, seq: seq++ }), (outcome) => {
          if (outcome.ok) acknowledged.push(key);
        });
      }
      s.clock.schedule(50, EventKind.test, -1, write);
    };
    write();
    s.run(3_000);
    const before = acknowledged.length;
    expect(before).toBeGreaterThan(20);

    // Cut the leader's datacenter off from the other two, both ways.
    const oldLeader = s.cluster.leader();
    if (!oldLeader?.host) throw new Error('no leader before the isolation');
    const oldTerm = oldLeader.host.status().term;
    const isolated = dcs.datacenterOf(oldLeader.index);
    s.cluster.network.isolateDatacenter(isolated);
    const cutAt = s.clock.now;
    const elsewhere = () => {
      const leader = s.cluster.leader();
      return leader !== undefined && dcs.datacenterOf(leader.index) !== isolated && (leader.host?.status().term ?? 0) > oldTerm ? leader : undefined;
    };
    s.run(10 * ELECTION_MS, () => elsewhere() !== undefined);
    const newLeader = elsewhere();
    const tookMs = s.clock.now - cutAt;
    console.log(
      `datacenter scenario: leader ${oldLeader.id} (dc${isolated}, term ${oldTerm}) isolated; ${newLeader?.id ?? 'nobody'} ` +
        `(dc${newLeader ? dcs.datacenterOf(newLeader.index) : '?'}) leads after ${tookMs.toFixed(0)} ms (${(tookMs / ELECTION_MS).toFixed(2)} election timeouts)`,
    );
    expect(newLeader, 'no leader outside the isolated datacenter').toBeDefined();
    expect(tookMs).toBeLessThan(4 * ELECTION_MS);

    // The majority side keeps acknowledging writes; the old leader steps down (check-quorum).
    const atElection = acknowledged.length;
    s.run(3_000);
    expect(acknowledged.length).toBeGreaterThan(atElection + 20);
    expect(s.cluster.statusOf(oldLeader.index)?.role).not.toBe('leader');

    // Heal, stop writing, and let every node converge.
    s.cluster.network.heal();
    writing = false;
    s.run(20 * ELECTION_MS, () => {
      const leader = s.cluster.leader()?.host?.status();
      return leader !== undefined && leader.commitIndex === leader.lastIndex && s.cluster.nodes.every((node) => node.host?.applied === leader.commitIndex);
    });
    const leader = s.cluster.leader()?.host?.status();
    expect(leader).toBeDefined();
    for (const node of s.cluster.nodes) expect(node.host?.applied, `${node.id} converged`).toBe(leader?.commitIndex);
    // Every replica holds every acknowledged write (the isolated ones may have caught up by snapshot).
    for (const node of s.cluster.nodes) {
      const machine = node.machine;
      expect(machine, `${node.id} is up`).not.toBeNull();
      expect(acknowledged.filter((key) => machine?.get(key) !== key), `acknowledged writes missing on ${node.id}`).toEqual([]);
      expect(machine?.digest()).toBe(s.cluster.node(0).machine?.digest());
    }
    s.checker.fullCheck();
    expect(s.checker.violations).toEqual([]);
  });
});
