// Unit tests (pure) for the console's metrics series: rates from counter deltas between two
// scrapes of each node, commit latency quantiles from bucket deltas (interpolated inside a
// bucket as histogram_quantile does, never a bucket's bound; null for an interval without
// commits), elections and leader changes, restarts, RTT medians per datacenter pair, and the
// one-hour retention.

import { describe, expect, it } from 'vitest';
import type { TopologyView } from '../../../core/api/clientProtocol.ts';
import { MetricsSeries, pairKey, rttByDatacenterPair } from '../../../core/console/clusterMetrics.ts';
import type { NodeScrape } from '../../../core/console/clusterMetrics.ts';
import { parsePrometheus } from '../../../core/console/prometheus.ts';

interface Counters {
  proposals?: number;
  acquires?: number;
  waits?: number;
  elections?: number;
  leaderChanges?: number;
  term?: number;
  leader?: boolean;
  /** Cumulative counts for each bound of `bounds`, then +Inf. */
  commit?: number[];
  /** The commit histogram's finite bounds in seconds; 0.001, 0.01 and 0.1 unless given. */
  bounds?: number[];
}

/** NODE_BOUNDS are the bounds a node exports for warden_proposal_commit_seconds (core/server/wardenNode.ts). */
const NODE_BOUNDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];

function exposition(c: Counters): string {
  const bounds = c.bounds ?? [0.001, 0.01, 0.1];
  const commit = c.commit ?? bounds.map(() => 0).concat(0);
  return [
    '# TYPE warden_proposals_total counter',
    `warden_proposals_total ${c.proposals ?? 0}`,
    `warden_lock_acquires_total ${c.acquires ?? 0}`,
    `warden_lock_waits_total ${c.waits ?? 0}`,
    `warden_raft_elections_total ${c.elections ?? 0}`,
    `warden_raft_leader_changes_total ${c.leaderChanges ?? 0}`,
    `warden_raft_term ${c.term ?? 1}`,
    `warden_raft_is_leader ${c.leader ? 1 : 0}`,
    ...bounds.map((le, i) => `warden_proposal_commit_seconds_bucket{le="${le}"} ${commit[i] ?? 0}`),
    `warden_proposal_commit_seconds_bucket{le="+Inf"} ${commit[bounds.length] ?? 0}`,
    '',
  ].join('\n');
}

const node = (id: string, at: number, c: Counters): NodeScrape => ({ id, at, scrape: parsePrometheus(exposition(c)) });

function topology(rtt: { from: string; to: string; ms: number }[]): TopologyView {
  const n = (id: string) => ({ id, datacenter: '', role: 'voter' as const, state: 'follower' as const, term: 3, commitIndex: 0, appliedIndex: 0, lagEntries: 0, lastContactMs: 0, clientUrl: `ws://127.0.0.1/${id}` });
  return {
    clusterId: 'c',
    term: 3,
    leader: { id: 'n1', datacenter: 'dc-a' },
    datacenters: [
      { name: 'dc-a', preferred: false, nodes: [n('n1'), n('n2')] },
      { name: 'dc-b', preferred: false, nodes: [n('n3')] },
      { name: 'dc-c', preferred: false, nodes: [n('n4')] },
    ],
    rtt: rtt.map((r) => ({ ...r, measuredAt: 0 })),
    electionTimeoutMs: 1000,
    maxVoterRttMs: null,
    warnings: [],
  };
}

