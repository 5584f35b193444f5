// Effectful only in virtual time. SimNetwork carries Raft messages between simulated nodes with
// seeded delay, jitter (hence reordering), loss, duplication, latency spikes, directed link cuts
// (symmetric and asymmetric partitions) and, on datacenter seeds, per-datacenter-pair latency and
// datacenter isolation. Every random draw comes from its own Prng stream.

import { assert } from '../../../core/util/assert.ts';
import type { Prng } from '../../../core/util/prng.ts';
import type { Transport } from '../../../core/node/ports.ts';
import type { Message, NodeId } from '../../../core/raft/types.ts';
import type { Datacenters } from './datacenters.ts';
import { EventKind, type SimClock } from './simClock.ts';

/** NetworkFaults are the knobs of the packet model; the nemesis may change them during a run. */
export interface NetworkFaults {
  /** Every message takes at least this long (on datacenter seeds, on top of its link's datacenter latency). */
  baseDelayMs: number;
  /** Plus a uniform extra delay in [0, jitterMs); jitter larger than the gap between sends reorders. */
  jitterMs: number;
  /** Probability that a message is lost. */
  dropRate: number;
  /** Probability that a message is delivered twice (each copy with its own delay). */
  duplicateRate: number;
  /** Probability that a message is delayed by `spikeMs` more (a clogged link, a GC pause). */
  spikeRate: number;
  spikeMs: number;
}

/** NetworkStats counts what happened to messages, for reports and tests. */
export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  cutDropped: number;
  duplicated: number;
}

/** Deliver hands a message to the receiving node; the cluster decides what "live" means. */
export type Deliver = (to: number, message: Message) => void;

/**
 * SimNetwork is the simulated packet network between n nodes, indexed 0..n-1. A cut link drops
 * messages both when they are sent and when they would arrive, so a partition takes effect at
 * once, as a real cable pull would for packets still queued at the switch. With a datacenter
 * model, every message also takes its datacenter pair's current one-way latency (plus jitter).
 */
export class SimNetwork {
  faults: NetworkFaults;
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, cutDropped: 0, duplicated: 0 };
  /** The datacenter model, or null when every node sits in one flat network. */
  readonly datacenters: Datacenters | null;
  private readonly clock: SimClock;
  private readonly prng: Prng;
  private readonly indexById = new Map<NodeId, number>();
  private readonly n: number;
  private readonly cuts: boolean[];
  /** Extra one-way delay per directed link, in ms (see slow). */
  private readonly extraMs: number[];
  private readonly deliver: Deliver;

  constructor(clock: SimClock, prng: Prng, ids: readonly NodeId[], faults: NetworkFaults, deliver: Deliver, datacenters: Datacenters | null = null) {
    assert(datacenters === null || datacenters.config.nodeDatacenter.length === ids.length, 'one datacenter per node');
    this.clock = clock;
    this.datacenters = datacenters;
    this.prng = prng;
    this.faults = { ...faults };
    this.n = ids.length;
    ids.forEach((id, i) => this.indexById.set(id, i));
    this.cuts = new Array<boolean>(this.n * this.n).fill(false);
    this.extraMs = new Array<number>(this.n * this.n).fill(0);
    this.deliver = deliver;
  }

  /** indexOf maps a node id to its index; unknown ids are a harness bug. */
  indexOf(id: NodeId): number {
    const index = this.indexById.get(id);
    assert(index !== undefined, `unknown node ${id}`);
    return index;
  }

  /** transport is the Transport port for the node at `from`. */
  transport(from: number): Transport {
    return { send: (messages) => this.send(from, messages) };
  }

  /** send puts messages on the wire from node `from`. */
  send(from: number, messages: readonly Message[]): void {
    for (const message of messages) {
      const to = this.indexOf(message.to);
      assert(this.indexOf(message.from) === from, `node ${from} sent a message as ${message.from}`);
      assert(to !== from, `node ${message.from} sent a message to itself`);
      this.stats.sent++;
      if (this.isCut(from, to)) {
        this.stats.cutDropped++;
        continue;
      }
      if (this.prng.chance(this.faults.dropRate)) {
        this.stats.dropped++;
        continue;
      }
      this.schedule(from, to, message);
      if (this.prng.chance(this.faults.duplicateRate)) {
        this.stats.duplicated++;
        this.schedule(from, to, message);
      }
    }
  }

  /** cut severs the directed link from → to (an asymmetric partition when only one way is cut). */
  cut(from: number, to: number): void {
    if (from !== to) this.cuts[from * this.n + to] = true;
  }

  /** isCut says whether messages from → to are currently lost. */
  isCut(from: number, to: number): boolean {
    return this.cuts[from * this.n + to] === true;
  }

  /** partition cuts every link between nodes of different groups, both ways; nodes in no group keep their links. */
  partition(groups: readonly (readonly number[])[]): void {
    for (let g = 0; g < groups.length; g++) {
      for (let h = 0; h < groups.length; h++) {
        if (g === h) continue;
        for (const a of groups[g] ?? []) for (const b of groups[h] ?? []) this.cut(a, b);
      }
    }
  }

  /** isolate cuts a node off: its outgoing links, its incoming links, or both. */
  isolate(node: number, direction: 'in' | 'out' | 'both'): void {
    for (let other = 0; other < this.n; other++) {
      if (other === node) continue;
      if (direction !== 'in') this.cut(node, other);
      if (direction !== 'out') this.cut(other, node);
    }
  }

  /**
   * isolateDatacenter cuts every link between the nodes of datacenter `dc` and all other nodes,
   * both ways; links inside `dc`, and among the other datacenters, stay up.
   */
  isolateDatacenter(dc: number): void {
    assert(this.datacenters !== null, 'no datacenter model');
    for (const [from, to] of this.datacenters.crossLinks(dc)) this.cut(from, to);
  }

  /**
   * slow adds `extraMs` to every message sent from → to from now on (0 restores the link): a
   * clogged one-way path, which delivers late what a cut would lose.
   */
  slow(from: number, to: number, extraMs: number): void {
    if (from !== to) this.extraMs[from * this.n + to] = extraMs;
  }

  /** heal restores every link: no cuts, no extra delay. */
  heal(): void {
    this.cuts.fill(false);
    this.extraMs.fill(0);
  }

  /** cutCount is the number of severed directed links (0 means fully connected). */
  cutCount(): number {
    let count = 0;
    for (const cut of this.cuts) if (cut) count++;
    return count;
  }

  private schedule(from: number, to: number, message: Message): void {
    const f = this.faults;
    let delay = f.baseDelayMs + this.prng.next() * f.jitterMs;
    if (this.prng.chance(f.spikeRate)) delay += f.spikeMs;
    // NB: drawn last, and only with a datacenter model, so flat seeds keep every draw they had.
    if (this.datacenters) delay += this.datacenters.delayMs(from, to, this.prng);
    delay += this.extraMs[from * this.n + to] as number;
    this.clock.schedule(delay, EventKind.deliver, to, () => {
      if (this.isCut(from, to)) {
        this.stats.cutDropped++;
        return;
      }
      this.stats.delivered++;
      this.deliver(to, message);
    });
  }
}
