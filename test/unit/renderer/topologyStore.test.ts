// Tests of stores/topology.ts: the derived picture (datacenters, leader, median RTT per pair,
// health) from a fixture topology, update ordering, and fault actions with their results.

import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiRequestError, setNodeApi } from '../../../renderer/services/nodeApi.ts';
import { clusterHealth, datacenterLinks, deriveTopology, displayRole, faultLabel, freshSamples, median, useTopologyStore } from '../../../renderer/stores/topology.ts';
import { fakeNodeApi, topologyFixture, update } from './fixtures.ts';

const T0 = 1_700_000_000_000;

beforeEach(() => {
  setActivePinia(createPinia());
});

afterEach(() => {
  setNodeApi(null);
});

type FixtureNode = ReturnType<typeof topologyFixture>['datacenters'][number]['nodes'][number];

function withNode(id: string, change: Partial<FixtureNode>): ReturnType<typeof topologyFixture> {
  const t = topologyFixture();
  return { ...t, datacenters: t.datacenters.map((dc) => ({ ...dc, nodes: dc.nodes.map((n) => (n.id === id ? { ...n, ...change } : n)) })) };
}

describe('topology derivations', () => {
  it('median takes the middle sample, or the mean of the two middle ones', () => {
    expect(median([])).toBeNull();
    expect(median([5])).toBe(5);
    expect(median([200, 58, 61, 62, 59])).toBe(61);
    expect(median([70, 72])).toBe(71);
  });

  it('one link per datacenter pair with the median RTT over both directions', () => {
    expect(datacenterLinks(topologyFixture(), T0)).toEqual([
      { a: 'dc-a', b: 'dc-b', medianMs: 61, samples: 5 },
      { a: 'dc-a', b: 'dc-c', medianMs: 90, samples: 3 },
      { a: 'dc-b', b: 'dc-c', medianMs: 71, samples: 2 },
    ]);
  });

  it('a pair with no measured link has a null RTT (isolated datacenter)', () => {
    const t = topologyFixture();
    const isolated = { ...t, rtt: t.rtt.filter((s) => s.from !== 'n5' && s.to !== 'n5') };
    expect(datacenterLinks(isolated, T0).find((l) => l.b === 'dc-c' && l.a === 'dc-a')).toEqual({ a: 'dc-a', b: 'dc-c', medianMs: null, samples: 0 });
  });

  it('leaves out samples no longer refreshed: a cut link shows no RTT instead of its last value', () => {
    const t = topologyFixture();
    const cut = { ...t, rtt: t.rtt.map((s) => (s.from === 'n5' || s.to === 'n5' ? { ...s, measuredAt: T0 - 12_000 } : s)) };
    expect(datacenterLinks(cut, T0).filter((l) => l.b === 'dc-c').map((l) => l.medianMs)).toEqual([null, null]);
    // Read 4 s after n5's samples: n5's own report (all equally old) still counts; n1's and n2's
    // samples to n5 are 12 s behind their other samples and do not.
    expect(datacenterLinks(cut, T0 - 8_000).find((l) => l.a === 'dc-a' && l.b === 'dc-c')).toEqual({ a: 'dc-a', b: 'dc-c', medianMs: 91, samples: 1 });
  });

  it('judges staleness against the freshest sample of the same node too, so clock skew does not matter', () => {
    const skewed = [
      { from: 'n1', to: 'n2', ms: 1, measuredAt: 50_000 },
      { from: 'n1', to: 'n5', ms: 90, measuredAt: 44_000 },
      { from: 'n3', to: 'n5', ms: 70, measuredAt: 49_000 },
    ];
    expect(freshSamples(skewed, 50_000).map((s) => `${s.from}>${s.to}`)).toEqual(['n1>n2', 'n3>n5']);
  });

  it('display roles: down first, then leader, learner, candidate, follower', () => {
    const t = topologyFixture();
    const [n1, n2] = t.datacenters[0]?.nodes ?? [];
    const n5 = t.datacenters[2]?.nodes[0];
    expect(displayRole(n1 as FixtureNode)).toBe('leader');
    expect(displayRole(n2 as FixtureNode)).toBe('follower');
    expect(displayRole(n5 as FixtureNode)).toBe('learner');
    expect(displayRole({ ...(n2 as FixtureNode), state: 'preCandidate' })).toBe('candidate');
    expect(displayRole({ ...(n5 as FixtureNode), state: 'down' })).toBe('down');
  });

  it('derives datacenters with their leader and down counts, the leader, term and warnings', () => {
    const model = deriveTopology(update('c1', withNode('n2', { state: 'down' })));
    expect(model.leader).toEqual({ id: 'n1', datacenter: 'dc-a' });
    expect(model.term).toBe(4);
    expect(model.datacenters.map((dc) => [dc.name, dc.hasLeader, dc.nodesDown])).toEqual([
      ['dc-a', true, 1],
      ['dc-b', false, 0],
      ['dc-c', false, 0],
    ]);
    expect(model.warnings[0]).toMatch(/election timeout/);
  });

  it('health: ok, degraded when a node is down or lagging, no leader, unknown on a read error', () => {
    expect(clusterHealth(topologyFixture(), null)).toEqual({ level: 'ok', label: 'ok', reasons: [] });
    expect(clusterHealth(withNode('n3', { state: 'down' }), null)).toMatchObject({ level: 'degraded', reasons: ['n3 (dc-b) is down'] });
    expect(clusterHealth(withNode('n4', { lagEntries: 250 }), null)).toMatchObject({ level: 'degraded', reasons: ['n4 is 250 entries behind'] });
    expect(clusterHealth(withNode('n4', { lastContactMs: 5000 }), null)).toMatchObject({ level: 'degraded', reasons: [expect.stringMatching(/n4 has not heard from the leader/)] });
    expect(clusterHealth(withNode('n5', { state: 'preCandidate', lastContactMs: null }), null)).toMatchObject({ level: 'degraded', reasons: ['n5 (dc-c) is campaigning: it cannot hear the leader'] });
    expect(clusterHealth({ ...topologyFixture(), leader: null }, null)).toMatchObject({ level: 'no-leader', label: 'no leader' });
    expect(clusterHealth(topologyFixture(), { code: 'Unavailable', message: 'no node answered' })).toMatchObject({ level: 'unknown' });
    expect(clusterHealth(null, null).level).toBe('unknown');
  });

  it('labels fault actions in a few words', () => {
    expect(faultLabel({ connectionId: 'c', action: 'kill', node: 'n1' })).toBe('kill n1');
    expect(faultLabel({ connectionId: 'c', action: 'isolate', datacenter: 'dc-b' })).toBe('isolate dc-b');
    expect(faultLabel({ connectionId: 'c', action: 'latency', from: 'dc-a', to: 'dc-c', ms: 80 })).toBe('latency dc-a ↔ dc-c 80 ms');
  });
});

