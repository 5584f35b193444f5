// Effectful only in virtual time. Cluster runs real NodeHosts (the production driver around the
// production RaftNode) on simulated disks and a simulated network, ticks each node on its own
// slightly drifting virtual clock, and offers the fault primitives the nemesis and the liveness
// phase use: crash, restart, membership changes and leadership transfers. The replicated
// application is a parameter: the KV test machine, or the production lock machine.

import { assert } from '../../../core/util/assert.ts';
import type { Prng } from '../../../core/util/prng.ts';
import { COMMIT_HOLD_MS, NodeHost, type ProposalOutcome } from '../../../core/node/nodeHost.ts';
import { nodeId } from '../../../core/raft/types.ts';
import type { BugName, ConfChange, Entry, Membership, Message, NodeId, RaftConfig, RaftStatus } from '../../../core/raft/types.ts';
import type { StateMachine } from '../../../core/node/ports.ts';
import { Datacenters, type DatacenterConfig } from './datacenters.ts';
import { EventKind, type SimClock, type SimEvent } from './simClock.ts';
import { SimNetwork, type NetworkFaults } from './simNetwork.ts';
import { SimStorage, type DiskFaults } from './simStorage.ts';

/** ClusterConfig is the shape of one simulated cluster; the swarm derives it from the seed. */
export interface ClusterConfig {
  readonly nodeCount: number;
  /** Virtual milliseconds per tick, before drift. */
  readonly tickMs: number;
  /** Each node's tick length is tickMs * (1 + d) with d uniform in [-tickDrift, tickDrift]. */
  readonly tickDrift: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly maxEntriesPerMessage: number;
  readonly maxInflightMessages: number;
  /** Election priority per node (index order); maxPriority is their maximum. */
  readonly priorities: readonly number[];
  readonly snapshotEvery: number;
  /**
   * Defer each host's Ready loop to the end of the current instant, as production does with
   * setImmediate, so that work arriving together is persisted and sent together; and hold a
   * leader's commit-only appends back for COMMIT_HOLD_MS, as production does.
   */
  readonly deferDrain: boolean;
  readonly network: NetworkFaults;
  /** Datacenter seeds: which datacenter each node is in and the latency between datacenters; absent or null for one flat network. */
  readonly datacenters?: DatacenterConfig | null;
  readonly disk: DiskFaults;
  readonly bugs: ReadonlySet<BugName>;
}

/**
 * SimMachine is a replicated application the simulator can run: a StateMachine that can also
 * render its state canonically, so that the liveness phase can compare converged replicas.
 */
export interface SimMachine<Result> extends StateMachine<Result> {
  digest(): string;
}

/** ClusterHooks let checkers and applications observe the cluster without the cluster knowing about them. */
export interface ClusterHooks {
  /** Every committed entry a node applies, in order, including re-applies after a restart; `result` is the machine's answer for commands. */
  onApplied?(node: number, entry: Entry, result: unknown): void;
  /** Every message a node hands to its transport, before the network can lose it. */
  onSend?(from: number, message: Message): void;
  onCrash?(node: number): void;
  onRestart?(node: number): void;
  /** A node booted (first start or restart): its host exists and its machine holds the restored snapshot. */
  onBoot?(node: number): void;
  /** A node ticked (after host.tick()): where an application runs its per-tick work, as a production node does. */
  onTick?(node: number): void;
}

/** SimNode is one member: a disk that survives crashes and, while it runs, a host and its state machine. */
export interface SimNode<R, M extends SimMachine<R>> {
  readonly index: number;
  readonly id: NodeId;
  readonly storage: SimStorage;
  /** Virtual milliseconds per tick on this node (clock drift). */
  readonly tickMs: number;
  host: NodeHost<R> | null;
  machine: M | null;
  incarnation: number;
  tickEvent: SimEvent | null;
}

