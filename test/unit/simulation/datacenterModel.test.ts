// Unit tests for the simulator's datacenter model on its own: the drawn layouts and latency
// matrices, per-message delays on the simulated network, datacenter isolation cutting exactly the
// cross-datacenter links, the nemesis's two datacenter actions, and the swarm's choice of
// datacenter seeds (which must leave every other seed's configuration as it was).

import { describe, expect, it } from 'vitest';
import { Prng } from '../../../core/util/prng.ts';
import { nodeId } from '../../../core/raft/types.ts';
import type { Message, NodeId } from '../../../core/raft/types.ts';
import { Cluster, type ClusterConfig } from '../../simulation/harness/cluster.ts';
import {
  DATACENTER_SEED_RATE,
  Datacenters,
  drawDatacenters,
  INTER_DC_ONE_WAY_MS,
  layoutOf,
  maxRttMs,
  WAN_TICK_MS,
  type DatacenterConfig,
} from '../../simulation/harness/datacenters.ts';
import { KvMachine, type KvResult } from '../../simulation/harness/kvMachine.ts';
import { Nemesis, type NemesisConfig } from '../../simulation/harness/nemesis.ts';
import { SimClock } from '../../simulation/harness/simClock.ts';
import { SimNetwork, type NetworkFaults } from '../../simulation/harness/simNetwork.ts';
import { swarmOptions, TICK_MS } from '../../simulation/harness/swarm.ts';

const still: NetworkFaults = { baseDelayMs: 0, jitterMs: 0, dropRate: 0, duplicateRate: 0, spikeRate: 0, spikeMs: 0 };
const ids5: NodeId[] = ['n1', 'n2', 'n3', 'n4', 'n5'].map(nodeId);
const heartbeat = (from: number, to: number): Message => ({ type: 'Heartbeat', from: ids5[from]!, to: ids5[to]!, term: 1, commit: 0, context: null });

/** LAYOUT_221 is 2+2+1 with exact latencies (no jitter): 0.5 ms inside a datacenter, 10/20/30 ms between. */
const LAYOUT_221: DatacenterConfig = {
  nodeDatacenter: [0, 0, 1, 1, 2],
  oneWayMs: [
    [0.5, 10, 20],
    [10, 0.5, 30],
    [20, 30, 0.5],
  ],
  jitterRatio: 0,
};

function network(config: DatacenterConfig) {
  const clock = new SimClock();
  const delivered: { from: number; to: number; at: number }[] = [];
  const net = new SimNetwork(clock, new Prng(1), ids5, still, (to, message) => delivered.push({ from: net.indexOf(message.from), to, at: clock.now }), new Datacenters(config));
  const drain = (): void => {
    while (clock.step()) {
      /* run everything */
    }
  };
  /** sendAll sends one heartbeat on every directed link at the current time. */
  const sendAll = (): void => {
    for (let a = 0; a < 5; a++) for (let b = 0; b < 5; b++) if (a !== b) net.send(a, [heartbeat(a, b)]);
  };
  return { clock, net, delivered, drain, sendAll };
}

