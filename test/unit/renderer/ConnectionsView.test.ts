// Component tests of ConnectionsView: the launch form's checks and live progress, the connect
// form's field errors and backend error codes, and the grouped list with its actions.

import { flushPromises } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setNodeApi } from '../../../renderer/services/nodeApi.ts';
import { useConnectionsStore } from '../../../renderer/stores/connections.ts';
import ConnectionsView from '../../../renderer/views/ConnectionsView.vue';
import { connection, fakeNodeApi } from './fixtures.ts';
import { mountWithStores } from './mountHelpers.ts';

beforeEach(() => {
  setNodeApi(fakeNodeApi());
});

afterEach(() => {
  setNodeApi(null);
});

const byId = (id: string): string => `[data-testid="${id}"]`;

describe('ConnectionsView: launch a local cluster', () => {
  it('starts with 3 datacenters laid out 2,2,1 and launches that', async () => {
    const { wrapper } = await mountWithStores(ConnectionsView, {});
    const store = useConnectionsStore();
    expect((wrapper.get(byId('launch-dcs')).element as HTMLSelectElement).value).toBe('3');
    expect([0, 1, 2].map((i) => (wrapper.get(byId(`launch-layout-${i}`)).element as HTMLInputElement).value)).toEqual(['2', '2', '1']);
    await wrapper.get(byId('launch-latency')).setValue('25');
    await wrapper.get(byId('launch-submit')).trigger('submit');
    expect(store.launchLocal).toHaveBeenCalledWith({ dcs: 3, layout: [2, 2, 1], wanLatencyMs: 25 });
  });

  it('shows one layout field per datacenter as the count changes', async () => {
    const { wrapper } = await mountWithStores(ConnectionsView, {});
    await wrapper.get(byId('launch-dcs')).setValue('5');
    expect(wrapper.findAll('[data-testid^="launch-layout-"]').filter((w) => w.element.tagName === 'INPUT')).toHaveLength(5);
    await wrapper.get(byId('launch-dcs')).setValue('1');
    expect(wrapper.find(byId('launch-layout-1')).exists()).toBe(false);
  });

  it('shows field errors and sends nothing when the layout or latency is wrong', async () => {
    const { wrapper } = await mountWithStores(ConnectionsView, {});
    const store = useConnectionsStore();
    await wrapper.get(byId('launch-layout-1')).setValue('0');
    await wrapper.get(byId('launch-latency')).setValue('fast');
    await wrapper.get(byId('launch-submit')).trigger('submit');
    expect(wrapper.get(byId('launch-layout-error')).text()).toBe('datacenter 2 needs 1 to 5 nodes');
    expect(wrapper.get(byId('launch-latency-error')).text()).toMatch(/whole number of milliseconds/);
    expect(wrapper.get(byId('launch-layout-1')).attributes('aria-invalid')).toBe('true');
    expect(store.launchLocal).not.toHaveBeenCalled();
    await wrapper.get(byId('launch-layout-0')).setValue('5');
    await wrapper.get(byId('launch-layout-1')).setValue('5');
    await wrapper.get(byId('launch-latency')).setValue('');
    await wrapper.get(byId('launch-submit')).trigger('submit');
    expect(wrapper.get(byId('launch-layout-error')).text()).toBe('at most 9 nodes in all; this layout has 11');
  });

  it('renders live progress: starting nodes n/N, then electing, then ready with Open', async () => {
    const launching = connection({
      id: 'local-1',
      name: 'local',
      kind: 'local',
      saved: false,
      state: 'launching',
      launch: { stage: 'starting', message: 'started n3', nodesStarted: 3, nodesTotal: 5 },
    });
    const { wrapper, router } = await mountWithStores(ConnectionsView, { connections: [launching], lastLaunchId: 'local-1' });
    const store = useConnectionsStore();
    const progress = wrapper.get(byId('launch-progress'));
    expect(progress.attributes('data-stage')).toBe('starting');
    expect(wrapper.get(byId('launch-nodes')).text()).toBe('3/5 nodes');
    expect(wrapper.get(byId('launch-step-starting')).attributes('data-state')).toBe('active');
    expect(wrapper.get(byId('launch-step-starting')).text()).toContain('Starting nodes 3/5');
    expect(wrapper.get(byId('launch-step-electing')).attributes('data-state')).toBe('pending');
    expect(wrapper.find(byId('launch-open')).exists()).toBe(false);

    store.list = [{ ...launching, launch: { stage: 'electing', message: 'waiting for a leader', nodesStarted: 5, nodesTotal: 5 } }];
    await flushPromises();
    expect(wrapper.get(byId('launch-step-starting')).attributes('data-state')).toBe('done');
    expect(wrapper.get(byId('launch-step-electing')).attributes('data-state')).toBe('active');

    store.list = [{ ...launching, state: 'open', launch: { stage: 'ready', message: 'leader n1 in dc-a', nodesStarted: 5, nodesTotal: 5 } }];
    await flushPromises();
    expect(wrapper.get(byId('launch-step-ready')).attributes('data-state')).toBe('done');
    await wrapper.get(byId('launch-open')).trigger('click');
    await flushPromises();
    expect(router.currentRoute.value.fullPath).toBe('/clusters/local-1/topology');
  });

  it('shows a failed launch with its reason', async () => {
    const failed = connection({
      id: 'local-2',
      kind: 'local',
      saved: false,
      state: 'error',
      error: { code: 'Internal', message: 'n2 exited with code 1 before it was ready' },
      launch: { stage: 'failed', message: 'n2 exited with code 1', nodesStarted: 1, nodesTotal: 5 },
    });
    const { wrapper } = await mountWithStores(ConnectionsView, { connections: [failed], lastLaunchId: 'local-2' });
    expect(wrapper.get(byId('launch-step-starting')).attributes('data-state')).toBe('failed');
    expect(wrapper.get(byId('launch-failure')).text()).toContain('n2 exited with code 1 before it was ready');
  });

  it('says so when the backend cannot launch local clusters', async () => {
    const { wrapper } = await mountWithStores(ConnectionsView, { info: { bridge: 'browser', version: '1', canLaunchLocal: false, stateDir: 's' } });
    expect(wrapper.find(byId('launch-unsupported')).exists()).toBe(true);
    expect(wrapper.find(byId('launch-submit')).exists()).toBe(false);
  });

  it('disables launching while the backend is unreachable', async () => {
    const { wrapper } = await mountWithStores(ConnectionsView, { bridgeStatus: { kind: 'websocket', state: 'disconnected', detail: 'lost' } });
    expect(wrapper.get(byId('launch-submit')).attributes('disabled')).toBeDefined();
    expect(wrapper.get(byId('connect-submit')).attributes('disabled')).toBeDefined();
  });
});

