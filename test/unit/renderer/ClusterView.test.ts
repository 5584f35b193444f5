// Component tests of ClusterView and the routes under it: one tab per view, `#/clusters/:id`
// landing on the topology, and lock names with slashes surviving the detail route.

import { flushPromises, type VueWrapper } from '@vue/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { defineComponent, h } from 'vue';
import { RouterView } from 'vue-router';
import { setNodeApi } from '../../../renderer/services/nodeApi.ts';
import { connection, fakeNodeApi, lockPages, topologyFixture } from './fixtures.ts';
import { mountWithStores } from './mountHelpers.ts';

const byId = (id: string): string => `[data-testid="${id}"]`;
const mounted: VueWrapper[] = [];

afterEach(() => {
  while (mounted.length > 0) mounted.pop()?.unmount();
  setNodeApi(null);
});

async function mountCluster(route: string) {
  setNodeApi(fakeNodeApi({ queryLocks: lockPages(3), getTopology: async () => topologyFixture(), getLockDetail: async () => ({ lock: null, sessions: [], events: [], now: 1 }) }));
  const conn = connection({ id: 'c1', name: 'prod-eu', state: 'open', role: 'reader', readOnly: true });
  // The routed frame, as App.vue has it: the router picks ClusterView and the tab below it.
  const Frame = defineComponent({ render: () => h(RouterView) });
  const { wrapper, router } = await mountWithStores(Frame, { connections: [conn] }, { route, realActions: true });
  mounted.push(wrapper as VueWrapper);
  await flushPromises();
  return { wrapper, router };
}

describe('ClusterView', () => {
  it('shows the cluster, its token role, read-only state and a tab per view', async () => {
    const { wrapper } = await mountCluster('/clusters/c1/locks');
    expect(wrapper.get(byId('cluster-name')).text()).toBe('prod-eu');
    expect(wrapper.find(byId('cluster-readonly')).exists()).toBe(true);
    expect(wrapper.get(byId('cluster-role')).text()).toBe('reader');
    const tabs = wrapper.findAll('[data-testid^="tab-"]');
    expect(tabs.map((t) => t.attributes('data-testid'))).toEqual(['tab-topology', 'tab-locks', 'tab-sessions', 'tab-config', 'tab-events', 'tab-metrics']);
    expect(tabs.map((t) => t.attributes('href'))).toEqual(['/clusters/c1/topology', '/clusters/c1/locks', '/clusters/c1/sessions', '/clusters/c1/config', '/clusters/c1/events', '/clusters/c1/metrics']);
    expect(wrapper.get(byId('tab-locks')).classes()).toContain('current');
    expect(wrapper.find(byId('locks-view')).exists()).toBe(true);
  });

  it('lands on the topology, and keeps the locks tab current on a lock detail with slashes in its name', async () => {
    const { wrapper, router } = await mountCluster('/clusters/c1');
    expect(router.currentRoute.value.name).toBe('topology');
    await router.push({ name: 'locks', params: { id: 'c1', name: 'billing/eu/ledger' } });
    await flushPromises();
    expect(router.currentRoute.value.fullPath).toBe('/clusters/c1/locks/billing%2Feu%2Fledger');
    expect(router.resolve('/clusters/c1/locks/billing%2Feu%2Fledger').params.name).toBe('billing/eu/ledger');
    expect(wrapper.get(byId('tab-locks')).classes()).toContain('current');
  });
});
