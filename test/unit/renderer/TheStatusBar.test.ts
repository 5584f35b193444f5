// Component tests of TheStatusBar and TheBackendBanner: the shown connection's leader, term and
// one-word health, and the bridge state with the disconnected banner.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TopologyView as Topology } from '../../../core/api/clientProtocol.ts';
import type { TopologyUpdate } from '../../../core/api/contract.ts';
import TheBackendBanner from '../../../renderer/components/TheBackendBanner.vue';
import TheStatusBar from '../../../renderer/components/TheStatusBar.vue';
import { setNodeApi, type BridgeStatus } from '../../../renderer/services/nodeApi.ts';
import { connection, fakeNodeApi, topologyFixture, update } from './fixtures.ts';
import { mountWithStores } from './mountHelpers.ts';

beforeEach(() => {
  setNodeApi(fakeNodeApi());
});

afterEach(() => {
  setNodeApi(null);
});

const byId = (id: string): string => `[data-testid="${id}"]`;
const c1 = connection({ id: 'c1', name: 'prod-eu', state: 'open' });

async function bar(topology: Topology | null, error: TopologyUpdate['error'] = null, bridgeStatus?: BridgeStatus) {
  const topologies = { c1: { update: update('c1', topology, 1, error), lastGood: topology } };
  const { wrapper } = await mountWithStores(TheStatusBar, { connections: [c1], topologies, ...(bridgeStatus ? { bridgeStatus } : {}) }, { route: '/clusters/c1/topology' });
  return wrapper;
}

function withStates(states: Record<string, 'down' | 'follower'>, lag: Record<string, number> = {}): Topology {
  const t = topologyFixture();
  return {
    ...t,
    datacenters: t.datacenters.map((dc) => ({
      ...dc,
      nodes: dc.nodes.map((n) => ({ ...n, state: states[n.id] ?? n.state, lagEntries: lag[n.id] ?? n.lagEntries })),
    })),
  };
}

describe('TheStatusBar', () => {
  it('shows the connection, leader with datacenter, term and ok health', async () => {
    const wrapper = await bar(topologyFixture());
    expect(wrapper.get(byId('status-connection')).text()).toContain('prod-eu · open');
    expect(wrapper.get(byId('status-leader')).text()).toContain('n1 (dc-a)');
    expect(wrapper.get(byId('status-term')).text()).toContain('4');
    expect(wrapper.get(byId('status-health')).attributes('data-health')).toBe('ok');
    expect(wrapper.get(byId('status-health')).text()).toContain('ok');
  });

  it('is degraded when a node is down', async () => {
    const wrapper = await bar(withStates({ n4: 'down' }));
    expect(wrapper.get(byId('status-health')).attributes('data-health')).toBe('degraded');
    expect(wrapper.get(byId('status-health')).attributes('title')).toContain('n4 (dc-b) is down');
  });

  it('is degraded when a node lags', async () => {
    const wrapper = await bar(withStates({}, { n2: 500 }));
    expect(wrapper.get(byId('status-health')).attributes('data-health')).toBe('degraded');
    expect(wrapper.get(byId('status-health')).attributes('title')).toContain('n2 is 500 entries behind');
  });

  it('says no leader when there is none, even with nodes down', async () => {
    const wrapper = await bar({ ...withStates({ n1: 'down' }), leader: null });
    expect(wrapper.get(byId('status-health')).attributes('data-health')).toBe('no-leader');
    expect(wrapper.get(byId('status-health')).text()).toContain('no leader');
    expect(wrapper.get(byId('status-leader')).text()).toContain('none');
  });

  it('is unknown when the topology cannot be read', async () => {
    const wrapper = await bar(null, { code: 'Unavailable', message: 'no node answered' });
    expect(wrapper.get(byId('status-health')).attributes('data-health')).toBe('unknown');
    expect(wrapper.get(byId('status-leader')).text()).toContain('—');
  });

  it('shows the bridge and its state', async () => {
    const wrapper = await bar(topologyFixture(), null, { kind: 'websocket', state: 'disconnected', detail: 'lost' });
    expect(wrapper.get(byId('status-bridge')).attributes('data-state')).toBe('disconnected');
    expect(wrapper.get(byId('status-bridge')).text()).toContain('console WebSocket: disconnected');
  });

  it('off a cluster route it shows no cluster', async () => {
    const { wrapper } = await mountWithStores(TheStatusBar, { connections: [c1] }, { route: '/' });
    expect(wrapper.get(byId('status-connection')).text()).toBe('no cluster shown');
    expect(wrapper.find(byId('status-health')).exists()).toBe(false);
  });
});

describe('TheBackendBanner', () => {
  it('is hidden while the bridge is open', async () => {
    const { wrapper } = await mountWithStores(TheBackendBanner, {});
    expect(wrapper.find(byId('backend-banner')).exists()).toBe(false);
  });

  it('says the console is disconnected from its backend, with the reason', async () => {
    const { wrapper } = await mountWithStores(TheBackendBanner, {
      bridgeStatus: { kind: 'websocket', state: 'disconnected', detail: 'lost the link to the console backend (code 1006) — retrying in 2.0 s' },
    });
    const banner = wrapper.get(byId('backend-banner'));
    expect(banner.attributes('data-state')).toBe('disconnected');
    expect(banner.text()).toContain('Disconnected from console backend.');
    expect(banner.text()).toContain('retrying in 2.0 s');
  });
});
