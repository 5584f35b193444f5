// The simulator's datacenter model. Pure functions draw a layout (which datacenter each node sits
// in) and a one-way latency matrix between datacenters from a seed; the Datacenters class holds
// the current matrix, which the nemesis may change during a run, and computes each message's delay.

import { assert } from '../../../core/util/assert.ts';
import type { Prng, Random } from '../../../core/util/prng.ts';

/** DatacenterConfig is a seed's datacenter setup, fixed for the whole run. */
export interface DatacenterConfig {
  /** The datacenter (0-based) of each node, in node index order. */
  readonly nodeDatacenter: readonly number[];
  /**
   * One-way latency in milliseconds between datacenters: `oneWayMs[a][b]`, symmetric. The
   * diagonal is the latency between two nodes of one datacenter (well under a millisecond).
   */
  readonly oneWayMs: readonly (readonly number[])[];
  /** Each message takes a uniform [0, jitterRatio) of its link's latency more, so messages reorder. */
  readonly jitterRatio: number;
}

/** DATACENTER_SEED_RATE is the fraction of seeds whose nodes are spread over datacenters. */
export const DATACENTER_SEED_RATE = 0.25;

/**
 * WAN_TICK_MS is the tick of datacenter seeds, as in the node's `wan` timeout profile
 * (core/server/config.ts): ten ticks make an election timeout of 1 to 2 s, at least ten times
 * the largest round trip the model draws (see INTER_DC_ONE_WAY_MS).
 */
export const WAN_TICK_MS = 100;

/** INTER_DC_ONE_WAY_MS bounds the drawn one-way latency between two datacenters, before jitter. */
export const INTER_DC_ONE_WAY_MS = [10, 40] as const;

/** JITTER_RATIOS are the drawn jitter ratios; with the largest, the largest round trip stays under 100 ms. */
const JITTER_RATIOS = [0.02, 0.1, 0.2] as const;

/**
 * LAYOUTS are nodes per datacenter. 2+2+1 and 1+1+1 survive the loss of any one datacenter
 * (the design's guidance); 3+1+1, 3+2 and 2+1 do not always, which the nemesis may then show.
 */
const LAYOUTS: Readonly<Record<number, readonly (readonly number[])[]>> = {
  3: [[1, 1, 1], [1, 1, 1], [2, 1]],
  5: [[2, 2, 1], [2, 2, 1], [3, 1, 1], [3, 2]],
};

/**
 * drawDatacenters draws a layout for `nodeCount` nodes (which nodes share a datacenter is
 * shuffled, so n1 is not always in the largest one) and a symmetric latency matrix: within a
 * datacenter 0.1 to 0.5 ms one way, between two datacenters tens of milliseconds.
 */
export function drawDatacenters(prng: Prng, nodeCount: number): DatacenterConfig {
  const sizes = prng.pick(LAYOUTS[nodeCount] ?? [Array.from({ length: nodeCount }, () => 1)]);
  const slots = sizes.flatMap((size, dc) => Array.from({ length: size }, () => dc));
  for (let i = slots.length - 1; i > 0; i--) {
    const j = prng.int(i + 1);
    [slots[i], slots[j]] = [slots[j] as number, slots[i] as number];
  }
  const count = sizes.length;
  const oneWayMs = Array.from({ length: count }, () => new Array<number>(count).fill(0));
  for (let a = 0; a < count; a++) {
    for (let b = a; b < count; b++) {
      const [lo, hi] = INTER_DC_ONE_WAY_MS;
      const ms = a === b ? 0.1 + 0.4 * prng.next() : lo + (hi - lo) * prng.next();
      (oneWayMs[a] as number[])[b] = ms;
      (oneWayMs[b] as number[])[a] = ms;
    }
  }
  return { nodeDatacenter: slots, oneWayMs, jitterRatio: prng.pick(JITTER_RATIOS) };
}

/** layoutOf lists the number of nodes in each datacenter, e.g. [2, 2, 1]. */
export function layoutOf(config: DatacenterConfig): number[] {
  const sizes = new Array<number>(config.oneWayMs.length).fill(0);
  for (const dc of config.nodeDatacenter) sizes[dc] = (sizes[dc] ?? 0) + 1;
  return sizes;
}

