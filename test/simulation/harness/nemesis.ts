// Effectful only in virtual time. Nemesis is the safety phase's fault schedule: at seeded random
// moments it crashes and restarts nodes, cuts the network symmetrically or one way, changes the
// packet weather, transfers leadership, walks members through remove → learner → voter, and on
// datacenter seeds isolates whole datacenters and changes the latency between two of them, and
// makes one node's disk slow for a while.

import type { Prng } from '../../../core/util/prng.ts';
import type { Cluster, SimMachine } from './cluster.ts';
import { EventKind, type SimClock } from './simClock.ts';
import type { NetworkFaults } from './simNetwork.ts';

/** NemesisConfig is the fault mix; the swarm derives it from the seed (some faults off entirely). */
export interface NemesisConfig {
  /** Mean virtual time between fault actions (exponentially distributed). */
  readonly meanIntervalMs: number;
  /** Relative weights of the actions; 0 disables one. */
  readonly weights: {
    readonly crash: number;
    readonly partition: number;
    readonly asymmetric: number;
    readonly weather: number;
    readonly transfer: number;
    readonly membership: number;
    /** Cut every link between one datacenter and the rest (datacenter seeds only; 0 otherwise). */
    readonly isolateDatacenter: number;
    /** Change the one-way latency between two datacenters for a while (datacenter seeds only; 0 otherwise). */
    readonly datacenterLatency: number;
    /** Make one node's saves slow (each takes one of `slowDiskMs`, plus up to half as much again) for a `faultMs` while. */
    readonly slowDisk: number;
  };
  /**
   * Probability that a newly elected leader is deposed (crashed or cut off) within a few
   * round trips of its election: this is what opens the narrow windows of Raft §5.4.2 (Figure 8).
   */
  readonly deposeRate: number;
  /** A deposition happens a uniform time in [0, deposeWithinMs) after the election is noticed. */
  readonly deposeWithinMs: number;
  /** At most this many nodes are down at once. */
  readonly maxDown: number;
  /** A crashed node stays down for a uniform time in [lo, hi]. */
  readonly downtimeMs: readonly [number, number];
  /** A partition or a weather change lasts a uniform time in [lo, hi]. */
  readonly faultMs: readonly [number, number];
  /** Bad weather: the packet faults used while a weather action lasts. */
  readonly storm: NetworkFaults;
  /** A datacenter stays isolated for a uniform time in [lo, hi] (unless another heal comes first). */
  readonly datacenterMs: readonly [number, number];
  /** A changed datacenter latency is the drawn one times one of these factors, for a `faultMs` while. */
  readonly latencyFactors: readonly number[];
  /** The save latencies a slow disk picks from, in ms (a disk under another tenant's load, a failing one). */
  readonly slowDiskMs: readonly number[];
}

/** NemesisStats counts actions taken, for the run report. */
export interface NemesisStats {
  crashes: number;
  partitions: number;
  asymmetric: number;
  storms: number;
  transfers: number;
  membership: number;
  depositions: number;
  datacenterIsolations: number;
  latencyChanges: number;
  slowDisks: number;
}

type Action = keyof NemesisConfig['weights'];

/**
 * Nemesis injects faults until stopped. It only uses what the cluster exposes, so every fault
 * it can cause is one a real deployment can suffer.
 */
export class Nemesis<R, M extends SimMachine<R>> {
  readonly stats: NemesisStats = {
    crashes: 0,
    partitions: 0,
    asymmetric: 0,
    storms: 0,
    transfers: 0,
    membership: 0,
    depositions: 0,
    datacenterIsolations: 0,
    latencyChanges: 0,
    slowDisks: 0,
  };
  private readonly clock: SimClock;
  private readonly prng: Prng;
  private readonly cluster: Cluster<R, M>;
  private readonly config: NemesisConfig;
  private readonly calm: NetworkFaults;
  private running = false;
  private stormUntil = 0;
  private lastLeaderTerm = 0;
  /** Per datacenter pair ("a-b"), how many latency changes it has seen, so an old change's restore does not undo a newer one. */
  private readonly latencyVersions = new Map<string, number>();
  /** Per node, how many slow-disk spells it has had, so an old spell's end does not cut a newer one short. */
  private readonly diskVersions = new Map<number, number>();
  /** What the last nemesis event did, for `--trace` (see takeNote). */
  private note: string | null = null;

