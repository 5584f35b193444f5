// Effectful only in virtual time (plus one wall-clock reading for the report). runSeed is one
// whole simulation: a swarm configuration drawn from the seed, a safety phase under faults with
// the safety checker after every event, a liveness phase (heal everything: a leader, then client
// requests must get through), and a final check. KV seeds replicate the KV test machine and end
// with a linearizability check of the client history; lock seeds replicate the production lock
// machine, run lock clients and the leader duties, and check the lock properties after every apply.

import { assert } from '../../core/util/assert.ts';
import { Prng } from '../../core/util/prng.ts';
import type { ApplyResult } from '../../core/lock/lockMachine.ts';
import type { BugName, RaftStatus } from '../../core/raft/types.ts';
import { checkOperations, kvModel } from './checkers/linearizability.ts';
import { LockChecker } from './checkers/locks.ts';
import { SafetyChecker } from './checkers/safety.ts';
import { Cluster, type ClusterHooks, type SimMachine } from './harness/cluster.ts';
import { KvMachine, type KvResult } from './harness/kvMachine.ts';
import { LockNodes, SimLockMachine, type LockCluster } from './harness/lockApp.ts';
import { LockWorkload } from './harness/lockWorkload.ts';
import { Nemesis } from './harness/nemesis.ts';
import { EventKind, SimClock, type SimEvent } from './harness/simClock.ts';
import { describeSwarm, swarmOptions, type LockSwarm, type SwarmOptions } from './harness/swarm.ts';
import { statusLine, TraceHash } from './harness/trace.ts';
import { Workload } from './harness/workload.ts';

/** RunOptions tune one run; everything else comes from the seed. */
export interface RunOptions {
  /** Plant a bug in every node, to prove the checkers catch it. */
  readonly bug?: BugName;
  /** Length of the safety phase in virtual milliseconds. */
  readonly virtualMs?: number;
  /** Step budget of the linearizability search. */
  readonly maxExplored?: number;
  /**
   * Lock seeds: an expiry applied while the session's client was not yet in jeopardy (by its last
   * acknowledged keep-alive, as the SDK counts) is a violation (the default); false only counts it.
   */
  readonly strictJeopardy?: boolean;
  /**
   * true: every seed spreads its nodes over datacenters (with the datacenter draws it would have
   * as a datacenter seed); false: none does; absent: the seed decides (DATACENTER_SEED_RATE).
   */
  readonly datacenters?: boolean;
  /** Receives one status line per event (slow; for debugging a single seed). */
  readonly trace?: (line: string) => void;
}

/** RunResult is what a run reports; `violations` is empty when every check passed. */
export interface RunResult {
  readonly seed: number;
  readonly violations: string[];
  /** Events executed (ticks, deliveries, disk completions, client and fault actions). */
  readonly events: number;
  /** Hash of every event's status line: equal for two runs of one seed, or determinism leaked. */
  readonly traceHash: string;
  /** Virtual time simulated, in milliseconds. */
  readonly virtualMs: number;
  /** Wall-clock time the run took, in milliseconds. */
  readonly wallMs: number;
  /** 'unknown' when the linearizability search ran out of budget; 'skipped' after a safety violation; 'n/a' for lock seeds (no KV history). */
  readonly linearizability: 'ok' | 'violation' | 'unknown' | 'skipped' | 'n/a';
  /** The swarm configuration, in one line. */
  readonly config: string;
  /** Counters for the report. */
  readonly stats: Record<string, number>;
}

/** DEFAULT_VIRTUAL_MS is the safety phase's default length: three virtual minutes. */
export const DEFAULT_VIRTUAL_MS = 180_000;

/** DEFAULT_MAX_EXPLORED bounds the linearizability search per run, so no seed can hang CI. */
export const DEFAULT_MAX_EXPLORED = 500_000;

const KIND_NAMES: Record<number, string> = {
  [EventKind.tick]: 'tick',
  [EventKind.deliver]: 'deliver',
  [EventKind.diskDone]: 'disk',
  [EventKind.client]: 'client',
  [EventKind.nemesis]: 'nemesis',
  [EventKind.phase]: 'phase',
  [EventKind.drain]: 'drain',
};

/**
 * Application is what differs between a KV seed and a lock seed: the replicated state machine,
 * the clients, the application's own checker, and how the liveness phase proves requests still
 * get through. Everything else (cluster, nemesis, Raft safety checker, phases) is shared.
 */
