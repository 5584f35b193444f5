// Pure. Swarm derives a whole simulation's shape from one seed, as TigerBeetle's VOPR does in
// swarm mode: cluster size, Raft options, fault probabilities, which faults are on at all, the
// client mix, and which application the cluster replicates (the KV test machine, or the lock
// service's own state machine with lock clients). A fraction of seeds spread the nodes over
// datacenters with WAN latency between them (drawn from a stream of its own). Different seeds
// therefore explore different corners, not just different dice.

import type { Prng } from '../../../core/util/prng.ts';
import type { BugName } from '../../../core/raft/types.ts';
import type { ClusterConfig } from './cluster.ts';
import { DATACENTER_SEED_RATE, describeDatacenters, drawDatacenters, maxRttMs, WAN_TICK_MS, type DatacenterConfig } from './datacenters.ts';
import type { LockWorkloadConfig } from './lockWorkload.ts';
import type { NemesisConfig } from './nemesis.ts';
import type { WorkloadConfig } from './workload.ts';

/** LockSwarm is a lock seed's application setup: the clients, and each node's wall clock. */
export interface LockSwarm {
  readonly workload: LockWorkloadConfig;
  /** Each node's clock starts a uniform [0, clockOffsetMaxMs) ahead of the simulated clock. */
  readonly clockOffsetMaxMs: number;
  /** Whether node clocks run at their ticks' rate (1 / (1 + d)); otherwise at the simulated clock's. */
  readonly clockDrift: boolean;
}

/** SwarmOptions is everything one run needs, derived from its seed. */
export interface SwarmOptions {
  readonly cluster: ClusterConfig;
  readonly nemesis: NemesisConfig;
  /** The KV clients (unused by lock seeds). */
  readonly workload: WorkloadConfig;
  /** Non-null for lock seeds: the cluster replicates the lock machine and lock clients run instead of KV clients. */
  readonly lock: LockSwarm | null;
}

/** LOCK_SEED_RATE is the fraction of seeds that run the lock workload. */
export const LOCK_SEED_RATE = 0.35;

/** TICK_MS is the nominal virtual tick of flat seeds, as in the `lan` profile: 10 ticks make an election timeout of 0.5 to 1 s. */
export const TICK_MS = 50;

/**
 * DatacenterDraw is where a seed's datacenter choices come from. They have a stream of their own
 * (the seed's `datacenters` fork), so that seeds in one flat network keep every configuration and
 * fault draw they had before the datacenter model existed.
 */
export interface DatacenterDraw {
  readonly prng: Prng;
  /** true: a datacenter seed whatever the draw; false: never; absent: DATACENTER_SEED_RATE of seeds. */
  readonly force?: boolean;
}

/**
 * swarmOptions draws a configuration from `prng` (a stream dedicated to the swarm, so that a new
 * knob here never shifts the faults or the workload of existing seeds more than it must), and the
 * datacenter setup, if any, from `datacenters`.
 */