  constructor(clock: SimClock, prng: Prng, cluster: Cluster<R, M>, config: NemesisConfig) {
    this.clock = clock;
    this.prng = prng;
    this.cluster = cluster;
    this.config = config;
    this.calm = { ...cluster.network.faults };
  }

  /** takeNote returns what the last nemesis event did (once), for trace lines; null if nothing. */
  takeNote(): string | null {
    const note = this.note;
    this.note = null;
    return note;
  }

  private name(node: number): string {
    return String(this.cluster.ids[node] ?? node);
  }

  /** start schedules the first action. */
  start(): void {
    this.running = true;
    this.scheduleNext();
  }

  /** stop ends the fault schedule; pending restarts and heals still happen (healAll forces them). */
  stop(): void {
    this.running = false;
  }

  /** healAll ends every fault now: links restored, calm weather, the drawn datacenter latencies and disk speeds, every crashed node restarted. */
  healAll(): void {
    this.cluster.network.heal();
    for (const node of this.cluster.nodes) node.storage.faults = { ...this.cluster.config.disk };
    this.cluster.network.datacenters?.reset();
    this.cluster.network.faults = { ...this.calm, dropRate: 0, duplicateRate: 0, spikeRate: 0 };
    for (const node of this.cluster.nodes) if (!node.host) this.cluster.restart(node.index);
  }

  /**
   * onNewLeader is told when a node is first seen leading a term. Sometimes the nemesis deposes
   * it a moment later, before it can replicate its first entries.
   */
  onNewLeader(node: number, term: number): void {
    if (!this.running || term <= this.lastLeaderTerm) return;
    this.lastLeaderTerm = term;
    if (!this.prng.chance(this.config.deposeRate)) return;
    this.clock.schedule(this.prng.next() * this.config.deposeWithinMs, EventKind.nemesis, node, () => {
      if (!this.running || !this.cluster.isUp(node) || this.cluster.statusOf(node)?.term !== term) return;
      this.stats.depositions++;
      if (this.prng.chance(0.5) && this.cluster.nodes.length - this.cluster.upCount() < this.config.maxDown) {
        this.note = `depose ${this.name(node)} (crash)`;
        this.cluster.crash(node);
        const [lo, hi] = this.config.downtimeMs;
        this.clock.schedule(lo + this.prng.next() * (hi - lo), EventKind.nemesis, node, () => {
          if (!this.cluster.isUp(node)) {
            this.note = `restart ${this.name(node)}`;
            this.cluster.restart(node);
          }
        });
      } else {
        this.note = `depose ${this.name(node)} (isolate)`;
        this.cluster.network.isolate(node, 'both');
        this.scheduleHeal();
      }
    });
  }

  private scheduleNext(): void {
    if (!this.running) return;
    const delay = -Math.log(1 - this.prng.next()) * this.config.meanIntervalMs;
    this.clock.schedule(delay, EventKind.nemesis, -1, () => {
      if (!this.running) return;
      this.act(this.chooseAction());
      this.scheduleNext();
    });
  }

  private chooseAction(): Action | null {
    const weights = this.config.weights;
    const actions = Object.keys(weights) as Action[];
    let total = 0;
    for (const action of actions) total += weights[action];
    let roll = this.prng.next() * total;
    for (const action of actions) {
      roll -= weights[action];
      if (roll < 0) return action;
    }
    return null;
  }

  private act(action: Action | null): void {
    this.note = action ?? 'nothing';
    switch (action) {
      case 'crash':
        return this.crash();
      case 'partition':
        return this.partition();
      case 'asymmetric':
        return this.asymmetric();
      case 'weather':
        return this.weather();
      case 'transfer':
        return this.transfer();
      case 'membership':
        return this.membership();
      case 'isolateDatacenter':
        return this.isolateDatacenter();
      case 'datacenterLatency':
        return this.datacenterLatency();
      case 'slowDisk':
        return this.slowDisk();
      default:
        return;
    }
  }