interface Application<R, M extends SimMachine<R>> {
  createMachine(node: number): M;
  /** Hooks for the application, called after the Raft safety checker's. */
  readonly hooks: ClusterHooks;
  start(): void;
  stop(): void;
  finish(): void;
  readonly busy: boolean;
  readonly timeoutMs: number;
  /** After every event, with the status of the node it touched. */
  afterEvent(node: number, status: RaftStatus | null): void;
  /** The application checker's violations so far. */
  readonly violations: readonly string[];
  /** Liveness step 3: requests through the healed cluster (healed at `healedAt`); returns what failed (empty: all went through), or null if a violation stopped the run. */
  probe(healedAt: number, runUntil: RunUntil, budget: ProbeBudget): string[] | null;
  /** After the run: the final check (linearizability for KV seeds). */
  finalCheck(failed: boolean): { linearizability: RunResult['linearizability']; violations: string[] };
  /** Mixes the application's outcome into the trace hash. */
  hash(hash: TraceHash): void;
  stats(): Record<string, number>;
}

type RunUntil = (until: number, done?: () => boolean) => void;

/**
 * ProbeBudget bounds one step of a liveness probe: `ms` after the step started or after
 * replication last made progress, whichever is later, but never past a hard cap. A leader may
 * first have to ship a backlog one entry per round trip (see step 2 of runLiveness).
 */
interface ProbeBudget {
  readonly ms: number;
  /** The deadline, as it stands now, of a step that started at `start`. */
  deadline(start: number): number;
}

/**
 * runSeed runs one seed to completion and reports. It never throws for a bug in the system
 * under test: assertion failures inside Raft, the host or the lock machine become violations,
 * with the seed.
 */
export function runSeed(seed: number, options: RunOptions = {}): RunResult {
  const prng = new Prng(seed);
  const bugs = new Set<BugName>(options.bug ? [options.bug] : []);
  const datacenters = { prng: prng.fork('datacenters'), ...(options.datacenters !== undefined ? { force: options.datacenters } : {}) };
  const swarm = swarmOptions(prng.fork('swarm'), bugs, datacenters);
  const lock = swarm.lock;
  if (lock) return simulate<ApplyResult, SimLockMachine>(seed, options, prng, swarm, (clock, cluster) => lockApplication(clock, prng, cluster, swarm, lock, bugs, options));
  return simulate<KvResult, KvMachine>(seed, options, prng, swarm, (clock, cluster) => kvApplication(clock, prng, cluster, swarm, options));
}