describe('datacenter model: drawn layouts and latency matrices', () => {
  it('puts every node in a datacenter, in the planned layouts, with a symmetric matrix: sub-millisecond inside, tens of ms between', () => {
    const layouts = new Set<string>();
    for (let seed = 1; seed <= 300; seed++) {
      for (const nodeCount of [3, 5]) {
        const config = drawDatacenters(new Prng(seed), nodeCount);
        const sizes = layoutOf(config);
        layouts.add(`${nodeCount}:${[...sizes].sort().reverse().join(',')}`);
        expect(config.nodeDatacenter).toHaveLength(nodeCount);
        expect(sizes.every((size) => size >= 1)).toBe(true);
        const count = config.oneWayMs.length;
        for (let a = 0; a < count; a++) {
          expect(config.oneWayMs[a]).toHaveLength(count);
          for (let b = 0; b < count; b++) {
            const ms = config.oneWayMs[a]![b]!;
            expect(ms).toBe(config.oneWayMs[b]![a]);
            const [lo, hi] = a === b ? [0.1, 0.5] : INTER_DC_ONE_WAY_MS;
            expect(ms).toBeGreaterThanOrEqual(lo);
            expect(ms).toBeLessThan(hi);
          }
        }
        // The ten-times rule of the `wan` profile: the shortest election timeout covers ten round trips.
        expect(10 * maxRttMs(config)).toBeLessThanOrEqual(10 * WAN_TICK_MS);
      }
    }
    expect([...layouts].sort()).toEqual(['3:1,1,1', '3:2,1', '5:2,2,1', '5:3,1,1', '5:3,2']);
  });

  it('is a pure function of its stream', () => {
    expect(drawDatacenters(new Prng(42), 5)).toEqual(drawDatacenters(new Prng(42), 5));
    expect(drawDatacenters(new Prng(42), 5)).not.toEqual(drawDatacenters(new Prng(43), 5));
  });

  it('lists members and cross links, and changes one pair both ways until reset', () => {
    const dcs = new Datacenters(LAYOUT_221);
    expect(dcs.count).toBe(3);
    expect([0, 1, 2].map((dc) => dcs.members(dc))).toEqual([[0, 1], [2, 3], [4]]);
    expect(dcs.crossLinks(2).sort()).toEqual(
      [
        [0, 4],
        [1, 4],
        [2, 4],
        [3, 4],
        [4, 0],
        [4, 1],
        [4, 2],
        [4, 3],
      ].sort(),
    );
    dcs.setOneWayMs(2, 1, 100);
    expect(dcs.oneWayMs(1, 2)).toBe(100);
    expect(dcs.oneWayMs(2, 1)).toBe(100);
    expect(dcs.oneWayMs(0, 2)).toBe(20);
    dcs.reset();
    expect(dcs.oneWayMs(1, 2)).toBe(30);
    expect(() => new Datacenters({ ...LAYOUT_221, nodeDatacenter: [0, 0, 1, 1, 3] })).toThrow(/no datacenter 3/);
  });

  it('adds jitter of at most jitterRatio of the link latency', () => {
    const dcs = new Datacenters({ ...LAYOUT_221, jitterRatio: 0.2 });
    const random = new Prng(5);
    const delays = Array.from({ length: 500 }, () => dcs.delayMs(0, 4, random));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(20);
    expect(Math.max(...delays)).toBeLessThan(24);
    expect(new Set(delays).size).toBeGreaterThan(400);
  });
});

describe('datacenter model on the simulated network', () => {
  it('delivers every message after its datacenter pair latency (flat delay on top)', () => {
    const { delivered, drain, sendAll } = network(LAYOUT_221);
    sendAll();
    drain();
    expect(delivered).toHaveLength(20);
    const dc = [0, 0, 1, 1, 2];
    for (const d of delivered) expect(d.at).toBeCloseTo(LAYOUT_221.oneWayMs[dc[d.from]!]![dc[d.to]!]!, 9);
    // The flat base delay (a storm's, say) adds up on top.
    const sent = network(LAYOUT_221);
    sent.net.faults = { ...still, baseDelayMs: 5 };
    sent.net.send(0, [heartbeat(0, 2)]);
    sent.drain();
    expect(sent.delivered).toEqual([{ from: 0, to: 2, at: 15 }]);
  });

  it('follows a latency change for messages sent after it', () => {
    const { clock, net, delivered, drain } = network(LAYOUT_221);
    net.datacenters?.setOneWayMs(0, 1, 75);
    net.send(0, [heartbeat(0, 2)]);
    net.send(2, [heartbeat(2, 0)]);
    net.send(0, [heartbeat(0, 4)]);
    drain();
    expect(delivered.map((d) => [d.from, d.to, d.at])).toEqual([
      [0, 4, 20],
      [0, 2, 75],
      [2, 0, 75],
    ]);
    expect(clock.now).toBe(75);
  });

  it('isolating a datacenter cuts exactly the links between it and the rest, both ways, and heals', () => {
    for (const dc of [0, 1, 2]) {
      const { net, delivered, drain, sendAll } = network(LAYOUT_221);
      const inside = new Set(new Datacenters(LAYOUT_221).members(dc));
      net.isolateDatacenter(dc);
      for (let a = 0; a < 5; a++) {
        for (let b = 0; b < 5; b++) {
          if (a === b) continue;
          expect(net.isCut(a, b), `link ${a}->${b} with dc${dc} isolated`).toBe(inside.has(a) !== inside.has(b));
        }
      }
      expect(net.cutCount()).toBe(2 * inside.size * (5 - inside.size));
      sendAll();
      drain();
      expect(delivered.every((d) => inside.has(d.from) === inside.has(d.to))).toBe(true);
      expect(delivered).toHaveLength(20 - net.cutCount());
      net.heal();
      expect(net.cutCount()).toBe(0);
    }
  });

  it('drops messages already in flight across the cut', () => {
    const { net, delivered, drain } = network(LAYOUT_221);
    net.send(0, [heartbeat(0, 2), heartbeat(0, 1)]);
    net.isolateDatacenter(1);
    drain();
    expect(delivered.map((d) => d.to)).toEqual([1]);
    expect(net.stats.cutDropped).toBe(1);
  });

  it('refuses datacenter isolation without a datacenter model', () => {
    const net = new SimNetwork(new SimClock(), new Prng(1), ids5, still, () => {});
    expect(net.datacenters).toBeNull();
    expect(() => net.isolateDatacenter(0)).toThrow(/no datacenter model/);
  });
});