describe('ConnectionsView: connect to a cluster', () => {
  it('marks every missing field and sends nothing', async () => {
    const { wrapper } = await mountWithStores(ConnectionsView, {});
    const store = useConnectionsStore();
    await wrapper.get(byId('connect-submit')).trigger('submit');
    expect(wrapper.get(byId('connect-name-error')).text()).toBe('give the connection a name');
    expect(wrapper.get(byId('connect-endpoints-error')).text()).toMatch(/at least one node endpoint/);
    expect(wrapper.get(byId('connect-token-error')).text()).toBe('a token is required for a new connection');
    expect(store.connect).not.toHaveBeenCalled();
  });

  it('names the bad endpoint line', async () => {
    const { wrapper } = await mountWithStores(ConnectionsView, {});
    await wrapper.get(byId('connect-name')).setValue('prod');
    await wrapper.get(byId('connect-endpoints')).setValue('ws://10.0.0.1:7001/client\nhttps://10.0.0.2/client');
    await wrapper.get(byId('connect-token')).setValue('t');
    await wrapper.get(byId('connect-submit')).trigger('submit');
    expect(wrapper.get(byId('connect-endpoints-error')).text()).toBe('line 2 must start with ws:// or wss://, not https://');
  });

  it('keeps the token in a password field', async () => {
    const { wrapper } = await mountWithStores(ConnectionsView, {});
    expect(wrapper.get(byId('connect-token')).attributes('type')).toBe('password');
  });

  it('sends a valid form and shows the backend error code and message when opening fails', async () => {
    const { wrapper } = await mountWithStores(ConnectionsView, {});
    const store = useConnectionsStore();
    vi.mocked(store.connect).mockResolvedValue({
      ok: false,
      step: 'open',
      error: { code: 'Unauthenticated', message: 'the cluster refused the token' },
      connection: connection({ id: 'c1', state: 'error' }),
    });
    await wrapper.get(byId('connect-name')).setValue('prod-eu');
    await wrapper.get(byId('connect-group')).setValue('prod');
    await wrapper.get(byId('connect-endpoints')).setValue('wss://eu1.example:7001/client\nwss://eu2.example:7001/client\n');
    await wrapper.get(byId('connect-token')).setValue('s3cret');
    await wrapper.get(byId('connect-readonly')).setValue(true);
    await wrapper.get(byId('connect-submit')).trigger('submit');
    await flushPromises();
    expect(store.connect).toHaveBeenCalledWith({
      name: 'prod-eu',
      group: 'prod',
      endpoints: ['wss://eu1.example:7001/client', 'wss://eu2.example:7001/client'],
      token: 's3cret',
      readOnly: true,
    });
    const error = wrapper.get(byId('connect-error'));
    expect(error.attributes('data-code')).toBe('Unauthenticated');
    expect(error.text()).toContain('Saved, but could not connect: the cluster refused the token');
    expect(error.text()).toContain('Unauthenticated');
    expect(error.text()).toMatch(/paste a current one/);
  });

  it('after a failed open, submitting again updates the saved connection instead of adding one', async () => {
    const { wrapper } = await mountWithStores(ConnectionsView, {});
    const store = useConnectionsStore();
    vi.mocked(store.connect).mockResolvedValueOnce({
      ok: false,
      step: 'open',
      error: { code: 'Unauthenticated', message: 'the cluster refused the token' },
      connection: connection({ id: 'c1', name: 'second', state: 'error' }),
    });
    await wrapper.get(byId('connect-name')).setValue('second');
    await wrapper.get(byId('connect-endpoints')).setValue('ws://127.0.0.1:7001/client');
    await wrapper.get(byId('connect-token')).setValue('wrong');
    await wrapper.get(byId('connect-submit')).trigger('submit');
    await flushPromises();
    expect(wrapper.get(byId('connect-error')).text()).toContain('updates the saved connection "second"');
    vi.mocked(store.connect).mockResolvedValueOnce({ ok: true, connection: connection({ id: 'c1', state: 'open' }) });
    await wrapper.get(byId('connect-token')).setValue('right');
    await wrapper.get(byId('connect-submit')).trigger('submit');
    await flushPromises();
    expect(store.connect).toHaveBeenLastCalledWith({ id: 'c1', name: 'second', group: '', endpoints: ['ws://127.0.0.1:7001/client'], token: 'right', readOnly: false });
  });

  it('New connection forgets the saved one after a failed open', async () => {
    const { wrapper } = await mountWithStores(ConnectionsView, {});
    const store = useConnectionsStore();
    vi.mocked(store.connect).mockResolvedValue({ ok: false, step: 'open', error: { code: 'Unreachable', message: 'no endpoint answered' }, connection: connection({ id: 'c1' }) });
    await wrapper.get(byId('connect-name')).setValue('x');
    await wrapper.get(byId('connect-endpoints')).setValue('ws://127.0.0.1:9/client');
    await wrapper.get(byId('connect-token')).setValue('t');
    await wrapper.get(byId('connect-submit')).trigger('submit');
    await flushPromises();
    await wrapper.get(byId('connect-reset')).trigger('click');
    expect((wrapper.get(byId('connect-name')).element as HTMLInputElement).value).toBe('');
    expect(wrapper.find(byId('connect-error')).exists()).toBe(false);
    await wrapper.get(byId('connect-name')).setValue('y');
    await wrapper.get(byId('connect-endpoints')).setValue('ws://127.0.0.1:9/client');
    await wrapper.get(byId('connect-token')).setValue('t');
    await wrapper.get(byId('connect-submit')).trigger('submit');
    expect(store.connect).toHaveBeenLastCalledWith({ name: 'y', group: '', endpoints: ['ws://127.0.0.1:9/client'], token: 't', readOnly: false });
  });

  it('shows Unreachable and WrongCluster with what to check', async () => {
    const { wrapper } = await mountWithStores(ConnectionsView, {});
    const store = useConnectionsStore();
    const fill = async (): Promise<void> => {
      await wrapper.get(byId('connect-name')).setValue('x');
      await wrapper.get(byId('connect-endpoints')).setValue('ws://127.0.0.1:9/client');
      await wrapper.get(byId('connect-token')).setValue('t');
      await wrapper.get(byId('connect-submit')).trigger('submit');
      await flushPromises();
    };
    vi.mocked(store.connect).mockResolvedValue({ ok: false, step: 'open', error: { code: 'Unreachable', message: 'no endpoint answered within 5 s' }, connection: null });
    await fill();
    expect(wrapper.get(byId('connect-error')).text()).toMatch(/no endpoint answered within 5 s.*Unreachable/s);
    vi.mocked(store.connect).mockResolvedValue({ ok: false, step: 'open', error: { code: 'WrongCluster', message: 'expected c-1, found c-2' }, connection: null });
    await fill();
    expect(wrapper.get(byId('connect-error')).attributes('data-code')).toBe('WrongCluster');
    expect(wrapper.get(byId('connect-error')).text()).toMatch(/another cluster/);
  });

  it('goes to the topology of a connection that opened', async () => {
    const { wrapper, router } = await mountWithStores(ConnectionsView, {});
    const store = useConnectionsStore();
    vi.mocked(store.connect).mockResolvedValue({ ok: true, connection: connection({ id: 'c7', state: 'open' }) });
    await wrapper.get(byId('connect-name')).setValue('x');
    await wrapper.get(byId('connect-endpoints')).setValue('ws://127.0.0.1:7001/client');
    await wrapper.get(byId('connect-token')).setValue('t');
    await wrapper.get(byId('connect-submit')).trigger('submit');
    await flushPromises();
    expect(router.currentRoute.value.fullPath).toBe('/clusters/c7/topology');
  });
});

