// Pure. Turns successive scrapes of every node's /metrics into the console's MetricsSample
// series: per-interval rates from counter deltas, commit latency quantiles from histogram
// bucket deltas, elections and leader changes, and median RTT per datacenter pair from the
// topology. Keeps the last hour.

import type { TopologyView } from '../api/clientProtocol.ts';
import type { MetricsSample } from '../api/contract.ts';
import type { Bucket, Scrape } from './prometheus.ts';
import { addBuckets, bucketDelta, buckets, histogramQuantile, value } from './prometheus.ts';

/** NodeScrape is one node's exposition, read at `at` (backend ms). */
export interface NodeScrape {
  readonly id: string;
  readonly at: number;
  readonly scrape: Scrape;
}

/** METRICS_RETENTION_MS is how much history a connection keeps: the last hour. */
export const METRICS_RETENTION_MS = 3_600_000;

const COMMIT_HISTOGRAM = 'warden_proposal_commit_seconds';

/** counterDelta is how much a counter grew; a counter that went down was reset by a restart. */
function counterDelta(now: number | null, before: number | null): number {
  if (now === null) return 0;
  if (before === null) return 0;
  return now >= before ? now - before : now;
}

/**
 * pairKey names an unordered datacenter pair, "a|b" with the names sorted, so both directions of
 * a link land in one series.
 */
export function pairKey(a: string, b: string): string {
  return a <= b ? `${a}|${b}` : `${b}|${a}`;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** rttByDatacenterPair is the median measured RTT of the links between (and within) datacenters. */
export function rttByDatacenterPair(topology: TopologyView): Record<string, number> {
  const dcOf = new Map<string, string>();
  for (const dc of topology.datacenters) for (const node of dc.nodes) dcOf.set(node.id, dc.name);
  const byPair = new Map<string, number[]>();
  for (const link of topology.rtt) {
    const from = dcOf.get(link.from);
    const to = dcOf.get(link.to);
    if (from === undefined || to === undefined || !Number.isFinite(link.ms)) continue;
    const key = pairKey(from, to);
    const list = byPair.get(key) ?? [];
    list.push(link.ms);
    byPair.set(key, list);
  }
  const out: Record<string, number> = {};
  for (const key of [...byPair.keys()].sort()) out[key] = Math.round(median(byPair.get(key) as number[]) * 100) / 100;
  return out;
}

/**
 * MetricsSeries is one connection's history. Feed it every node's scrape each interval; it
 * compares each node with that node's previous scrape, so a node that missed a scrape or
 * restarted skews nothing.
 */
export class MetricsSeries {
  private readonly retentionMs: number;
  private readonly previous = new Map<string, NodeScrape>();
  private readonly samples: MetricsSample[] = [];
  private elections = 0;
  private leaderChanges = 0;

  constructor(retentionMs = METRICS_RETENTION_MS) {
    this.retentionMs = retentionMs;
  }

  /**
   * restartBaseline forgets the previous scrapes (after a gap, such as a closed connection), so
   * the next interval does not span the gap; the samples stay.
   */
  restartBaseline(): void {
    this.previous.clear();
  }

  /** add computes the sample for the interval ending with these scrapes and keeps it. */
  add(at: number, scrapes: readonly NodeScrape[], topology: TopologyView | null): MetricsSample {
    let proposalsPerSec = 0;
    let acquiresPerSec = 0;
    let waitsPerSec = 0;
    let elections = 0;
    let leaderChanges = 0;
    let commit: Bucket[] = [];
    let term = topology?.term ?? 0;
    let leader: { id: string; term: number } | null = null;
    for (const node of scrapes) {
      const before = this.previous.get(node.id);
      this.previous.set(node.id, node);
      const nodeTerm = value(node.scrape, 'warden_raft_term') ?? 0;
      term = Math.max(term, nodeTerm);
      if (value(node.scrape, 'warden_raft_is_leader') === 1 && (leader === null || nodeTerm > leader.term)) leader = { id: node.id, term: nodeTerm };
      if (before === undefined || node.at <= before.at) continue;
      const seconds = (node.at - before.at) / 1000;
      const delta = (name: string): number => counterDelta(value(node.scrape, name), value(before.scrape, name));
      // Proposals are counted where they are made, so the cluster's rate is the sum. Every node
      // applies every entry, so lock traffic is read from the node that saw the most of it.
      proposalsPerSec += delta('warden_proposals_total') / seconds;
      acquiresPerSec = Math.max(acquiresPerSec, delta('warden_lock_acquires_total') / seconds);
      waitsPerSec = Math.max(waitsPerSec, delta('warden_lock_waits_total') / seconds);
      elections = Math.max(elections, delta('warden_raft_elections_total'));
      leaderChanges = Math.max(leaderChanges, delta('warden_raft_leader_changes_total'));
      commit = addBuckets(commit, bucketDelta(buckets(node.scrape, COMMIT_HISTOGRAM), buckets(before.scrape, COMMIT_HISTOGRAM)));
    }
    this.elections += elections;
    this.leaderChanges += leaderChanges;
    const p50 = histogramQuantile(0.5, commit);
    const p99 = histogramQuantile(0.99, commit);
    const sample: MetricsSample = {
      at,
      proposalsPerSec: round(proposalsPerSec),
      commitLatencyMsP50: p50 === null ? null : round(p50 * 1000),
      commitLatencyMsP99: p99 === null ? null : round(p99 * 1000),
      lockAcquiresPerSec: round(acquiresPerSec),
      lockWaitsPerSec: round(waitsPerSec),
      elections: this.elections,
      leaderChanges: this.leaderChanges,
      term,
      leaderId: leader?.id ?? topology?.leader?.id ?? null,
      rttMsByDatacenterPair: topology === null ? {} : rttByDatacenterPair(topology),
    };
    this.samples.push(sample);
    const oldest = at - this.retentionMs;
    let drop = 0;
    while (drop < this.samples.length && (this.samples[drop] as MetricsSample).at < oldest) drop++;
    if (drop > 0) this.samples.splice(0, drop);
    return sample;
  }

  /** list returns the kept samples, oldest first. */
  list(): MetricsSample[] {
    return [...this.samples];
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