describe('nemesis: datacenter and disk actions', () => {
  const clusterConfig: ClusterConfig = {
    nodeCount: 5,
    tickMs: WAN_TICK_MS,
    tickDrift: 0,
    electionTicks: 10,
    heartbeatTicks: 1,
    preVote: true,
    checkQuorum: true,
    maxEntriesPerMessage: 16,
    maxInflightMessages: 4,
    priorities: [1, 1, 1, 1, 1],
    snapshotEvery: 0,
    deferDrain: false,
    network: still,
    datacenters: LAYOUT_221,
    disk: { latencyMs: 1, jitterMs: 0 },
    bugs: new Set(),
  };
  /** only enables one action, rarely enough (every 20 s on average) that one action's hold ends before the next. */
  const only = (action: keyof NemesisConfig['weights']): NemesisConfig => ({
    meanIntervalMs: 20_000,
    weights: { crash: 0, partition: 0, asymmetric: 0, weather: 0, transfer: 0, membership: 0, isolateDatacenter: 0, datacenterLatency: 0, slowDisk: 0, [action]: 1 },
    deposeRate: 0,
    deposeWithinMs: 0,
    maxDown: 0,
    downtimeMs: [0, 0],
    faultMs: [400, 400],
    storm: still,
    datacenterMs: [700, 700],
    latencyFactors: [4],
    slowDiskMs: [300],
  });
  function setup(config: NemesisConfig) {
    const clock = new SimClock();
    const cluster = new Cluster<KvResult, KvMachine>(clock, new Prng(3), clusterConfig, () => new KvMachine());
    const nemesis = new Nemesis(clock, new Prng(4), cluster, config);
    cluster.start();
    nemesis.start();
    /** runUntil steps the clock until `done()`, for at most `ms` of virtual time. */
    const runUntil = (ms: number, done: () => boolean): void => {
      const until = clock.now + ms;
      while (!done() && clock.step(until));
    };
    return { clock, cluster, nemesis, runUntil };
  }

  /**
   * undoesAfterFaultMs checks an action that has just changed something (`changed` lists what):
   * with no further actions its pending restore still undoes it after faultMs (400 ms here), and
   * once it strikes again healAll undoes it at once.
   */
  function undoesAfterFaultMs(t: Pick<ReturnType<typeof setup>, 'clock' | 'nemesis' | 'runUntil'>, changed: () => unknown[]): void {
    t.nemesis.stop();
    const at = t.clock.now;
    t.runUntil(10_000, () => changed().length === 0);
    expect(changed()).toEqual([]);
    expect(t.clock.now - at).toBeCloseTo(400, 6);
    t.nemesis.start();
    t.runUntil(600_000, () => changed().length > 0);
    t.nemesis.stop();
    t.nemesis.healAll();
    expect(changed()).toEqual([]);
  }

  it('isolates one whole datacenter, holds it for datacenterMs, then heals every link', () => {
    const { clock, cluster, nemesis, runUntil } = setup(only('isolateDatacenter'));
    runUntil(600_000, () => nemesis.stats.datacenterIsolations === 1);
    expect(nemesis.stats.datacenterIsolations).toBe(1);
    const net = cluster.network;
    const isolated = [0, 1, 2].filter((dc) => {
      const links = net.datacenters!.crossLinks(dc);
      return links.length === net.cutCount() && links.every(([a, b]) => net.isCut(a, b));
    });
    expect(isolated).toHaveLength(1);
    const cutAt = clock.now;
    runUntil(10_000, () => net.cutCount() === 0 && nemesis.stats.datacenterIsolations === 1);
    expect(clock.now - cutAt).toBeCloseTo(700, 6);
    expect(nemesis.stats).toMatchObject({ partitions: 0, asymmetric: 0, crashes: 0 });
  });

  it('changes the latency of one datacenter pair by a drawn factor, restores it after faultMs, and healAll restores every pair', () => {
    const { clock, cluster, nemesis, runUntil } = setup(only('datacenterLatency'));
    const dcs = cluster.network.datacenters!;
    const changed = (): [number, number][] => {
      const pairs: [number, number][] = [];
      for (let a = 0; a < 3; a++) for (let b = a + 1; b < 3; b++) if (dcs.oneWayMs(a, b) !== LAYOUT_221.oneWayMs[a]![b]) pairs.push([a, b]);
      return pairs;
    };
    runUntil(600_000, () => nemesis.stats.latencyChanges === 1);
    const pairs = changed();
    expect(pairs).toHaveLength(1);
    const [a, b] = pairs[0]!;
    expect(dcs.oneWayMs(a, b)).toBe(4 * LAYOUT_221.oneWayMs[a]![b]!);
    expect(dcs.oneWayMs(b, a)).toBe(dcs.oneWayMs(a, b));
    expect(cluster.network.cutCount()).toBe(0);
    undoesAfterFaultMs({ clock, nemesis, runUntil }, changed);
    expect(nemesis.stats.latencyChanges).toBe(2);
  });

  it('makes one node\'s saves slow for faultMs, then gives back the drawn speed (and healAll does at once)', () => {
    const { clock, cluster, nemesis, runUntil } = setup(only('slowDisk'));
    const slow = (): number[] => cluster.nodes.filter((node) => node.storage.faults.latencyMs !== clusterConfig.disk.latencyMs).map((node) => node.index);
    runUntil(600_000, () => nemesis.stats.slowDisks === 1);
    const nodes = slow();
    expect(nodes).toHaveLength(1);
    expect(cluster.nodes[nodes[0]!]!.storage.faults).toEqual({ latencyMs: 300, jitterMs: 150 });
    undoesAfterFaultMs({ clock, nemesis, runUntil }, slow);
    expect(nemesis.stats).toMatchObject({ slowDisks: 2, crashes: 0, partitions: 0 });
  });
});