describe('MetricsSeries', () => {
  it('the first interval has no rates; the next one has rates per second', () => {
    const series = new MetricsSeries();
    const first = series.add(0, [node('n1', 0, { proposals: 100, acquires: 50, leader: true, term: 3 }), node('n2', 0, { acquires: 50, term: 3 })], null);
    expect(first).toMatchObject({ proposalsPerSec: 0, lockAcquiresPerSec: 0, commitLatencyMsP50: null, term: 3, leaderId: 'n1' });
    const second = series.add(2000, [node('n1', 2000, { proposals: 300, acquires: 90, waits: 10, leader: true, term: 3 }), node('n2', 2000, { proposals: 20, acquires: 80, term: 3 })], null);
    // Proposals add up across nodes; lock traffic is what the most up-to-date node applied.
    expect(second).toMatchObject({ proposalsPerSec: 110, lockAcquiresPerSec: 20, lockWaitsPerSec: 5 });
  });

  it('commit latency comes from the bucket deltas of all nodes in the interval', () => {
    const series = new MetricsSeries();
    series.add(0, [node('n1', 0, { commit: [1000, 1000, 1000, 1000] }), node('n2', 0, {})], null);
    // In this interval: 100 commits under 1 ms on n1, 100 between 10 and 100 ms on n2.
    const s = series.add(1000, [node('n1', 1000, { commit: [1100, 1100, 1100, 1100] }), node('n2', 1000, { commit: [0, 0, 100, 100] })], null);
    expect(s.commitLatencyMsP50).toBeCloseTo(1);
    expect(s.commitLatencyMsP99).toBeCloseTo(98.2);
  });

  it('commit latency interpolates inside the bucket, from the bound below it, not at its upper bound', () => {
    const series = new MetricsSeries();
    series.add(0, [node('n1', 0, { commit: [5, 5, 5, 5] })], null);
    // In this interval: 3 commits in (1 ms, 10 ms] and 1 in (10 ms, 100 ms].
    const s = series.add(1000, [node('n1', 1000, { commit: [5, 8, 9, 9] })], null);
    // p50: rank 2 of the 3 in (1, 10] is 1 + 9 * 2/3; p99: rank 3.96, 0.96 of the way into (10, 100].
    expect(s.commitLatencyMsP50).toBeCloseTo(7);
    expect(s.commitLatencyMsP99).toBeCloseTo(96.4);
  });

  it('commit latency in the first bucket interpolates from 0', () => {
    const series = new MetricsSeries();
    series.add(0, [node('n1', 0, {})], null);
    const s = series.add(1000, [node('n1', 1000, { commit: [4, 4, 4, 4] })], null);
    expect(s.commitLatencyMsP50).toBeCloseTo(0.5);
    expect(s.commitLatencyMsP99).toBeCloseTo(0.99);
  });

  it("one commit in a node's (50 ms, 100 ms] bucket reads 75 ms at p50 and 99.5 ms at p99", () => {
    // The node's own bounds: a lone commit sits halfway up its bucket at p50, so an exact 75 ms
    // is interpolation, not a bucket bound (there is no 75 ms bound).
    const before = NODE_BOUNDS.map(() => 0).concat(0);
    const after = NODE_BOUNDS.map((le) => (le >= 0.1 ? 1 : 0)).concat(1);
    const series = new MetricsSeries();
    series.add(0, [node('n1', 0, { bounds: NODE_BOUNDS, commit: before })], null);
    const s = series.add(1000, [node('n1', 1000, { bounds: NODE_BOUNDS, commit: after })], null);
    expect(s.commitLatencyMsP50).toBeCloseTo(75);
    expect(s.commitLatencyMsP99).toBeCloseTo(99.5);
  });

  it('commit latency that falls in the +Inf bucket is the highest finite bound', () => {
    const series = new MetricsSeries();
    series.add(0, [node('n1', 0, {})], null);
    // 10 commits: 1 under 1 ms, 9 over 100 ms.
    const s = series.add(1000, [node('n1', 1000, { commit: [1, 1, 1, 10] })], null);
    expect(s.commitLatencyMsP50).toBe(100);
    expect(s.commitLatencyMsP99).toBe(100);
  });

  it('an interval without commits has no commit latency, and the next one with commits has', () => {
    const series = new MetricsSeries();
    series.add(0, [node('n1', 0, { commit: [3, 5, 7, 7] })], null);
    const idle = series.add(1000, [node('n1', 1000, { proposals: 4, commit: [3, 5, 7, 7] })], null);
    expect(idle).toMatchObject({ commitLatencyMsP50: null, commitLatencyMsP99: null });
    const busy = series.add(2000, [node('n1', 2000, { commit: [3, 7, 9, 9] })], null);
    expect(busy.commitLatencyMsP50).toBeCloseTo(5.5);
    expect(busy.commitLatencyMsP99).toBeCloseTo(9.91);
  });

  it('elections and leader changes accumulate from the first scrape on', () => {
    const series = new MetricsSeries();
    series.add(0, [node('n1', 0, { elections: 5, leaderChanges: 4 }), node('n2', 0, { elections: 5, leaderChanges: 4 })], null);
    series.add(1000, [node('n1', 1000, { elections: 6, leaderChanges: 5, term: 4, leader: true }), node('n2', 1000, { elections: 6, leaderChanges: 4, term: 4 })], null);
    const s = series.add(2000, [node('n1', 2000, { elections: 8, leaderChanges: 7, term: 6 }), node('n2', 2000, { elections: 8, leaderChanges: 6, term: 6, leader: true })], null);
    expect(s).toMatchObject({ elections: 3, leaderChanges: 3, term: 6, leaderId: 'n2' });
  });

  it('a restarted node (counters went down) counts its new values, and a missed scrape skews nothing', () => {
    const series = new MetricsSeries();
    series.add(0, [node('n1', 0, { proposals: 1000 })], null);
    const restarted = series.add(1000, [node('n1', 1000, { proposals: 30 })], null);
    expect(restarted.proposalsPerSec).toBe(30);
    const missed = series.add(2000, [], null);
    expect(missed.proposalsPerSec).toBe(0);
    const back = series.add(5000, [node('n1', 5000, { proposals: 90 })], null);
    expect(back.proposalsPerSec).toBe(15);
  });

  it('restartBaseline makes the next interval start afresh', () => {
    const series = new MetricsSeries();
    series.add(0, [node('n1', 0, { proposals: 0 })], null);
    series.restartBaseline();
    expect(series.add(60_000, [node('n1', 60_000, { proposals: 6000 })], null).proposalsPerSec).toBe(0);
    expect(series.list()).toHaveLength(2);
  });

  it('keeps one hour of samples', () => {
    const series = new MetricsSeries(3_600_000);
    for (let t = 0; t <= 2 * 3_600_000; t += 60_000) series.add(t, [], null);
    const samples = series.list();
    expect(samples[0]?.at).toBe(3_600_000);
    expect(samples.at(-1)?.at).toBe(7_200_000);
  });

  it('takes the datacenter RTT medians and the leader from the topology when no node says', () => {
    const series = new MetricsSeries();
    const s = series.add(0, [], topology([{ from: 'n1', to: 'n3', ms: 30 }, { from: 'n3', to: 'n1', ms: 32 }, { from: 'n2', to: 'n3', ms: 50 }, { from: 'n1', to: 'n2', ms: 0.4 }]));
    expect(s.rttMsByDatacenterPair).toEqual({ 'dc-a|dc-a': 0.4, 'dc-a|dc-b': 32 });
    expect(s.leaderId).toBe('n1');
  });
});

describe('rttByDatacenterPair', () => {
  it('puts both directions of a link in one sorted pair and ignores unknown nodes', () => {
    expect(pairKey('dc-b', 'dc-a')).toBe('dc-a|dc-b');
    expect(rttByDatacenterPair(topology([{ from: 'n4', to: 'n1', ms: 10 }, { from: 'n1', to: 'n4', ms: 20 }, { from: 'n9', to: 'n1', ms: 99 }]))).toEqual({ 'dc-a|dc-c': 15 });
  });
});