/** simulate is one whole run of an application: safety phase, liveness phase, final checks. */
function simulate<R, M extends SimMachine<R>>(
  seed: number,
  options: RunOptions,
  prng: Prng,
  swarm: SwarmOptions,
  makeApp: (clock: SimClock, cluster: () => Cluster<R, M>) => Application<R, M>,
): RunResult {
  const started = performance.now();
  const virtualMs = options.virtualMs ?? DEFAULT_VIRTUAL_MS;
  const clock = new SimClock();
  const hash = new TraceHash();
  const violations: string[] = [];
  let checker: SafetyChecker | null = null;
  let built: Cluster<R, M> | null = null;
  const app = makeApp(clock, () => {
    assert(built !== null, 'the application used the cluster before it was built');
    return built;
  });
  const cluster = new Cluster<R, M>(clock, prng.fork('cluster'), swarm.cluster, (node) => app.createMachine(node), {
    onApplied: (node, entry, result) => {
      checker?.onApplied(node, entry);
      app.hooks.onApplied?.(node, entry, result);
    },
    onSend: (from, message) => checker?.onSend(from, message),
    onCrash: (node) => {
      checker?.onCrash(node);
      app.hooks.onCrash?.(node);
    },
    onRestart: (node) => {
      checker?.onRestart(node);
      app.hooks.onRestart?.(node);
    },
    onBoot: (node) => app.hooks.onBoot?.(node),
    onTick: (node) => app.hooks.onTick?.(node),
  });
  built = cluster;
  const safety = new SafetyChecker({
    nodeCount: cluster.nodes.length,
    view: (node) => cluster.node(node).host?.raft ?? null,
    durable: (node) => cluster.node(node).storage.durable,
    name: (node) => cluster.node(node).id,
    now: () => clock.now,
  });
  checker = safety;
  const nemesis = new Nemesis(clock, prng.fork('nemesis'), cluster, swarm.nemesis);
  const trace = options.trace;

  let failed = false;
  const afterEvent = (event: SimEvent): void => {
    const status = event.node >= 0 ? cluster.statusOf(event.node) : null;
    if (status?.role === 'leader') nemesis.onNewLeader(event.node, status.term);
    hash.event(event.time, event.kind, event.node, status);
    safety.afterEvent(event.node, status);
    app.afterEvent(event.node, status);
    if (trace) {
      const note = event.kind === EventKind.nemesis ? nemesis.takeNote() : null;
      trace(statusLine(event.time, KIND_NAMES[event.kind] ?? '?', event.node >= 0 ? cluster.node(event.node).id : '-', status) + (note ? `  # ${note}` : ''));
    }
    if (!safety.ok || app.violations.length > 0) failed = true;
  };
  /** runUntil executes events up to `until`, or until `done()` or a violation. */
  const runUntil: RunUntil = (until, done = () => false) => {
    try {
      while (!failed && !done()) {
        const event = clock.step(until);
        if (!event) {
          if (until !== Infinity && clock.now < until) clock.advanceTo(until);
          return;
        }
        afterEvent(event);
      }
    } catch (error) {
      failed = true;
      const err = error instanceof Error ? error : new Error(String(error));
      const where = err.stack?.split('\n').find((line) => line.includes('/core/')) ?? '';
      violations.push(`t=${clock.now.toFixed(1)}ms exception: ${err.name}: ${err.message} ${where.trim()}`);
    }
  };

  // Safety phase: faults on, clients on, checkers after every event.
  cluster.start();
  app.start();
  nemesis.start();
  runUntil(virtualMs);

  // Liveness phase: heal everything and demand progress within bounded virtual time.
  if (!failed) {
    const liveness = runLiveness(clock, cluster, nemesis, app, runUntil, swarm.cluster.electionTicks * swarm.cluster.tickMs);
    violations.push(...liveness);
    if (liveness.length > 0) failed = true;
  }
  app.finish();
  if (!failed) safety.fullCheck(); // The last stretch since the previous periodic comparison.
  violations.unshift(...safety.violations, ...app.violations);
  const final = app.finalCheck(failed || violations.length > 0);
  violations.push(...final.violations);
  app.hash(hash);
  hash.word(violations.length);
  return {
    seed,
    violations,
    events: clock.executed,
    traceHash: hash.value,
    virtualMs: clock.now,
    wallMs: performance.now() - started,
    linearizability: final.linearizability,
    config: describeSwarm(swarm),
    stats: {
      ...app.stats(),
      crashes: cluster.stats.crashes,
      lostWrites: cluster.stats.lostWrites,
      partitions: nemesis.stats.partitions + nemesis.stats.asymmetric,
      transfers: nemesis.stats.transfers,
      membership: nemesis.stats.membership,
      datacenters: cluster.network.datacenters?.count ?? 0,
      datacenterIsolations: nemesis.stats.datacenterIsolations,
      latencyChanges: nemesis.stats.latencyChanges,
      slowDisks: nemesis.stats.slowDisks,
      messages: cluster.network.stats.sent,
      fullChecks: safety.fullChecks,
    },
  };
}

