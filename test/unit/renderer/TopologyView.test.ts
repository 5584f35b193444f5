// Component tests of TopologyView: datacenters, nodes with roles, the leader, RTT labels and the
// warning banner from a fixture topology; fault buttons that call the store, disabled when the
// connection is read-only and absent for remote clusters.

import { flushPromises } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectionSummary } from '../../../core/api/contract.ts';
import type { TopologyView as Topology } from '../../../core/api/clientProtocol.ts';
import { setNodeApi } from '../../../renderer/services/nodeApi.ts';
import { useTopologyStore } from '../../../renderer/stores/topology.ts';
import TopologyView from '../../../renderer/views/TopologyView.vue';
import { connection, fakeNodeApi, topologyFixture, update } from './fixtures.ts';
import { mountWithStores, type StateSeed } from './mountHelpers.ts';

beforeEach(() => {
  setNodeApi(fakeNodeApi());
});

afterEach(() => {
  setNodeApi(null);
});

const byId = (id: string): string => `[data-testid="${id}"]`;
const local = connection({ id: 'l1', name: 'local', kind: 'local', saved: false, state: 'open', role: 'admin' });

async function mountTopology(conn: ConnectionSummary, topology: Topology | null = topologyFixture(), extra: StateSeed = {}) {
  const topologies = topology ? { [conn.id]: { update: update(conn.id, topology), lastGood: topology } } : {};
  return mountWithStores(TopologyView, { connections: [conn], topologies, ...extra }, { route: `/clusters/${conn.id}/topology`, props: { id: conn.id } });
}