describe('ConnectionsView: the list', () => {
  const list = [
    connection({ id: 'eu', name: 'prod-eu', group: 'prod', state: 'open', role: 'reader', readOnly: true }),
    connection({ id: 'stg', name: 'staging', state: 'error', error: { code: 'Unreachable', message: 'no endpoint answered' } }),
    connection({ id: 'loc', name: 'local', kind: 'local', saved: false, state: 'open' }),
  ];

  it('groups connections and shows state, errors and the actions that fit', async () => {
    const { wrapper } = await mountWithStores(ConnectionsView, { connections: list });
    const groups = wrapper.findAll('[data-testid^="connection-group-"]').map((g) => g.attributes('data-testid'));
    expect(groups).toEqual(['connection-group-Local clusters', 'connection-group-prod', 'connection-group-Ungrouped']);
    expect(wrapper.get(byId('connection-row-eu')).attributes('data-state')).toBe('open');
    expect(wrapper.get(byId('connection-row-eu')).text()).toContain('read-only');
    expect(wrapper.get(byId('connection-stg-error')).attributes('data-code')).toBe('Unreachable');
    expect(wrapper.find(byId('connection-eu-view')).exists()).toBe(true);
    expect(wrapper.find(byId('connection-eu-close')).exists()).toBe(true);
    expect(wrapper.find(byId('connection-stg-open')).exists()).toBe(true);
    expect(wrapper.find(byId('connection-loc-stop')).exists()).toBe(true);
    expect(wrapper.find(byId('connection-loc-delete')).exists()).toBe(false);
  });

  it('opens, closes and stops through the store; delete needs a second click', async () => {
    const { wrapper } = await mountWithStores(ConnectionsView, { connections: list });
    const store = useConnectionsStore();
    await wrapper.get(byId('connection-stg-open')).trigger('click');
    expect(store.open).toHaveBeenCalledWith('stg');
    await wrapper.get(byId('connection-eu-close')).trigger('click');
    expect(store.close).toHaveBeenCalledWith('eu');
    await wrapper.get(byId('connection-loc-stop')).trigger('click');
    expect(store.stopLocal).toHaveBeenCalledWith('loc');
    await wrapper.get(byId('connection-stg-delete')).trigger('click');
    expect(store.remove).not.toHaveBeenCalled();
    await wrapper.get(byId('connection-stg-delete-confirm')).trigger('click');
    expect(store.remove).toHaveBeenCalledWith('stg');
  });

  it('edit fills the form; an empty token keeps the saved one', async () => {
    const { wrapper } = await mountWithStores(ConnectionsView, { connections: list });
    const store = useConnectionsStore();
    await wrapper.get(byId('connection-eu-edit')).trigger('click');
    expect((wrapper.get(byId('connect-name')).element as HTMLInputElement).value).toBe('prod-eu');
    expect((wrapper.get(byId('connect-readonly')).element as HTMLInputElement).checked).toBe(true);
    await wrapper.get(byId('connect-submit')).trigger('submit');
    expect(store.connect).toHaveBeenCalledWith({ id: 'eu', name: 'prod-eu', group: 'prod', endpoints: ['ws://127.0.0.1:7001/client'], readOnly: true });
  });

  it('says when there are no connections', async () => {
    const { wrapper } = await mountWithStores(ConnectionsView, { connections: [] });
    expect(wrapper.find(byId('connections-empty')).exists()).toBe(true);
  });
});