/** kvApplication is the KV test machine with its clients and the linearizability check. */
function kvApplication(clock: SimClock, prng: Prng, cluster: () => Cluster<KvResult, KvMachine>, swarm: SwarmOptions, options: RunOptions): Application<KvResult, KvMachine> {
  let workload: Workload | null = null;
  const get = (): Workload => (workload ??= new Workload(clock, prng.fork('workload'), cluster(), swarm.workload));
  return {
    createMachine: () => new KvMachine(),
    hooks: {},
    start: () => get().start(),
    stop: () => get().stop(),
    finish: () => get().finish(),
    get busy() {
      return get().busy;
    },
    get timeoutMs() {
      return get().timeoutMs;
    },
    afterEvent: () => {},
    violations: [],
    probe: (_healedAt, runUntil, budget) => {
      // One acknowledged write per key, then one linearizable read per key.
      const w = get();
      for (const op of ['put', 'get'] as const) {
        const start = clock.now;
        let pending = w.keys.length;
        const missed: string[] = [];
        for (const key of w.keys) {
          const input = op === 'put' ? ({ op, key, value: '' } as const) : ({ op, key } as const);
          w.probe(input, () => budget.deadline(start), (output) => {
            pending--;
            if (output === null) missed.push(key);
          });
        }
        runUntil(Infinity, () => pending === 0);
        if (pending > 0) return null; // Stopped by a safety violation.
        if (missed.length > 0) return [`${op} of key(s) ${missed.join(',')} not acknowledged within ${budget.ms.toFixed(0)} ms of the last replication progress`];
      }
      return [];
    },
    finalCheck: (failed) => {
      if (failed) return { linearizability: 'skipped', violations: [] };
      const verdict = checkOperations(kvModel, get().history, { maxExplored: options.maxExplored ?? DEFAULT_MAX_EXPLORED });
      if (verdict.ok === true) return { linearizability: 'ok', violations: [] };
      if (verdict.ok === 'unknown') return { linearizability: 'unknown', violations: [] };
      return { linearizability: 'violation', violations: [`linearizability: ${verdict.explanation.split('\n').slice(0, 12).join(' | ')}`] };
    },
    hash: (hash) => hash.word(get().history.length),
    stats: () => ({ ops: get().history.length, acked: get().stats.ok, unknown: get().stats.unknown }),
  };
}

/**
 * lockApplication is the production lock machine on every node, the leader duties and client
 * handling around it (LockNodes), the lock clients and operator (LockWorkload), and the lock
 * checker after every applied entry.
 */
function lockApplication(
  clock: SimClock,
  prng: Prng,
  cluster: () => LockCluster,
  swarm: SwarmOptions,
  lock: LockSwarm,
  bugs: ReadonlySet<BugName>,
  options: RunOptions,
): Application<ApplyResult, SimLockMachine> {
  const drift = prng.fork('clocks');
  const n = swarm.cluster.nodeCount;
  const checker = new LockChecker({
    nodeCount: n,
    strictJeopardy: options.strictJeopardy !== false,
    machine: (node) => cluster().node(node).machine?.machine ?? null,
    name: (node) => cluster().node(node).id,
    now: () => clock.now,
  });
  let parts: { nodes: LockNodes; workload: LockWorkload } | null = null;
  const get = (): { nodes: LockNodes; workload: LockWorkload } => {
    if (parts) return parts;
    const c = cluster();
    const clocks = {
      rates: c.nodes.map((node) => (lock.clockDrift ? c.config.tickMs / node.tickMs : 1)),
      offsetsMs: c.nodes.map(() => drift.next() * lock.clockOffsetMaxMs),
    };
    const nodes = new LockNodes(clock, c, clocks, checker, bugs);
    parts = { nodes, workload: new LockWorkload(clock, prng.fork('locks'), c, nodes, lock.workload, checker) };
    return parts;
  };
  return {
    createMachine: (node) => new SimLockMachine(bugs, () => checker.onRestore(node)),
    hooks: {
      onBoot: (node) => {
        get().nodes.onBoot(node);
        checker.onBoot(node);
      },
      onCrash: (node) => {
        get().nodes.onCrash(node);
        checker.onCrash(node);
      },
      onTick: (node) => get().nodes.onTick(node),
      onApplied: (node, entry, result) => {
        checker.onApplied(node, entry, result);
        get().nodes.onApplied(node, result);
      },
    },
    start: () => get().workload.start(),
    stop: () => get().workload.stop(),
    finish: () => get().workload.finish(),
    get busy() {
      return get().workload.busy;
    },
    get timeoutMs() {
      return get().workload.timeoutMs;
    },
    afterEvent: (node, status) => {
      if (status?.role === 'leader') checker.leading(node, status.term, get().nodes.localNow(node));
    },
    violations: checker.violations,
    probe: (healedAt, runUntil, budget) => {
      let result: string | null | undefined;
      const start = clock.now;
      get().workload.probe(healedAt, () => budget.deadline(start), (failure) => (result = failure));
      runUntil(Infinity, () => result !== undefined);
      if (result === undefined) return null; // Stopped by a safety violation.
      return result === null ? [] : [result];
    },
    finalCheck: () => ({ linearizability: 'n/a', violations: [] }),
    hash: (hash) => {
      const { workload, nodes } = get();
      for (const value of [...Object.values(workload.stats), ...Object.values(checker.stats), ...Object.values(nodes.stats)]) hash.word(value);
    },
    stats: () => {
      const { workload, nodes } = get();
      return {
        lockRequests: workload.stats.requests,
        unknown: workload.stats.unknown,
        sessions: workload.stats.sessionsOpened,
        lapses: workload.stats.lapses,
        grants: checker.stats.grants,
        expiries: checker.stats.expiries,
        duplicateExpiries: checker.stats.duplicateExpiries,
        expiryReleases: checker.stats.expiryReleases,
        delayChecks: checker.stats.delayChecks,
        forced: checker.stats.forcedReleases,
        keepAlives: nodes.stats.keepAlives,
        falseSessionNotFound: checker.stats.falseSessionNotFound,
        expiredOutOfJeopardy: checker.stats.expiredOutOfJeopardy,
      };
    },
  };
}