describe('TopologyView: the picture', () => {
  it('draws each datacenter with its nodes, roles in colour class and text', async () => {
    const { wrapper } = await mountTopology(local);
    for (const dc of ['dc-a', 'dc-b', 'dc-c']) expect(wrapper.find(byId(`dc-${dc}`)).exists()).toBe(true);
    expect(wrapper.get(byId('dc-dc-a')).findAll('[data-testid^="node-n"][data-role]').map((n) => n.attributes('data-testid'))).toEqual(['node-n1', 'node-n2']);
    const n1 = wrapper.get(byId('node-n1'));
    expect(n1.attributes('data-role')).toBe('leader');
    expect(n1.classes()).toContain('role-leader');
    expect(wrapper.get(byId('node-n1-role')).text()).toBe('leader');
    expect(wrapper.get(byId('node-n3')).attributes('data-role')).toBe('follower');
    expect(wrapper.get(byId('node-n5')).attributes('data-role')).toBe('learner');
    expect(wrapper.get(byId('node-n5-role')).text()).toBe('learner');
    expect(wrapper.get(byId('node-n4-lag')).text()).toBe('3 entries');
    expect(wrapper.get(byId('node-n4')).text()).toContain('1,520');
    expect(wrapper.get(byId('dc-dc-a')).text()).toContain('leader');
  });

  it('labels the link between each pair of datacenters with its median RTT', async () => {
    const { wrapper } = await mountTopology(local);
    expect(wrapper.get(byId('link-dc-a-dc-b')).text()).toContain('61 ms');
    expect(wrapper.get(byId('link-dc-a-dc-c')).text()).toContain('90 ms');
    expect(wrapper.get(byId('link-dc-b-dc-c')).text()).toContain('71 ms');
    expect(wrapper.get(byId('link-dc-a-dc-b')).attributes('data-rtt-ms')).toBe('61');
  });

  it('shows the election-timeout warning and the leader, term and health', async () => {
    const { wrapper } = await mountTopology(local);
    expect(wrapper.get(byId('topology-warning')).text()).toMatch(/election timeout 1000 ms is under ten times/);
    expect(wrapper.get(byId('topology-health')).attributes('data-health')).toBe('ok');
    expect(wrapper.text()).toContain('n1 (dc-a)');
  });

  it('shows a down node as down and the cluster as degraded', async () => {
    const t = topologyFixture();
    const down = { ...t, datacenters: t.datacenters.map((dc) => ({ ...dc, nodes: dc.nodes.map((n) => (n.id === 'n3' ? { ...n, state: 'down' as const, term: 0, commitIndex: 0, appliedIndex: 0, lagEntries: 0, lastContactMs: null } : n)) })) };
    const { wrapper } = await mountTopology(local, down);
    expect(wrapper.get(byId('node-n3')).attributes('data-role')).toBe('down');
    expect(wrapper.get(byId('node-n3-term')).text()).toBe('term —');
    expect(wrapper.get(byId('node-n3-lag')).text()).toBe('—');
    expect(wrapper.get(byId('topology-health')).attributes('data-health')).toBe('degraded');
    expect(wrapper.get(byId('dc-dc-b')).text()).toContain('1/2 up');
  });

  it('follows pushed updates live', async () => {
    const { wrapper } = await mountTopology(local);
    const store = useTopologyStore();
    const moved = topologyFixture({ term: 5, leader: { id: 'n3', datacenter: 'dc-b' } });
    const next = {
      ...moved,
      datacenters: moved.datacenters.map((dc) => ({
        ...dc,
        nodes: dc.nodes.map((n) => (n.id === 'n3' ? { ...n, state: 'leader' as const } : n.id === 'n1' ? { ...n, state: 'follower' as const } : n)),
      })),
    };
    store.entries = { l1: { update: update('l1', next, 1_800_000_000_000), lastGood: next } };
    await flushPromises();
    expect(wrapper.get(byId('node-n3')).attributes('data-role')).toBe('leader');
    expect(wrapper.get(byId('node-n1')).attributes('data-role')).toBe('follower');
    expect(wrapper.get(byId('dc-dc-b')).text()).toContain('leader');
  });

  it('shows a read error over the last picture', async () => {
    const t = topologyFixture();
    const { wrapper } = await mountWithStores(
      TopologyView,
      { connections: [local], topologies: { l1: { update: update('l1', null, 2, { code: 'Unavailable', message: 'no node answered' }), lastGood: t } } },
      { route: '/clusters/l1/topology', props: { id: 'l1' } },
    );
    expect(wrapper.get(byId('topology-error')).text()).toContain('no node answered');
    expect(wrapper.find(byId('node-n1')).exists()).toBe(true);
  });

  it('reads the topology once when none has arrived yet', async () => {
    await mountTopology(local, null);
    expect(useTopologyStore().fetch).toHaveBeenCalledWith('l1');
  });

  it('says so for an unknown connection', async () => {
    const { wrapper } = await mountWithStores(TopologyView, { connections: [] }, { route: '/clusters/gone/topology', props: { id: 'gone' } });
    expect(wrapper.get(byId('topology-missing')).text()).toContain('gone');
  });
});

