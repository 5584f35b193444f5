// Pure. Swarm derives a whole simulation's shape from one seed, as TigerBeetle's VOPR does in
// swarm mode: cluster size, Raft options, fault probabilities, which faults are on at all, the
// client mix, and which application the cluster replicates (the KV test machine, or the lock
// service's own state machine with lock clients). Different seeds therefore explore different
// corners, not just different dice.

import type { Prng } from '../../../core/util/prng.ts';
import type { BugName } from '../../../core/raft/types.ts';
import type { ClusterConfig } from './cluster.ts';
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

/** TICK_MS is the nominal virtual tick; 10 ticks make an election timeout of 0.5 to 1 s, like a WAN setup. */
export const TICK_MS = 50;

/**
 * swarmOptions draws a configuration from `prng` (a stream dedicated to the swarm, so that a new
 * knob here never shifts the faults or the workload of existing seeds more than it must).
 */
export function swarmOptions(prng: Prng, bugs: ReadonlySet<BugName>): SwarmOptions {
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
  const nemesis: NemesisConfig = {
    meanIntervalMs: prng.pick([300, 1000, 3000]),
    weights: {
      crash: enabled(2),
      partition: enabled(1),
      asymmetric: enabled(1),
      weather: enabled(1),
      transfer: enabled(1),
      membership: enabled(1),
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
  const lock = prng.chance(LOCK_SEED_RATE) ? lockSwarm(prng, cluster.electionTicks * TICK_MS) : null;
  if (hunter) {
    // The "figure 8" hunter: three nodes, no pre-vote, entries sent one at a time, frequent short
    // crashes, and every new leader deposed within a few round trips. Under these conditions an
    // old term's entry reaches a majority just before its leader disappears (Raft §5.4.2, Figure
    // 8) often enough to test it every run. Tuned by measuring how often the planted
    // `commit-old-term` bug is caught: about one hunter seed in six, against almost never without.
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
  return { cluster, nemesis, workload, lock };
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
    (options.lock ? describeLock(options.lock) : `clients=${options.workload.clients} keys=${options.workload.keys.length}`)
  );
}

function describeLock(lock: LockSwarm): string {
  const w = lock.workload;
  return (
    `locks: clients=${w.clients} names=${w.locks.length} ttl=${w.ttlMs}ms delay=${w.lockDelayMs}ms shared=${w.sharedRatio} wait=${w.waitRatio} ` +
    `lapse=${w.lapseRate} close=${w.closeRate} force=${w.forceMeanMs}ms clock=${lock.clockDrift ? 'drift' : 'exact'}+${lock.clockOffsetMaxMs}ms`
  );
}