export function swarmOptions(prng: Prng, bugs: ReadonlySet<BugName>, datacenters: DatacenterDraw | null = null): SwarmOptions {
  const dcPrng = datacenters?.prng ?? null;
  // NB: the rate is drawn even when forced, so a forced seed's other datacenter draws equal its natural ones.
  const drawnDc = dcPrng !== null && dcPrng.chance(DATACENTER_SEED_RATE);
  const dc = dcPrng !== null && (datacenters?.force ?? drawnDc) ? dcPrng : null;
  const tickMs = dc ? WAN_TICK_MS : TICK_MS;
  const hunter = prng.chance(0.3);
  const nodeCount = prng.chance(0.5) ? 3 : 5;
  const f = Math.floor((nodeCount - 1) / 2);
  const prioritized = prng.chance(0.3);
  const priorities = Array.from({ length: nodeCount }, () => (prioritized ? prng.range(1, 2) : 1));
  const baseDelayMs = prng.range(1, 10);
  const jitterMs = prng.pick([0, 5, 20, 40]);
  const cluster: ClusterConfig = {
    nodeCount,
    tickMs: TICK_MS,
    tickDrift: prng.pick([0, 0.01, 0.03]),
    electionTicks: 10,
    heartbeatTicks: prng.chance(0.8) ? 1 : 2,
    preVote: prng.chance(0.7),
    checkQuorum: prng.chance(0.7),
    maxEntriesPerMessage: prng.pick([1, 4, 16, 64]),
    maxInflightMessages: prng.pick([1, 2, 4, 16]),
    priorities,
    snapshotEvery: prng.pick([5, 20, 100, 500]),
    deferDrain: prng.chance(0.75),
    network: {
      baseDelayMs,
      jitterMs,
      dropRate: prng.pick([0, 0, 0.01, 0.05]),
      duplicateRate: prng.pick([0, 0, 0.01, 0.03]),
      spikeRate: prng.pick([0, 0.005, 0.02]),
      spikeMs: prng.range(100, 1000),
    },
    disk: { latencyMs: prng.pick([0.5, 1, 3]), jitterMs: prng.pick([0, 2, 10]) },
    bugs,
  };
  const enabled = (weight: number): number => (prng.chance(0.75) ? weight * prng.range(1, 3) : 0);
  const dcWeights = dc
    ? { isolateDatacenter: dc.range(1, 3), datacenterLatency: dc.chance(0.75) ? dc.range(1, 3) : 0 }
    : { isolateDatacenter: 0, datacenterLatency: 0 };
  // NB: its own stream, and last among the weights: seeds without slow disks keep every draw.
  const disks = prng.fork('slow-disk');
  const nemesis: NemesisConfig = {
    meanIntervalMs: prng.pick([300, 1000, 3000]),
    weights: {
      crash: enabled(2),
      partition: enabled(1),
      asymmetric: enabled(1),
      weather: enabled(1),
      transfer: enabled(1),
      membership: enabled(1),
      ...dcWeights,
      slowDisk: disks.chance(0.5) ? disks.range(1, 2) : 0,
    },
    deposeRate: prng.pick([0, 0, 0.3, 1]),
    deposeWithinMs: prng.pick([30, 100, 300]),
    maxDown: prng.pick([f, f, f, f + 1, nodeCount]),
    downtimeMs: prng.pick([
      [50, 500],
      [200, 3000],
      [1000, 10000],
    ] as const),
    faultMs: prng.pick([
      [100, 1000],
      [500, 5000],
      [2000, 15000],
    ] as const),
    storm: {
      baseDelayMs,
      jitterMs: Math.max(20, jitterMs * 3),
      dropRate: prng.pick([0.1, 0.2, 0.4]),
      duplicateRate: prng.pick([0.05, 0.2]),
      spikeRate: 0.05,
      spikeMs: prng.range(200, 2000),
    },
    slowDiskMs: [20, 80, 300],
    datacenterMs: [0, 0],
    latencyFactors: [1],
  };
  const workload: WorkloadConfig = {
    clients: prng.range(2, 5),
    keys: ['a', 'b', 'c'].slice(0, prng.range(1, 3)),
    thinkMs: prng.pick([10, 50, 200]),
    timeoutMs: prng.pick([1000, 2000, 4000]),
    linkDelayMs: prng.range(1, 5),
    linkJitterMs: prng.pick([0, 5, 20]),
    linkLossRate: prng.pick([0, 0.01]),
    readRatio: prng.pick([0.3, 0.5]),
    casRatio: prng.pick([0.1, 0.3]),
  };
  // NB: drawn after everything above, so that KV seeds keep the configuration they always had.
  const lock = prng.chance(LOCK_SEED_RATE) ? lockSwarm(prng, cluster.electionTicks * tickMs) : null;
  const flat = hunter ? hunterSwarm(cluster, nemesis, workload, lock) : { cluster, nemesis, workload, lock };
  return dc ? withDatacenters(flat, dc, prioritized && !hunter) : flat;
}

/**
 * hunterSwarm turns a drawn configuration into the "figure 8" hunter's: three nodes, no pre-vote,
 * entries sent one at a time, frequent short crashes, and every new leader deposed within a few
 * round trips. Under these conditions an old term's entry reaches a majority just before its
 * leader disappears (Raft §5.4.2, Figure 8) often enough to test it every run. Tuned by measuring
 * how often the planted `commit-old-term` bug is caught: about one hunter seed in six, against
 * almost never without.
 */
function hunterSwarm(cluster: ClusterConfig, nemesis: NemesisConfig, workload: WorkloadConfig, lock: LockSwarm | null): SwarmOptions {
  return {
    cluster: { ...cluster, nodeCount: 3, priorities: [1, 1, 1], preVote: false, maxEntriesPerMessage: 1, maxInflightMessages: 1 },
    nemesis: {
      ...nemesis,
      meanIntervalMs: 1000,
      weights: { ...nemesis.weights, crash: 6 },
      maxDown: 1,
      downtimeMs: [20, 300],
      deposeRate: 1,
      deposeWithinMs: 100,
    },
    workload,
    lock,
  };
}

/**
 * withDatacenters spreads a drawn configuration's nodes over datacenters: a layout and a latency
 * matrix drawn from `dc` replace the flat base delay and jitter (loss, duplication and spikes
 * stay), ticks follow the node's `wan` profile so that an election timeout is at least ten times
 * the largest round trip, prioritized seeds prefer the first datacenter's voters (the design's
 * datacenter-aware leader preference), and the nemesis holds its datacenter isolations for a
 * while. Storms keep their jitter, on top of the datacenter latency.
 */