describe('TopologyView: fault controls', () => {
  it('node buttons stop, kill and restart through the store', async () => {
    const { wrapper } = await mountTopology(local);
    const store = useTopologyStore();
    await wrapper.get(byId('node-n1-kill')).trigger('click');
    await wrapper.get(byId('node-n2-stop')).trigger('click');
    await wrapper.get(byId('node-n5-restart')).trigger('click');
    expect(store.fault).toHaveBeenNthCalledWith(1, { connectionId: 'l1', action: 'kill', node: 'n1' });
    expect(store.fault).toHaveBeenNthCalledWith(2, { connectionId: 'l1', action: 'stop', node: 'n2' });
    expect(store.fault).toHaveBeenNthCalledWith(3, { connectionId: 'l1', action: 'restart', node: 'n5' });
  });

  it('isolate, heal and the latency editor call the store', async () => {
    const { wrapper } = await mountTopology(local);
    const store = useTopologyStore();
    await wrapper.get(byId('dc-dc-c-isolate')).trigger('click');
    expect(store.fault).toHaveBeenLastCalledWith({ connectionId: 'l1', action: 'isolate', datacenter: 'dc-c' });
    await wrapper.get(byId('heal')).trigger('click');
    expect(store.fault).toHaveBeenLastCalledWith({ connectionId: 'l1', action: 'heal' });
    await wrapper.get(byId('latency-from')).setValue('dc-a');
    await wrapper.get(byId('latency-to')).setValue('dc-c');
    await wrapper.get(byId('latency-ms')).setValue('80');
    await wrapper.get(byId('latency-apply')).trigger('submit');
    expect(store.fault).toHaveBeenLastCalledWith({ connectionId: 'l1', action: 'latency', from: 'dc-a', to: 'dc-c', ms: 80 });
  });

  it('the latency editor refuses a pair of one datacenter and a bad number', async () => {
    const { wrapper } = await mountTopology(local);
    const store = useTopologyStore();
    await wrapper.get(byId('latency-from')).setValue('dc-b');
    await wrapper.get(byId('latency-to')).setValue('dc-b');
    await wrapper.get(byId('latency-apply')).trigger('submit');
    expect(wrapper.get(byId('latency-error')).text()).toBe('choose two different datacenters');
    await wrapper.get(byId('latency-to')).setValue('dc-a');
    await wrapper.get(byId('latency-ms')).setValue('5000');
    await wrapper.get(byId('latency-apply')).trigger('submit');
    expect(wrapper.get(byId('latency-error')).text()).toMatch(/0 to 2000/);
    expect(store.fault).not.toHaveBeenCalled();
  });

  it('every control is disabled on a read-only connection and clicks do nothing', async () => {
    const { wrapper } = await mountTopology({ ...local, readOnly: true });
    const store = useTopologyStore();
    for (const id of ['node-n1-kill', 'node-n1-stop', 'node-n1-restart', 'dc-dc-a-isolate', 'heal', 'latency-apply', 'latency-ms']) {
      expect(wrapper.get(byId(id)).attributes('disabled'), id).toBeDefined();
    }
    expect(wrapper.get(byId('fault-disabled')).text()).toMatch(/read-only/);
    await wrapper.get(byId('node-n1-kill')).trigger('click');
    await wrapper.get(byId('heal')).trigger('click');
    expect(store.fault).not.toHaveBeenCalled();
  });

  it('controls wait while a fault action runs', async () => {
    const { wrapper } = await mountTopology(local, topologyFixture(), { faultBusy: { l1: 'kill n1' } });
    expect(wrapper.get(byId('node-n2-kill')).attributes('disabled')).toBeDefined();
    expect(wrapper.get(byId('fault-busy')).text()).toContain('kill n1');
  });

  it('remote clusters get no fault controls', async () => {
    const { wrapper } = await mountTopology(connection({ id: 'r1', state: 'open', kind: 'remote' }));
    expect(wrapper.find(byId('node-n1')).exists()).toBe(true);
    expect(wrapper.find(byId('node-n1-kill')).exists()).toBe(false);
    expect(wrapper.find(byId('dc-dc-a-isolate')).exists()).toBe(false);
    expect(wrapper.find(byId('fault-panel')).exists()).toBe(false);
  });

  it('shows the result of the last action, and failures with their code', async () => {
    const { wrapper } = await mountTopology(local, topologyFixture(), {
      faultLog: {
        l1: [
          { label: 'restart n9', ok: false, message: 'no node n9 in this cluster', code: 'NotFound', at: 2 },
          { label: 'kill n1', ok: true, message: 'killed n1 (pid 4242)', code: null, at: 1 },
        ],
      },
    });
    const latest = wrapper.get(byId('fault-result'));
    expect(latest.attributes('data-ok')).toBe('false');
    expect(latest.text()).toContain('restart n9');
    expect(latest.text()).toContain('no node n9 in this cluster');
    expect(latest.text()).toContain('NotFound');
    expect(wrapper.get(byId('fault-panel')).text()).toContain('killed n1 (pid 4242)');
  });
});