/**
 * runLiveness heals every fault and then requires, each within a bounded number of election
 * timeouts: a leader; full membership restored; an acknowledged write and a linearizable read
 * of every key (recorded in the history, so the linearizability check covers them); and every
 * member's state machine converging to the same state. Returns the liveness violations.
 */
function runLiveness<R, M extends SimMachine<R>>(
  clock: SimClock,
  cluster: Cluster<R, M>,
  nemesis: Nemesis<R, M>,
  workload: Application<R, M>,
  runUntil: RunUntil,
  electionMs: number,
): string[] {
  const violations: string[] = [];
  const fail = (message: string): void => {
    violations.push(`t=${clock.now.toFixed(1)}ms liveness: ${message}`);
  };
  const priorities = cluster.config.priorities;
  const timeoutMs = electionMs * (1 + Math.max(...priorities) - Math.min(...priorities));
  nemesis.stop();
  workload.stop();
  nemesis.healAll();
  const healedAt = clock.now;
  let done = false;
  const poll = (every: number, check: () => boolean): void => {
    done = false;
    const step = (): void => {
      if (check()) done = true;
      else clock.schedule(every, EventKind.phase, -1, step);
    };
    clock.schedule(0, EventKind.phase, -1, step);
  };

  // 1. A leader that is a voter in its own configuration and current: no running voter of that
  // configuration is in a higher term. (A removed node may campaign in ever higher terms on its
  // own; check-quorum's lease keeps it from disturbing the members until it is added back.)
  const validLeader = (): boolean => {
    const status = cluster.leader()?.host?.status();
    if (!status || !status.membership.voters.includes(status.id)) return false;
    return status.membership.voters.every((id) => (cluster.statusOf(cluster.indexOf(id))?.term ?? 0) <= status.term);
  };
  const electionDeadline = healedAt + 10 * timeoutMs;
  poll(cluster.config.tickMs, validLeader);
  runUntil(electionDeadline, () => done);
  if (!done) {
    fail(`no leader within 10 election timeouts (${(10 * timeoutMs).toFixed(0)} ms) after healing; ${describeRoles(cluster)}`);
    return violations;
  }

  // 2. Every node back as a voter, one change at a time through the leader. A leader may first
  // have to ship a long backlog (entries proposed while it could not commit) one entry per round
  // trip, so the bound is on progress, as in step 4: replication (commit indexes, and the
  // leader's match indexes) must advance at least once every 20 election timeouts.
  const membershipStarted = clock.now;
  let lastProposal = -Infinity;
  /** restoreMembership proposes the next step back to full membership; true once every node votes. */
  const restoreMembership = (): boolean => {
    const status = cluster.leader()?.host?.status();
    if (!status) return false;
    const missing = cluster.ids.filter((id) => !status.membership.voters.includes(id));
    if (missing.length === 0) return true;
    if (clock.now - lastProposal >= electionMs) {
      lastProposal = clock.now;
      const learner = status.membership.learners[0];
      const node = missing[0];
      if (learner !== undefined) cluster.proposeConfChange({ type: 'promoteLearner', node: learner });
      else if (node !== undefined) cluster.proposeConfChange({ type: 'addLearner', node });
    }
    return false;
  };
  let replicated = -1;
  let replicatedAt = clock.now;
  let membershipStalled = false;
  poll(cluster.config.tickMs, () => {
    if (restoreMembership()) return true;
    const progress = replicationProgress(cluster);
    if (progress > replicated) {
      replicated = progress;
      replicatedAt = clock.now;
    } else if (clock.now - replicatedAt > 20 * timeoutMs || clock.now - membershipStarted > 600 * timeoutMs) {
      membershipStalled = true;
      return true;
    }
    return false;
  });
  runUntil(Infinity, () => done);
  if (!done) return violations; // Stopped by a safety violation.
  if (membershipStalled) {
    fail(`membership not restored, and replication made no progress for 20 election timeouts; ${describeRoles(cluster)}`);
    return violations;
  }

  // 3. Requests get through: for KV seeds one acknowledged write and one linearizable read per
  // key; for lock seeds a session, a lock taken and released, the session closed, and a
  // keep-alive answered for every live client session. Each step has 20 election timeouts (plus
  // client timeouts) from its start or from the last replication progress, within 200 in all:
  // a leader that must first ship a backlog one entry per round trip gets the time it needs.
  const clientBudget = 20 * timeoutMs + 4 * workload.timeoutMs;
  const probeCap = clock.now + 200 * timeoutMs;
  let replicatedNow = replicationProgress(cluster);
  let replicatedLast = clock.now;
  let probing = true;
  const watchReplication = (): void => {
    if (!probing) return;
    const progress = replicationProgress(cluster);
    if (progress > replicatedNow) {
      replicatedNow = progress;
      replicatedLast = clock.now;
    }
    clock.schedule(cluster.config.tickMs, EventKind.phase, -1, watchReplication);
  };
  watchReplication();
  const budget: ProbeBudget = { ms: clientBudget, deadline: (start) => Math.min(probeCap, Math.max(start, replicatedLast) + clientBudget) };
  const missed = workload.probe(healedAt, runUntil, budget);
  probing = false;
  if (missed === null) return violations; // Stopped by a safety violation.
  if (missed.length > 0) {
    fail(`${missed.join('; ')}; ${describeRoles(cluster)}`);
    return violations;
  }

  // 4. Every node converges to the leader's commit index and the same state. A removal proposed
  // during the safety phase may commit only now (a later leader can hold it uncommitted), so
  // membership is restored again where needed. A node far behind may need a while to catch up
  // (one entry per round trip with the smallest batches), so the bound is on progress: some
  // node's applied index must grow at least once every 20 election timeouts.
  const convergeStarted = clock.now;
  let progress = -1;
  let progressAt = clock.now;
  let stalled = false;
  poll(cluster.config.tickMs, () => {
    const applied = cluster.nodes.reduce((sum, node) => sum + (node.host?.applied ?? 0), 0);
    if (applied > progress) {
      progress = applied;
      progressAt = clock.now;
    } else if (clock.now - progressAt > 20 * timeoutMs || clock.now - convergeStarted > 600 * timeoutMs) {
      stalled = true;
      return true;
    }
    if (!restoreMembership()) return false;
    const status = cluster.leader()?.host?.status();
    if (!status) return false;
    return cluster.nodes.every((node) => node.host !== null && node.host.applied === status.commitIndex && node.host.status().commitIndex === status.commitIndex);
  });
  runUntil(Infinity, () => done);
  if (!done) return violations; // Stopped by a safety violation.
  if (stalled) {
    fail(`members stopped converging (no progress for 20 election timeouts); ${describeRoles(cluster)}`);
    return violations;
  }
  const digests = new Set(cluster.nodes.map((node) => node.machine?.digest()));
  if (digests.size !== 1) fail(`replicas applied the same index but hold different states: ${[...digests].join(' vs ')}`);
  // Let the regular clients' last requests settle or time out before the history is checked.
  runUntil(clock.now + workload.timeoutMs + 1, () => !workload.busy);
  return violations;
}

/** replicationProgress grows while replication does: every node's commit index plus the leader's match indexes. */
function replicationProgress<R, M extends SimMachine<R>>(cluster: Cluster<R, M>): number {
  let sum = 0;
  for (const node of cluster.nodes) {
    const status = node.host?.status();
    if (!status) continue;
    sum += status.commitIndex;
    if (status.role === 'leader') for (const pr of status.progress.values()) sum += pr.matchIndex;
  }
  return sum;
}

function describeRoles<R, M extends SimMachine<R>>(cluster: Cluster<R, M>): string {
  return cluster.nodes
    .map((node) => {
      const status = node.host?.status();
      if (!status) return `${node.id}:down`;
      return `${node.id}:${status.role}/t${status.term}/c${status.commitIndex}/a${status.appliedIndex}/l${status.lastIndex}/v[${status.membership.voters.join(',')}]`;
    })
    .join(' ');
}
