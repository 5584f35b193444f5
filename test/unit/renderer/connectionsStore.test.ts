// Tests of stores/connections.ts with a real Pinia and a fake NodeApi: the pushed list is the
// truth, actions record per-connection errors, connect reports the failing step and its code.

import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiRequestError, setNodeApi } from '../../../renderer/services/nodeApi.ts';
import { groupConnections, LOCAL_GROUP, UNGROUPED, useConnectionsStore } from '../../../renderer/stores/connections.ts';
import { connection, fakeNodeApi } from './fixtures.ts';

beforeEach(() => {
  setActivePinia(createPinia());
});

afterEach(() => {
  setNodeApi(null);
});

describe('connections store', () => {
  it('refresh loads the list; a push replaces it wholesale', async () => {
    setNodeApi(fakeNodeApi({ listConnections: async () => [connection({ id: 'a' }), connection({ id: 'b', state: 'open' })] }));
    const store = useConnectionsStore();
    expect(store.loaded).toBe(false);
    await store.refresh();
    expect(store.loaded).toBe(true);
    expect(store.list.map((c) => c.id)).toEqual(['a', 'b']);
    expect(store.byId.b?.state).toBe('open');
    expect(store.active.map((c) => c.id)).toEqual(['b']);
    store.applyList([connection({ id: 'c', state: 'launching', kind: 'local', saved: false })]);
    expect(store.list.map((c) => c.id)).toEqual(['c']);
    expect(store.active.map((c) => c.id)).toEqual(['c']);
  });

  it('a slow refresh never overwrites a newer push', async () => {
    let answer: (list: ReturnType<typeof connection>[]) => void = () => undefined;
    setNodeApi(fakeNodeApi({ listConnections: () => new Promise((resolve) => (answer = resolve)) }));
    const store = useConnectionsStore();
    const refreshing = store.refresh();
    store.applyList([connection({ id: 'pushed', state: 'open' })]);
    answer([connection({ id: 'stale' })]);
    await refreshing;
    expect(store.list.map((c) => c.id)).toEqual(['pushed']);
  });

  it('keeps the list error with its code when listing fails', async () => {
    setNodeApi(fakeNodeApi({ listConnections: () => Promise.reject(new ApiRequestError('Unavailable', 'backend down')) }));
    const store = useConnectionsStore();
    await store.refresh();
    expect(store.listError).toEqual({ code: 'Unavailable', message: 'backend down' });
  });

  it('open records the error per connection and clears it on the next success', async () => {
    let fail = true;
    const api = fakeNodeApi({
      openConnection: async ({ connectionId }) => {
        if (fail) throw new ApiRequestError('Unreachable', 'no endpoint answered: ws://10.0.0.9:7001/client');
        return connection({ id: connectionId, state: 'open', role: 'admin' });
      },
    });
    setNodeApi(api);
    const store = useConnectionsStore();
    store.applyList([connection({ id: 'a' })]);
    const opening = store.open('a');
    expect(store.busy.a).toBe('open');
    expect(await opening).toBe(false);
    expect(store.busy.a).toBeUndefined();
    expect(store.actionErrors.a).toEqual({ code: 'Unreachable', message: 'no endpoint answered: ws://10.0.0.9:7001/client' });
    fail = false;
    expect(await store.open('a')).toBe(true);
    expect(store.actionErrors.a).toBeUndefined();
    expect(store.byId.a?.state).toBe('open');
    expect(api.openConnection).toHaveBeenLastCalledWith({ connectionId: 'a' });
  });

  it('connect saves then opens, and says which step failed with the backend code', async () => {
    const api = fakeNodeApi({
      saveConnection: async (req) => connection({ id: 'new1', name: req.name, endpoints: req.endpoints }),
      openConnection: () => Promise.reject(new ApiRequestError('WrongCluster', 'expected cluster c-1, found c-2')),
    });
    setNodeApi(api);
    const store = useConnectionsStore();
    const request = { name: 'prod', group: 'eu', endpoints: ['ws://10.0.0.1:7001/client'], token: 'tok', readOnly: true };
    const outcome = await store.connect(request);
    expect(api.saveConnection).toHaveBeenCalledWith(request);
    expect(outcome).toMatchObject({ ok: false, step: 'open', error: { code: 'WrongCluster' } });
    expect(store.byId.new1?.name).toBe('prod');
    expect(store.actionErrors.new1?.code).toBe('WrongCluster');

    vi.mocked(api.saveConnection).mockImplementation(() => Promise.reject(new ApiRequestError('BadRequest', 'token must not contain whitespace')));
    expect(await store.connect(request)).toMatchObject({ ok: false, step: 'save', error: { code: 'BadRequest' }, connection: null });
  });

  it('connect succeeds with the opened connection', async () => {
    setNodeApi(
      fakeNodeApi({
        saveConnection: async () => connection({ id: 'n' }),
        openConnection: async () => connection({ id: 'n', state: 'open' }),
      }),
    );
    const store = useConnectionsStore();
    const outcome = await store.connect({ name: 'n', group: '', endpoints: ['ws://h:1/client'], token: 't', readOnly: false });
    expect(outcome).toMatchObject({ ok: true, connection: { id: 'n', state: 'open' } });
  });

  it('launchLocal remembers the launch whose progress arrives by push; errors keep their code', async () => {
    const api = fakeNodeApi({
      launchLocalCluster: async () =>
        connection({ id: 'local-1', kind: 'local', saved: false, state: 'launching', launch: { stage: 'planning', message: '', nodesStarted: 0, nodesTotal: 5 } }),
    });
    setNodeApi(api);
    const store = useConnectionsStore();
    expect(await store.launchLocal({ dcs: 3, layout: [2, 2, 1] })).toBe(true);
    expect(store.lastLaunchId).toBe('local-1');
    store.applyList([connection({ id: 'local-1', kind: 'local', saved: false, state: 'launching', launch: { stage: 'starting', message: '', nodesStarted: 3, nodesTotal: 5 } })]);
    expect(store.lastLaunch?.launch?.nodesStarted).toBe(3);
    vi.mocked(api.launchLocalCluster).mockImplementation(() => Promise.reject(new ApiRequestError('BadRequest', 'layout must have 3 entries')));
    expect(await store.launchLocal({ dcs: 3, layout: [2, 2] })).toBe(false);
    expect(store.launchError).toEqual({ code: 'BadRequest', message: 'layout must have 3 entries' });
    expect(store.launching).toBe(false);
  });

  it('finds its launch in the pushed lists before the launch request returns', async () => {
    let finish: (c: ReturnType<typeof connection>) => void = () => undefined;
    setNodeApi(fakeNodeApi({ launchLocalCluster: () => new Promise((resolve) => (finish = resolve)) }));
    const store = useConnectionsStore();
    const older = connection({ id: 'local-old', kind: 'local', saved: false, state: 'open' });
    store.applyList([older]);
    const launching = store.launchLocal({ dcs: 1, layout: [1] });
    expect(store.launching).toBe(true);
    const fresh = connection({ id: 'local-new', kind: 'local', saved: false, state: 'launching', launch: { stage: 'starting', message: '', nodesStarted: 0, nodesTotal: 1 } });
    store.applyList([older, fresh]);
    expect(store.lastLaunchId).toBe('local-new');
    expect(store.lastLaunch?.launch?.stage).toBe('starting');
    finish({ ...fresh, state: 'open', launch: { stage: 'ready', message: '', nodesStarted: 1, nodesTotal: 1 } });
    expect(await launching).toBe(true);
    expect(store.launching).toBe(false);
    expect(store.lastLaunch?.state).toBe('open');
  });

  it('remove drops the connection; export returns JSON; import refreshes and reports the count', async () => {
    const api = fakeNodeApi({
      deleteConnection: async () => null,
      exportConnections: async () => ({ json: '{"version":1,"connections":[]}' }),
      importConnections: async () => ({ imported: 2 }),
      listConnections: async () => [connection({ id: 'x' }), connection({ id: 'y' })],
    });
    setNodeApi(api);
    const store = useConnectionsStore();
    store.applyList([connection({ id: 'a' }), connection({ id: 'b' })]);
    expect(await store.remove('a')).toBe(true);
    expect(store.list.map((c) => c.id)).toEqual(['b']);
    expect(await store.exportJson()).toBe('{"version":1,"connections":[]}');
    expect(await store.importJson('{}')).toBe(2);
    expect(api.importConnections).toHaveBeenCalledWith({ json: '{}' });
    expect(store.transferMessage).toMatch(/imported 2 connections/);
    expect(store.list.map((c) => c.id)).toEqual(['x', 'y']);
  });
});

describe('groupConnections', () => {
  it('puts local clusters first, then named groups alphabetically, then the ungrouped', () => {
    const groups = groupConnections([
      connection({ id: '1', name: 'zeta', group: '' }),
      connection({ id: '2', name: 'eu', group: 'prod' }),
      connection({ id: '3', name: 'local', kind: 'local', saved: false }),
      connection({ id: '4', name: 'stage', group: 'dev' }),
      connection({ id: '5', name: 'asia', group: 'prod' }),
    ]);
    expect(groups.map((g) => g.name)).toEqual([LOCAL_GROUP, 'dev', 'prod', UNGROUPED]);
    expect(groups[2]?.connections.map((c) => c.name)).toEqual(['asia', 'eu']);
  });
});