describe('topology store', () => {
  it('keeps the latest update per connection and ignores an older one', () => {
    const store = useTopologyStore();
    store.applyUpdate(update('c1', topologyFixture({ term: 5 }), 2_000));
    store.applyUpdate(update('c1', topologyFixture({ term: 4 }), 1_000));
    store.applyUpdate(update('c2', topologyFixture({ term: 9 }), 500));
    expect(store.models.c1?.term).toBe(5);
    expect(store.models.c2?.term).toBe(9);
  });

  it('keeps the last good topology when a later read fails, and shows the error', () => {
    const store = useTopologyStore();
    store.applyUpdate(update('c1', topologyFixture(), 1_000));
    store.applyUpdate(update('c1', null, 2_000, { code: 'Unavailable', message: 'no node answered' }));
    const model = store.models.c1;
    expect(model?.topology?.clusterId).toBe('local-test');
    expect(model?.error?.code).toBe('Unavailable');
    expect(model?.health.level).toBe('unknown');
  });

  it('fetch reads the topology once and records a failure as an update', async () => {
    let fail = false;
    setNodeApi(
      fakeNodeApi({
        getTopology: async () => {
          if (fail) throw new ApiRequestError('NotFound', 'no such connection');
          return topologyFixture();
        },
      }),
    );
    const store = useTopologyStore();
    await store.fetch('c1');
    expect(store.models.c1?.leader?.id).toBe('n1');
    expect(store.loading.c1).toBeUndefined();
    fail = true;
    await new Promise((r) => setTimeout(r, 2));
    await store.fetch('c1');
    expect(store.models.c1?.error).toEqual({ code: 'NotFound', message: 'no such connection' });
  });

  it('fault runs the action, marks it busy meanwhile, and logs ok and failed results newest first', async () => {
    let release: () => void = () => undefined;
    const api = fakeNodeApi({
      clusterFault: async (req) => {
        if (req.action === 'isolate') throw new ApiRequestError('ReadOnly', 'this connection is read-only');
        await new Promise<void>((r) => (release = r));
        return { message: 'killed n1 (pid 4242)' };
      },
    });
    setNodeApi(api);
    const store = useTopologyStore();
    const running = store.fault({ connectionId: 'c1', action: 'kill', node: 'n1' });
    expect(store.faultBusy.c1).toBe('kill n1');
    release();
    expect(await running).toMatchObject({ label: 'kill n1', ok: true, message: 'killed n1 (pid 4242)', code: null });
    expect(store.faultBusy.c1).toBeUndefined();
    await store.fault({ connectionId: 'c1', action: 'isolate', datacenter: 'dc-c' });
    expect(store.faultLog.c1?.map((r) => [r.label, r.ok, r.code])).toEqual([
      ['isolate dc-c', false, 'ReadOnly'],
      ['kill n1', true, null],
    ]);
    expect(api.clusterFault).toHaveBeenCalledWith({ connectionId: 'c1', action: 'kill', node: 'n1' });
  });
});
