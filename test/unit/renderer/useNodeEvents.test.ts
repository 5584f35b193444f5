// Tests of composables/useNodeEvents.ts and stores/app.ts: pushes reach the stores while the
// scope lives, the bridge status is mirrored, and a reconnect re-reads what pushes may have missed.

import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { effectScope, nextTick } from 'vue';
import type { Unsubscribe } from '../../../core/api/contract.ts';
import { useNodeEvents } from '../../../renderer/composables/useNodeEvents.ts';
import { setBridge, setNodeApi, type BridgeStatus, type ConsoleBridge } from '../../../renderer/services/nodeApi.ts';
import { useAppStore } from '../../../renderer/stores/app.ts';
import { useConnectionsStore } from '../../../renderer/stores/connections.ts';
import { useConfigStore } from '../../../renderer/stores/config.ts';
import { useLocksStore } from '../../../renderer/stores/locks.ts';
import { useMetricsStore } from '../../../renderer/stores/metrics.ts';
import { useTopologyStore } from '../../../renderer/stores/topology.ts';
import { connection, fakeNodeApi, sample, topologyFixture, update, type FakeNodeApi } from './fixtures.ts';

beforeEach(() => {
  setActivePinia(createPinia());
});

afterEach(() => {
  setNodeApi(null);
});

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await nextTick();
};

function handlers(): Parameters<typeof fakeNodeApi>[0] {
  return {
    getAppInfo: async () => ({ bridge: 'browser', version: '0.1.0', canLaunchLocal: true, stateDir: 'state' }),
    listConnections: async () => [connection({ id: 'c1', state: 'open' }), connection({ id: 'c2' })],
    getTopology: async () => topologyFixture(),
  };
}

/** A bridge whose status the test drives, as a dropping WebSocket would. */
function flakyBridge(api: FakeNodeApi): ConsoleBridge & { set(status: BridgeStatus): void } {
  let status: BridgeStatus = { kind: 'websocket', state: 'connecting', detail: null };
  const listeners = new Set<(s: BridgeStatus) => void>();
  return {
    api,
    status: () => status,
    onStatus(l): Unsubscribe {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    close: () => undefined,
    set(next) {
      status = next;
      for (const l of listeners) l(next);
    },
  };
}

describe('useNodeEvents', () => {
  it('loads on an open bridge, applies pushes, and stops listening when the scope ends', async () => {
    const api = fakeNodeApi(handlers());
    setNodeApi(api);
    const scope = effectScope();
    scope.run(() => useNodeEvents());
    await flush();
    const app = useAppStore();
    const connections = useConnectionsStore();
    const topology = useTopologyStore();
    expect(app.info?.bridge).toBe('browser');
    expect(app.canLaunchLocal).toBe(true);
    expect(connections.list.map((c) => c.id)).toEqual(['c1', 'c2']);
    expect(api.getTopology).toHaveBeenCalledWith({ connectionId: 'c1' });
    expect(topology.models.c1?.leader?.id).toBe('n1');

    api.emit('onConnectionsChanged', [connection({ id: 'c3', state: 'open' })]);
    api.emit('onTopology', update('c3', topologyFixture({ term: 11 }), Date.now() + 1_000));
    expect(connections.list.map((c) => c.id)).toEqual(['c3']);
    expect(topology.models.c3?.term).toBe(11);

    expect(api.listenerCount('onTopology')).toBe(1);
    scope.stop();
    expect(api.listenerCount('onTopology')).toBe(0);
    expect(api.listenerCount('onConnectionsChanged')).toBe(0);
  });

  it('routes lock, configuration and metrics pushes to their stores', async () => {
    const api = fakeNodeApi({
      ...handlers(),
      queryLocks: async () => ({ locks: [], total: 0, offset: 0, now: 1 }),
      kvList: async () => ({ items: [], revision: 1, truncated: false }),
      getSettings: async () => ({ settings: {} }),
    });
    setNodeApi(api);
    const scope = effectScope();
    scope.run(() => useNodeEvents());
    await flush();
    const locks = useLocksStore();
    const config = useConfigStore();
    const metrics = useMetricsStore();
    locks.open('c1');
    const detach = locks.attach();
    await config.open('c1');
    await flush();
    const before = vi.mocked(api.queryLocks).mock.calls.length;
    api.emit('onLocksChanged', { connectionId: 'c1', at: 5 });
    await flush();
    expect(vi.mocked(api.queryLocks).mock.calls.length).toBe(before + 1);
    api.emit('onKvChanges', { connectionId: 'c1', events: [{ type: 'put', key: '/a/b', value: 'x', prevValue: null, revision: 2 }] });
    expect(config.items.map((i) => i.key)).toEqual(['/a/b']);
    api.emit('onMetrics', { connectionId: 'c1', sample: sample(1_000) });
    expect(metrics.samples.c1).toHaveLength(1);
    detach();
    scope.stop();
    for (const event of ['onLocksChanged', 'onKvChanges', 'onMetrics'] as const) expect(api.listenerCount(event)).toBe(0);
  });

  it('mirrors the bridge status and re-reads everything when the link comes back', async () => {
    const api = fakeNodeApi(handlers());
    const b = flakyBridge(api);
    setBridge(b);
    const scope = effectScope();
    scope.run(() => useNodeEvents());
    const app = useAppStore();
    expect(app.bridgeStatus.state).toBe('connecting');
    expect(api.listConnections).not.toHaveBeenCalled();

    b.set({ kind: 'websocket', state: 'open', detail: null });
    await flush();
    expect(app.backendReachable).toBe(true);
    expect(api.listConnections).toHaveBeenCalledTimes(1);

    b.set({ kind: 'websocket', state: 'disconnected', detail: 'lost the link — retrying in 0.5 s' });
    expect(app.backendReachable).toBe(false);
    expect(app.bridgeStatus.detail).toMatch(/lost the link/);
    expect(app.bridgeLabel).toBe('console WebSocket: disconnected');

    b.set({ kind: 'websocket', state: 'open', detail: null });
    await flush();
    expect(api.listConnections).toHaveBeenCalledTimes(2);
    expect(api.getAppInfo).toHaveBeenCalledTimes(2);
    expect(api.getTopology).toHaveBeenCalledTimes(2);
    scope.stop();
  });
});