/** ClusterStats counts faults injected, for the run report. */
export interface ClusterStats {
  crashes: number;
  restarts: number;
  lostWrites: number;
  confChanges: number;
  transfers: number;
}

/**
 * Cluster owns the simulated members. It never decides what fault to inject (the nemesis does)
 * and never judges what happened (the checkers do).
 */
export class Cluster<R, M extends SimMachine<R>> {
  readonly nodes: readonly SimNode<R, M>[];
  readonly ids: readonly NodeId[];
  readonly network: SimNetwork;
  readonly config: ClusterConfig;
  readonly stats: ClusterStats = { crashes: 0, restarts: 0, lostWrites: 0, confChanges: 0, transfers: 0 };
  private readonly clock: SimClock;
  private readonly prng: Prng;
  private readonly hooks: ClusterHooks;
  private readonly maxPriority: number;
  private readonly createMachine: (node: number) => M;

  /** `createMachine` makes a node's fresh, empty state machine at every boot (a restart forgets memory). */
  constructor(clock: SimClock, prng: Prng, config: ClusterConfig, createMachine: (node: number) => M, hooks: ClusterHooks = {}) {
    assert(config.nodeCount >= 1 && config.nodeCount <= 9, `bad node count ${config.nodeCount}`);
    assert(config.priorities.length === config.nodeCount, 'one priority per node');
    this.clock = clock;
    this.prng = prng;
    this.config = config;
    this.hooks = hooks;
    this.createMachine = createMachine;
    this.maxPriority = Math.max(...config.priorities);
    const ids = Array.from({ length: config.nodeCount }, (_, i) => nodeId(`n${i + 1}`));
    this.ids = ids;
    const bootstrap: Membership = { voters: ids.slice().sort(), learners: [] };
    const datacenters = config.datacenters ? new Datacenters(config.datacenters) : null;
    this.network = new SimNetwork(clock, prng.fork('network'), ids, config.network, (to, message) => this.deliver(to, message), datacenters);
    const drift = prng.fork('drift');
    this.nodes = ids.map((id, index) => ({
      index,
      id,
      storage: new SimStorage(clock, prng.fork(`disk/${id}`), index, bootstrap, config.disk),
      tickMs: config.tickMs * (1 + (drift.next() * 2 - 1) * config.tickDrift),
      host: null,
      machine: null,
      incarnation: 0,
      tickEvent: null,
    }));
  }

  /** start boots every node. */
  start(): void {
    for (const node of this.nodes) this.boot(node);
  }

  /** node returns the member at `index`. */
  node(index: number): SimNode<R, M> {
    const node = this.nodes[index];
    assert(node !== undefined, `no node ${index}`);
    return node;
  }

  /** indexOf maps a node id to its index. */
  indexOf(id: NodeId): number {
    return this.network.indexOf(id);
  }

  /** isUp says whether the node at `index` is running. */
  isUp(index: number): boolean {
    return this.node(index).host !== null;
  }

  /** upCount is the number of running nodes. */
  upCount(): number {
    let count = 0;
    for (const node of this.nodes) if (node.host) count++;
    return count;
  }

  /**
   * leader returns the running node that believes it leads in the highest term, if any. Stale
   * leaders in lower terms may coexist briefly; callers want the freshest.
   */
  leader(): SimNode<R, M> | undefined {
    let best: SimNode<R, M> | undefined;
    let bestTerm = -1;
    for (const node of this.nodes) {
      if (!node.host) continue;
      const status = node.host.status();
      if (status.role === 'leader' && status.term > bestTerm) {
        best = node;
        bestTerm = status.term;
      }
    }
    return best;
  }

  /** maxTerm is the highest term among running nodes. */
  maxTerm(): number {
    let term = 0;
    for (const node of this.nodes) if (node.host) term = Math.max(term, node.host.status().term);
    return term;
  }

