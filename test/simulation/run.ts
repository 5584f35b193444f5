// Effectful only in virtual time (plus one wall-clock reading for the report). runSeed is one
// whole simulation: a swarm configuration drawn from the seed, a safety phase under faults with
// the safety checker after every event, a liveness phase (heal everything: a leader, then writes
// and linearizable reads must get through), and a linearizability check of the client history.

import { Prng } from '../../core/util/prng.ts';
import type { BugName } from '../../core/raft/types.ts';
import { checkOperations, kvModel } from './checkers/linearizability.ts';
import { SafetyChecker } from './checkers/safety.ts';
import { Cluster } from './harness/cluster.ts';
import { Nemesis } from './harness/nemesis.ts';
import { EventKind, SimClock, type SimEvent } from './harness/simClock.ts';
import { describeSwarm, swarmOptions } from './harness/swarm.ts';
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
  /** 'unknown' when the linearizability search ran out of budget; 'skipped' after a safety violation. */
  readonly linearizability: 'ok' | 'violation' | 'unknown' | 'skipped';
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
 * runSeed runs one seed to completion and reports. It never throws for a bug in the system
 * under test: assertion failures inside Raft or the host become violations, with the seed.
 */
export function runSeed(seed: number, options: RunOptions = {}): RunResult {
  const started = performance.now();
  const virtualMs = options.virtualMs ?? DEFAULT_VIRTUAL_MS;
  const prng = new Prng(seed);
  const bugs = new Set<BugName>(options.bug ? [options.bug] : []);
  const swarm = swarmOptions(prng.fork('swarm'), bugs);
  const clock = new SimClock();
  const hash = new TraceHash();
  const violations: string[] = [];
  let checker: SafetyChecker | null = null;
  const cluster = new Cluster(clock, prng.fork('cluster'), swarm.cluster, {
    onApplied: (node, entry) => checker?.onApplied(node, entry),
    onSend: (from, message) => checker?.onSend(from, message),
    onCrash: (node) => checker?.onCrash(node),
    onRestart: (node) => checker?.onRestart(node),
  });
  const safety = new SafetyChecker({
    nodeCount: cluster.nodes.length,
    view: (node) => cluster.node(node).host?.raft ?? null,
    durable: (node) => cluster.node(node).storage.durable,
    name: (node) => cluster.node(node).id,
    now: () => clock.now,
  });
  checker = safety;
  const workload = new Workload(clock, prng.fork('workload'), cluster, swarm.workload);
  const nemesis = new Nemesis(clock, prng.fork('nemesis'), cluster, swarm.nemesis);
  const trace = options.trace;

  let failed = false;
  const afterEvent = (event: SimEvent): void => {
    const status = event.node >= 0 ? cluster.statusOf(event.node) : null;
    if (status?.role === 'leader') nemesis.onNewLeader(event.node, status.term);
    hash.event(event.time, event.kind, event.node, status);
    safety.afterEvent(event.node, status);
    if (trace) trace(statusLine(event.time, KIND_NAMES[event.kind] ?? '?', event.node >= 0 ? cluster.node(event.node).id : '-', status));
    if (!safety.ok) failed = true;
  };
  /** runUntil executes events up to `until`, or until `done()` or a violation. */
  const runUntil = (until: number, done: () => boolean = () => false): void => {
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
  workload.start();
  nemesis.start();
  runUntil(virtualMs);

  // Liveness phase: heal everything and demand progress within bounded virtual time.
  let linearizability: RunResult['linearizability'] = 'skipped';
  if (!failed) {
    const liveness = runLiveness(clock, cluster, nemesis, workload, runUntil, swarm.cluster.electionTicks * swarm.cluster.tickMs);
    violations.push(...liveness);
    if (liveness.length > 0) failed = true;
  }
  workload.finish();
  if (!failed) safety.fullCheck(); // The last stretch since the previous periodic comparison.
  violations.unshift(...safety.violations);
  if (!failed && violations.length === 0) {
    const verdict = checkOperations(kvModel, workload.history, { maxExplored: options.maxExplored ?? DEFAULT_MAX_EXPLORED });
    if (verdict.ok === true) linearizability = 'ok';
    else if (verdict.ok === 'unknown') linearizability = 'unknown';
    else {
      linearizability = 'violation';
      violations.push(`linearizability: ${verdict.explanation.split('\n').slice(0, 12).join(' | ')}`);
    }
  }
  hash.word(workload.history.length);
  hash.word(violations.length);
  return {
    seed,
    violations,
    events: clock.executed,
    traceHash: hash.value,
    virtualMs: clock.now,
    wallMs: performance.now() - started,
    linearizability,
    config: describeSwarm(swarm),
    stats: {
      ops: workload.history.length,
      acked: workload.stats.ok,
      unknown: workload.stats.unknown,
      crashes: cluster.stats.crashes,
      lostWrites: cluster.stats.lostWrites,
      partitions: nemesis.stats.partitions + nemesis.stats.asymmetric,
      transfers: nemesis.stats.transfers,
      membership: nemesis.stats.membership,
      messages: cluster.network.stats.sent,
      fullChecks: safety.fullChecks,
    },
  };
}

/**
 * runLiveness heals every fault and then requires, each within a bounded number of election
 * timeouts: a leader; full membership restored; an acknowledged write and a linearizable read
 * of every key (recorded in the history, so the linearizability check covers them); and every
 * member's state machine converging to the same state. Returns the liveness violations.
 */
function runLiveness(
  clock: SimClock,
  cluster: Cluster,
  nemesis: Nemesis,
  workload: Workload,
  runUntil: (until: number, done?: () => boolean) => void,
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

  // 2. Every node back as a voter, one change at a time through the leader.
  const membershipDeadline = clock.now + 20 * timeoutMs;
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
  poll(cluster.config.tickMs, restoreMembership);
  runUntil(membershipDeadline, () => done);
  if (!done) {
    fail(`membership not restored within 20 election timeouts; ${describeRoles(cluster)}`);
    return violations;
  }

  // 3. One acknowledged write per key, then one linearizable read per key.
  const clientBudget = 20 * timeoutMs + 4 * workload.timeoutMs;
  for (const op of ['put', 'get'] as const) {
    const deadline = clock.now + clientBudget;
    let pending = workload.keys.length;
    const missed: string[] = [];
    for (const key of workload.keys) {
      const input = op === 'put' ? ({ op, key, value: '' } as const) : ({ op, key } as const);
      workload.probe(input, deadline, (output) => {
        pending--;
        if (output === null) missed.push(key);
      });
    }
    runUntil(Infinity, () => pending === 0);
    if (pending > 0) return violations; // Stopped by a safety violation.
    if (missed.length > 0) {
      fail(`${op} of key(s) ${missed.join(',')} not acknowledged within ${clientBudget.toFixed(0)} ms; ${describeRoles(cluster)}`);
      return violations;
    }
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

function describeRoles(cluster: Cluster): string {
  return cluster.nodes
    .map((node) => {
      const status = node.host?.status();
      if (!status) return `${node.id}:down`;
      return `${node.id}:${status.role}/t${status.term}/c${status.commitIndex}/a${status.appliedIndex}/l${status.lastIndex}/v[${status.membership.voters.join(',')}]`;
    })
    .join(' ');
}