  private crash(): void {
    const n = this.cluster.nodes.length;
    if (n - this.cluster.upCount() >= this.config.maxDown) return;
    const up = this.cluster.nodes.filter((node) => node.host).map((node) => node.index);
    // Crash the leader a third of the time: leader crashes are the interesting ones.
    const leader = this.cluster.leader();
    const victim = leader && this.prng.chance(1 / 3) ? leader.index : this.prng.pick(up);
    this.cluster.crash(victim);
    this.note = `crash ${this.name(victim)}`;
    this.stats.crashes++;
    const [lo, hi] = this.config.downtimeMs;
    this.clock.schedule(lo + this.prng.next() * (hi - lo), EventKind.nemesis, victim, () => {
      if (!this.cluster.isUp(victim)) {
        this.note = `restart ${this.name(victim)}`;
        this.cluster.restart(victim);
      }
    });
  }

  private partition(): void {
    const n = this.cluster.nodes.length;
    const order = this.shuffled(n);
    // Usually a minority/majority split; sometimes three groups, so no side has a majority.
    const groups: number[][] = [];
    if (n >= 3 && this.prng.chance(0.2)) {
      const a = 1 + this.prng.int(n - 2);
      const b = a + 1 + this.prng.int(n - a - 1);
      groups.push(order.slice(0, a), order.slice(a, b), order.slice(b));
    } else {
      const cut = 1 + this.prng.int(Math.floor(n / 2));
      groups.push(order.slice(0, cut), order.slice(cut));
    }
    // The leader is often the one cut off, which forces an election on the other side.
    const leader = this.cluster.leader();
    if (leader && this.prng.chance(0.5)) {
      const first = groups[0] as number[];
      const where = groups.findIndex((group) => group.includes(leader.index));
      if (where > 0) {
        const group = groups[where] as number[];
        group.splice(group.indexOf(leader.index), 1, first[0] as number);
        first[0] = leader.index;
      }
    }
    this.cluster.network.partition(groups);
    this.note = `partition ${groups.map((group) => `[${group.map((i) => this.name(i)).join(',')}]`).join(' ')}`;
    this.stats.partitions++;
    this.scheduleHeal();
  }

  private asymmetric(): void {
    const n = this.cluster.nodes.length;
    const node = this.prng.chance(0.5) ? (this.cluster.leader()?.index ?? this.prng.int(n)) : this.prng.int(n);
    const roll = this.prng.next();
    if (roll < 0.35) this.cluster.network.isolate(node, 'in');
    else if (roll < 0.7) this.cluster.network.isolate(node, 'out');
    else {
      // A few random one-way cuts anywhere.
      const cuts = 1 + this.prng.int(n);
      for (let i = 0; i < cuts; i++) this.cluster.network.cut(this.prng.int(n), this.prng.int(n));
    }
    this.stats.asymmetric++;
    this.scheduleHeal();
  }

  private weather(): void {
    this.cluster.network.faults = { ...this.config.storm };
    this.stats.storms++;
    const [lo, hi] = this.config.faultMs;
    const until = this.clock.now + lo + this.prng.next() * (hi - lo);
    this.stormUntil = Math.max(this.stormUntil, until);
    this.clock.schedule(until - this.clock.now, EventKind.nemesis, -1, () => {
      if (this.clock.now >= this.stormUntil && this.running) {
        this.note = 'calm';
        this.cluster.network.faults = { ...this.calm };
      }
    });
  }

  private transfer(): void {
    const leader = this.cluster.leader();
    if (!leader?.host) return;
    const voters = leader.host.status().membership.voters.filter((id) => id !== leader.id);
    if (voters.length === 0) return;
    if (this.cluster.transferLeadership(this.cluster.indexOf(this.prng.pick(voters)))) this.stats.transfers++;
  }

  /**
   * membership walks one node at a time through removal, re-addition as a learner and promotion,
   * always through the current leader (which refuses a change while another is pending).
   */
  private membership(): void {
    const leader = this.cluster.leader();
    if (!leader?.host) return;
    const { voters, learners } = leader.host.status().membership;
    const learner = learners[0];
    if (learner !== undefined) {
      this.cluster.proposeConfChange({ type: 'promoteLearner', node: learner });
    } else {
      const missing = this.cluster.ids.find((id) => !voters.includes(id));
      if (missing !== undefined) this.cluster.proposeConfChange({ type: 'addLearner', node: missing });
      else {
        const candidates = voters.filter((id) => id !== leader.id);
        if (candidates.length === 0) return;
        this.cluster.proposeConfChange({ type: 'removeNode', node: this.prng.pick(candidates) });
      }
    }
    this.stats.membership++;
  }