  /**
   * crash stops a node at once: its host goes inert, in-flight disk writes are lost, and its
   * pending client requests never answer.
   */
  crash(index: number): void {
    const node = this.node(index);
    assert(node.host !== null, `crash of ${node.id}, which is down`);
    node.host.stop();
    this.stats.lostWrites += node.storage.crash();
    this.clock.cancel(node.tickEvent);
    node.tickEvent = null;
    node.host = null;
    node.machine = null;
    this.stats.crashes++;
    this.hooks.onCrash?.(index);
  }

  /** restart boots a crashed node from its durable disk image with a fresh, empty state machine. */
  restart(index: number): void {
    const node = this.node(index);
    assert(node.host === null, `restart of ${node.id}, which is up`);
    node.incarnation++;
    this.boot(node);
    this.stats.restarts++;
    this.hooks.onRestart?.(index);
  }

  /** proposeConfChange proposes a membership change through the current leader, if there is one. */
  proposeConfChange(change: ConfChange, callback: (outcome: ProposalOutcome<R>) => void = () => {}): boolean {
    const leader = this.leader();
    if (!leader?.host) return false;
    leader.host.proposeConfChange(change, callback);
    this.stats.confChanges++;
    return true;
  }

  /** transferLeadership asks the current leader to hand over to the node at `to`. */
  transferLeadership(to: number): boolean {
    const leader = this.leader();
    if (!leader?.host || leader.index === to) return false;
    const ok = leader.host.transferLeadership(this.node(to).id);
    if (ok) this.stats.transfers++;
    return ok;
  }

  /** statusOf returns a running node's Raft status, or null when it is down. */
  statusOf(index: number): RaftStatus | null {
    return this.node(index).host?.status() ?? null;
  }

  private boot(node: SimNode<R, M>): void {
    const config: RaftConfig = {
      id: node.id,
      electionTicks: this.config.electionTicks,
      heartbeatTicks: this.config.heartbeatTicks,
      priority: this.config.priorities[node.index] ?? 1,
      maxPriority: this.maxPriority,
      preVote: this.config.preVote,
      checkQuorum: this.config.checkQuorum,
      maxEntriesPerMessage: this.config.maxEntriesPerMessage,
      maxInflightMessages: this.config.maxInflightMessages,
      bugs: this.config.bugs,
    };
    const machine = this.createMachine(node.index);
    const index = node.index;
    const network = this.network;
    const hooks = this.hooks;
    node.machine = machine;
    node.host = new NodeHost<R>({
      config,
      storage: node.storage,
      transport: {
        send(messages) {
          if (hooks.onSend) for (const message of messages) hooks.onSend(index, message);
          network.send(index, messages);
        },
      },
      stateMachine: machine,
      random: this.prng.fork(`raft/${node.id}/${node.incarnation}`),
      snapshotEvery: this.config.snapshotEvery,
      // Deferred drains and held commit-only appends go together: both are what `warden node` does.
      ...(this.config.deferDrain
        ? {
            schedule: (run: () => void) => void this.clock.schedule(0, EventKind.drain, index, run),
            holdCommitOnly: (release: () => void) => {
              const event = this.clock.schedule(COMMIT_HOLD_MS, EventKind.hold, index, release);
              return () => this.clock.cancel(event);
            },
          }
        : {}),
      onApplied: hooks.onApplied ? (entry, result) => hooks.onApplied?.(index, entry, result) : undefined,
    });
    hooks.onBoot?.(index);
    // A random phase, so that the nodes' ticks interleave differently in every run.
    this.scheduleTick(node, this.prng.next() * node.tickMs);
  }

  private scheduleTick(node: SimNode<R, M>, delayMs: number): void {
    node.tickEvent = this.clock.schedule(delayMs, EventKind.tick, node.index, () => {
      node.tickEvent = null;
      if (!node.host) return;
      this.scheduleTick(node, node.tickMs);
      node.host.tick();
      if (node.host) this.hooks.onTick?.(node.index);
    });
  }

  private deliver(to: number, message: Message): void {
    this.nodes[to]?.host?.receive(message);
  }
}