function withDatacenters(options: SwarmOptions, dc: Prng, prioritized: boolean): SwarmOptions {
  const { cluster, nemesis } = options;
  const datacenters: DatacenterConfig = drawDatacenters(dc, cluster.nodeCount);
  const electionMs = cluster.electionTicks * WAN_TICK_MS;
  if (electionMs < 10 * maxRttMs(datacenters)) throw new RangeError(`election timeout ${electionMs} ms under ten round trips of ${maxRttMs(datacenters)} ms`);
  const priorities = datacenters.nodeDatacenter.map((d) => (prioritized && d === 0 ? 2 : 1));
  return {
    ...options,
    cluster: {
      ...cluster,
      tickMs: WAN_TICK_MS,
      priorities,
      network: { ...cluster.network, baseDelayMs: 0, jitterMs: 0 },
      datacenters,
    },
    nemesis: {
      ...nemesis,
      storm: { ...nemesis.storm, baseDelayMs: 0 },
      datacenterMs: dc.pick([
        [1000, 5000],
        [3000, 15000],
        [5000, 30000],
      ] as const),
      latencyFactors: [0.5, 2, 4],
    },
  };
}

/**
 * lockSwarm draws a lock seed's clients. Session TTLs are a few election timeouts; lock-delays
 * are rarely 0 (which would leave the lock-delay check nothing to check). Clients lapse and
 * close often enough that every run sees expiries while locks are held and waited for.
 */
function lockSwarm(prng: Prng, electionMs: number): LockSwarm {
  const ttlMs = electionMs * prng.pick([3, 4, 6, 10]);
  const lockDelayChoicesMs = [0, 300, 1000, 2500];
  const workload: LockWorkloadConfig = {
    clients: prng.range(2, 5),
    locks: ['a', 'b', 'c'].slice(0, prng.range(1, 3)),
    ttlMs,
    lockDelayMs: prng.pick([300, 1000, 1000, 2500]),
    lockDelayChoicesMs,
    thinkMs: prng.pick([20, 100, 300]),
    holdMs: prng.pick([50, 300, 1500]),
    timeoutMs: prng.pick([1000, 2000]),
    linkDelayMs: prng.range(1, 5),
    linkJitterMs: prng.pick([0, 5, 20]),
    linkLossRate: prng.pick([0, 0.01]),
    sharedRatio: prng.pick([0, 0.3, 0.6]),
    waitRatio: prng.pick([0.3, 0.7]),
    overrideRatio: prng.pick([0, 0.2]),
    lapseRate: prng.pick([0.02, 0.05, 0.1]),
    closeRate: prng.pick([0.01, 0.03]),
    forceMeanMs: prng.pick([0, 5000, 15000]),
    settingsMeanMs: prng.pick([0, 0, 20000]),
  };
  // Half the lock seeds give every node its own wall clock: running at its tick drift's rate
  // and starting up to a few seconds ahead, so leaders stamp entries with skewed clocks.
  const skewed = prng.chance(0.5);
  return { workload, clockOffsetMaxMs: skewed ? prng.pick([50, 500, 3000]) : 0, clockDrift: skewed };
}

/** describeSwarm is a one-line summary of a configuration, for failure reports. */
export function describeSwarm(options: SwarmOptions): string {
  const c = options.cluster;
  const w = options.nemesis.weights;
  const faults = (Object.keys(w) as (keyof typeof w)[]).filter((k) => w[k] > 0).join('+') || 'none';
  const depose = options.nemesis.deposeRate > 0 ? ` depose=${options.nemesis.deposeRate}@${options.nemesis.deposeWithinMs}ms` : '';
  return (
    `nodes=${c.nodeCount} preVote=${c.preVote} checkQuorum=${c.checkQuorum} hb=${c.heartbeatTicks} ` +
    `batch=${c.maxEntriesPerMessage} inflight=${c.maxInflightMessages} snapEvery=${c.snapshotEvery} defer=${c.deferDrain} ` +
    `prio=[${c.priorities.join(',')}] net=${c.network.baseDelayMs}+${c.network.jitterMs}ms drop=${c.network.dropRate} ` +
    `dup=${c.network.duplicateRate} faults=${faults} every=${options.nemesis.meanIntervalMs}ms${depose} maxDown=${options.nemesis.maxDown} ` +
    (options.lock ? describeLock(options.lock) : `clients=${options.workload.clients} keys=${options.workload.keys.length}`) +
    (c.datacenters ? ` tick=${c.tickMs}ms ${describeDatacenters(c.datacenters)}` : '')
  );
}

function describeLock(lock: LockSwarm): string {
  const w = lock.workload;
  return (
    `locks: clients=${w.clients} names=${w.locks.length} ttl=${w.ttlMs}ms delay=${w.lockDelayMs}ms shared=${w.sharedRatio} wait=${w.waitRatio} ` +
    `lapse=${w.lapseRate} close=${w.closeRate} force=${w.forceMeanMs}ms clock=${lock.clockDrift ? 'drift' : 'exact'}+${lock.clockOffsetMaxMs}ms`
  );
}