  /**
   * isolateDatacenter cuts one datacenter off from the others, both ways, as a lost WAN uplink
   * would, and heals it later. Half the time it is the leader's datacenter, which forces the rest
   * to elect a leader elsewhere (when they still hold a majority).
   */
  private isolateDatacenter(): void {
    const network = this.cluster.network;
    const dcs = network.datacenters;
    if (!dcs || dcs.count < 2) return;
    const leader = this.cluster.leader();
    const dc = leader && this.prng.chance(0.5) ? dcs.datacenterOf(leader.index) : this.prng.int(dcs.count);
    network.isolateDatacenter(dc);
    this.note = `isolate datacenter ${dc}`;
    this.stats.datacenterIsolations++;
    const [lo, hi] = this.config.datacenterMs;
    this.clock.schedule(lo + this.prng.next() * (hi - lo), EventKind.nemesis, -1, () => {
      if (!this.running) return;
      this.note = 'heal';
      network.heal();
    });
  }

  /**
   * datacenterLatency moves the latency between two datacenters (a rerouted or congested WAN
   * link) to a multiple of its drawn value, both ways, and restores it after a while (also once
   * the nemesis has stopped: the drawn value is what healAll restores anyway).
   */
  private datacenterLatency(): void {
    const dcs = this.cluster.network.datacenters;
    if (!dcs || dcs.count < 2) return;
    const a = this.prng.int(dcs.count);
    const b = (a + 1 + this.prng.int(dcs.count - 1)) % dcs.count;
    const drawn = dcs.config.oneWayMs[a]?.[b] ?? 0;
    const factor = this.prng.pick(this.config.latencyFactors);
    dcs.setOneWayMs(a, b, drawn * factor);
    this.note = `latency datacenters ${a}-${b} x${factor}`;
    this.stats.latencyChanges++;
    const key = `${Math.min(a, b)}-${Math.max(a, b)}`;
    const version = (this.latencyVersions.get(key) ?? 0) + 1;
    this.latencyVersions.set(key, version);
    const [lo, hi] = this.config.faultMs;
    this.clock.schedule(lo + this.prng.next() * (hi - lo), EventKind.nemesis, -1, () => {
      if (this.latencyVersions.get(key) !== version) return;
      this.note = `latency datacenters ${a}-${b} restored`;
      dcs.setOneWayMs(a, b, drawn);
    });
  }

  /**
   * slowDisk makes one node's saves slow for a while (half the time the leader's): its followers'
   * acknowledgements, or its own durability, then trail the rest of the cluster, while it keeps
   * sending and answering. Writes still complete in order; the drawn speed comes back after.
   */
  private slowDisk(): void {
    const n = this.cluster.nodes.length;
    const leader = this.cluster.leader();
    const node = leader && this.prng.chance(0.5) ? leader.index : this.prng.int(n);
    const storage = this.cluster.nodes[node]?.storage;
    if (!storage) return;
    const latencyMs = this.prng.pick(this.config.slowDiskMs);
    storage.faults = { latencyMs, jitterMs: latencyMs / 2 };
    this.note = `slow disk ${this.name(node)} ${latencyMs} ms`;
    this.stats.slowDisks++;
    const version = (this.diskVersions.get(node) ?? 0) + 1;
    this.diskVersions.set(node, version);
    const [lo, hi] = this.config.faultMs;
    this.clock.schedule(lo + this.prng.next() * (hi - lo), EventKind.nemesis, node, () => {
      if (this.diskVersions.get(node) !== version) return;
      this.note = `disk ${this.name(node)} restored`;
      storage.faults = { ...this.cluster.config.disk };
    });
  }

  private scheduleHeal(): void {
    const [lo, hi] = this.config.faultMs;
    this.clock.schedule(lo + this.prng.next() * (hi - lo), EventKind.nemesis, -1, () => {
      if (!this.running) return;
      this.note = 'heal';
      this.cluster.network.heal();
    });
  }

  private shuffled(n: number): number[] {
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.prng.int(i + 1);
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    return order;
  }
}