/** maxRttMs is the largest round trip the configured matrix allows, jitter included (for the ten-times rule). */
export function maxRttMs(config: DatacenterConfig): number {
  let max = 0;
  for (const row of config.oneWayMs) for (const ms of row) max = Math.max(max, ms);
  return 2 * max * (1 + config.jitterRatio);
}

/** describeDatacenters is a one-line summary for failure reports: layout and rounded one-way latencies. */
export function describeDatacenters(config: DatacenterConfig): string {
  const pairs: string[] = [];
  const count = config.oneWayMs.length;
  for (let a = 0; a < count; a++) for (let b = a + 1; b < count; b++) pairs.push(`${a}-${b}:${(config.oneWayMs[a]?.[b] ?? 0).toFixed(0)}`);
  return `dcs=[${layoutOf(config).join(',')}] of=[${config.nodeDatacenter.join('')}] oneWayMs{${pairs.join(' ')}} jitter=${config.jitterRatio}`;
}

/**
 * Datacenters is the live model a SimNetwork consults for every message. It starts from the
 * drawn matrix; the nemesis may change one pair's latency and later restore it.
 */
export class Datacenters {
  readonly config: DatacenterConfig;
  private readonly current: number[][];

  constructor(config: DatacenterConfig) {
    const count = config.oneWayMs.length;
    assert(count >= 1, 'at least one datacenter');
    for (const row of config.oneWayMs) assert(row.length === count, 'the latency matrix must be square');
    for (const dc of config.nodeDatacenter) assert(Number.isInteger(dc) && dc >= 0 && dc < count, `no datacenter ${dc}`);
    this.config = config;
    this.current = config.oneWayMs.map((row) => row.slice());
  }

  /** count is the number of datacenters. */
  get count(): number {
    return this.current.length;
  }

  /** datacenterOf is the datacenter of the node at `node`. */
  datacenterOf(node: number): number {
    const dc = this.config.nodeDatacenter[node];
    assert(dc !== undefined, `no node ${node}`);
    return dc;
  }

  /** members lists the node indexes in datacenter `dc`. */
  members(dc: number): number[] {
    const nodes: number[] = [];
    this.config.nodeDatacenter.forEach((d, node) => {
      if (d === dc) nodes.push(node);
    });
    return nodes;
  }

  /** oneWayMs is the current one-way latency between datacenters `a` and `b` (before jitter). */
  oneWayMs(a: number, b: number): number {
    const ms = this.current[a]?.[b];
    assert(ms !== undefined, `no datacenter pair ${a}-${b}`);
    return ms;
  }

  /** setOneWayMs changes the latency between datacenters `a` and `b`, both ways. */
  setOneWayMs(a: number, b: number, ms: number): void {
    assert(ms >= 0 && Number.isFinite(ms), `bad latency ${ms}`);
    this.oneWayMs(a, b);
    (this.current[a] as number[])[b] = ms;
    (this.current[b] as number[])[a] = ms;
  }

  /** reset restores the drawn matrix. */
  reset(): void {
    this.config.oneWayMs.forEach((row, a) => row.forEach((ms, b) => ((this.current[a] as number[])[b] = ms)));
  }

  /** delayMs is one message's travel time from node `from` to node `to`: its link's latency plus jitter drawn from `random`. */
  delayMs(from: number, to: number, random: Random): number {
    const base = this.oneWayMs(this.datacenterOf(from), this.datacenterOf(to));
    return base * (1 + random.next() * this.config.jitterRatio);
  }

  /** crossLinks lists every directed link between a node of `dc` and a node elsewhere, both directions. */
  crossLinks(dc: number): [number, number][] {
    const inside = this.members(dc);
    const outside = this.config.nodeDatacenter.map((_, node) => node).filter((node) => this.datacenterOf(node) !== dc);
    return inside.flatMap((a) => outside.flatMap((b): [number, number][] => [[a, b], [b, a]]));
  }
}