describe('swarm: datacenter seeds', () => {
  const bugs = new Set<never>();
  const draw = (seed: number, force?: boolean) => {
    const root = new Prng(seed);
    return swarmOptions(root.fork('swarm'), bugs, { prng: root.fork('datacenters'), ...(force !== undefined ? { force } : {}) });
  };

  it('leaves a flat seed exactly as it was without the datacenter model', () => {
    let flat = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const options = draw(seed);
      if (options.cluster.datacenters) continue;
      flat++;
      expect(options).toEqual(swarmOptions(new Prng(seed).fork('swarm'), bugs));
      expect(options.cluster.tickMs).toBe(TICK_MS);
      expect(options.nemesis.weights).toMatchObject({ isolateDatacenter: 0, datacenterLatency: 0 });
    }
    expect(flat).toBeGreaterThan(100);
  });

  it('makes about DATACENTER_SEED_RATE of the CI seed range datacenter seeds, with wan timing and the datacenter faults on', () => {
    let count = 0;
    for (let seed = 1; seed <= 800; seed++) {
      const options = draw(seed);
      const dcs = options.cluster.datacenters;
      if (!dcs) continue;
      count++;
      expect(options.cluster.tickMs).toBe(WAN_TICK_MS);
      expect(dcs.nodeDatacenter).toHaveLength(options.cluster.nodeCount);
      expect(options.cluster.electionTicks * options.cluster.tickMs).toBeGreaterThanOrEqual(10 * maxRttMs(dcs));
      expect(options.cluster.network).toMatchObject({ baseDelayMs: 0, jitterMs: 0 });
      expect(options.nemesis.weights.isolateDatacenter).toBeGreaterThan(0);
      if (options.lock) expect(options.lock.workload.ttlMs % (options.cluster.electionTicks * WAN_TICK_MS)).toBe(0);
    }
    expect(count).toBeGreaterThan(800 * DATACENTER_SEED_RATE * 0.8);
    expect(count).toBeLessThan(800 * DATACENTER_SEED_RATE * 1.2);
  });

  it('forces datacenters on or off without changing the seed’s other draws', () => {
    const seeds = Array.from({ length: 40 }, (_, i) => i + 1);
    const natural = seeds.find((seed) => draw(seed).cluster.datacenters)!;
    expect(draw(natural, true)).toEqual(draw(natural));
    expect(draw(natural, false)).toEqual(swarmOptions(new Prng(natural).fork('swarm'), bugs));
    const flat = seeds.find((seed) => !draw(seed).cluster.datacenters)!;
    const forced = draw(flat, true);
    expect(forced.cluster.datacenters).toBeTruthy();
    expect(forced.cluster.tickMs).toBe(WAN_TICK_MS);
    expect(forced.workload).toEqual(draw(flat).workload);
  });
});
