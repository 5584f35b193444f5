// Tests of services/nodeApi.ts without a network: replies unwrapped into values or typed errors,
// the Electron bridge wrapped, the access token taken out of the address, the test seam.

import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BridgeApi } from '../../../core/api/contract.ts';
import {
  ApiRequestError,
  bridge,
  consoleSocketUrl,
  createDefaultBridge,
  errorOf,
  nodeApi,
  setNodeApi,
  takeAccessToken,
  unwrapReply,
  wrapBridge,
} from '../../../renderer/services/nodeApi.ts';
import { connection, fakeNodeApi } from './fixtures.ts';

afterEach(() => {
  setNodeApi(null);
});

async function rejection(promise: Promise<unknown>): Promise<ApiRequestError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ApiRequestError);
    return err as ApiRequestError;
  }
  throw new Error('expected a rejection');
}

describe('unwrapReply', () => {
  it('returns the value of an ok reply, including null', () => {
    expect(unwrapReply({ ok: true, value: { json: '[]' } })).toEqual({ json: '[]' });
    expect(unwrapReply({ ok: true, value: null })).toBeNull();
  });

  it('throws an ApiRequestError with the code and message of an error reply', () => {
    const reply = { ok: false, error: { code: 'WrongCluster', message: 'expected cluster a, found b' } };
    expect(() => unwrapReply(reply)).toThrow(ApiRequestError);
    try {
      unwrapReply(reply);
    } catch (err) {
      expect((err as ApiRequestError).code).toBe('WrongCluster');
      expect((err as ApiRequestError).message).toBe('expected cluster a, found b');
      expect((err as ApiRequestError).body).toEqual(reply.error);
    }
  });

  it('turns a malformed reply into an Internal error instead of a crash', () => {
    for (const bad of [undefined, null, 'ok', [], { ok: 'yes' }, { ok: false }, { ok: false, error: 'x' }]) {
      expect(() => unwrapReply(bad)).toThrow(/malformed reply/);
    }
    try {
      unwrapReply({ ok: false, error: { code: '', message: 5 } });
    } catch (err) {
      expect((err as ApiRequestError).code).toBe('Internal');
      expect((err as ApiRequestError).message).toMatch(/refused/);
    }
  });
});

describe('errorOf', () => {
  it('keeps the code of an ApiRequestError and calls anything else Internal', () => {
    expect(errorOf(new ApiRequestError('Unreachable', 'no endpoint answered'))).toEqual({ code: 'Unreachable', message: 'no endpoint answered' });
    expect(errorOf(new Error('boom'))).toEqual({ code: 'Internal', message: 'boom' });
    expect(errorOf('text')).toEqual({ code: 'Internal', message: 'text' });
  });
});

function fakeBridgeApi(): BridgeApi {
  const reply = <T>(value: T) => Promise.resolve({ ok: true as const, value });
  return {
    getAppInfo: vi.fn(() => reply({ bridge: 'electron' as const, version: '1', canLaunchLocal: true, stateDir: 'state' })),
    listConnections: vi.fn(() => reply([connection({ id: 'a' })])),
    saveConnection: vi.fn(() => Promise.resolve({ ok: false as const, error: { code: 'BadRequest' as const, message: 'endpoints[0] must start with ws:// or wss://' } })),
    deleteConnection: vi.fn(() => reply(null)),
    exportConnections: vi.fn(() => reply({ json: '{}' })),
    importConnections: vi.fn(() => reply({ imported: 2 })),
    openConnection: vi.fn(() => Promise.reject(new Error('IPC channel closed'))),
    closeConnection: vi.fn(() => reply(null)),
    launchLocalCluster: vi.fn(() => reply(connection({ id: 'l', kind: 'local' }))),
    stopLocalCluster: vi.fn(() => reply(null)),
    getTopology: vi.fn(() => Promise.resolve({ ok: false as const, error: { code: 'Unavailable' as const, message: 'no leader' } })),
    clusterFault: vi.fn(() => reply({ message: 'killed n1' })),
    queryLocks: vi.fn(() => reply({ locks: [], total: 0, offset: 0, now: 1 })),
    getLockDetail: vi.fn(() => reply({ lock: null, sessions: [], events: [], now: 1 })),
    forceRelease: vi.fn(() => reply({ previous: [], next: [], lock: null })),
    listSessions: vi.fn(() => reply({ sessions: [], now: 1 })),
    closeSession: vi.fn(() => reply(null)),
    kvList: vi.fn(() => reply({ items: [], revision: 1, truncated: false })),
    kvGet: vi.fn(() => reply({ item: null, revision: 1 })),
    kvPut: vi.fn(() =>
      Promise.resolve({
        ok: false as const,
        error: { code: 'CasConflict' as const, message: 'revision mismatch', current: { key: '/a', value: 'theirs', revision: 9, createRevision: 2, version: 3 } },
      }),
    ),
    kvDelete: vi.fn(() => Promise.resolve({ ok: false as const, error: { code: 'CasConflict' as const, message: 'gone', current: null } })),
    kvHistory: vi.fn(() => reply({ changes: [], since: 1 })),
    getSettings: vi.fn(() => reply({ settings: {} })),
    setSettings: vi.fn(() => reply({ settings: {} })),
    listEvents: vi.fn(() => reply({ events: [] })),
    getMetrics: vi.fn(() => reply({ samples: [] })),
    onConnectionsChanged: vi.fn(() => () => undefined),
    onTopology: vi.fn(() => () => undefined),
    onLocksChanged: vi.fn(() => () => undefined),
    onKvChanges: vi.fn(() => () => undefined),
    onMetrics: vi.fn(() => () => undefined),
  };
}

describe('wrapBridge (Electron preload)', () => {
  it('resolves ok replies to their values and passes payloads through', async () => {
    const raw = fakeBridgeApi();
    const api = wrapBridge(raw);
    expect(await api.listConnections(undefined)).toEqual([connection({ id: 'a' })]);
    expect(await api.clusterFault({ connectionId: 'l', action: 'kill', node: 'n1' })).toEqual({ message: 'killed n1' });
    expect(raw.clusterFault).toHaveBeenCalledWith({ connectionId: 'l', action: 'kill', node: 'n1' });
  });

  it('rejects error replies with their code and message', async () => {
    const api = wrapBridge(fakeBridgeApi());
    const err = await rejection(api.saveConnection({ name: 'x', group: '', endpoints: ['http://x'], token: 't', readOnly: false }));
    expect(err.code).toBe('BadRequest');
    expect(err.message).toContain('endpoints[0]');
    expect((await rejection(api.getTopology({ connectionId: 'a' }))).code).toBe('Unavailable');
  });

  it('keeps the current version of the key on a CasConflict (null when it was deleted)', async () => {
    const api = wrapBridge(fakeBridgeApi());
    const put = await rejection(api.kvPut({ connectionId: 'a', key: '/a', value: 'mine', expectRevision: 4 }));
    expect(put.code).toBe('CasConflict');
    expect(put.current).toEqual({ key: '/a', value: 'theirs', revision: 9, createRevision: 2, version: 3 });
    expect(errorOf(put)).toEqual({ code: 'CasConflict', message: 'revision mismatch', current: { key: '/a', value: 'theirs', revision: 9, createRevision: 2, version: 3 } });
    const del = await rejection(api.kvDelete({ connectionId: 'a', key: '/a', expectRevision: 4 }));
    expect(del.current).toBeNull();
    expect((await rejection(api.getTopology({ connectionId: 'a' }))).current).toBeUndefined();
  });

  it('turns a failure of the IPC call itself into an Internal error naming the request', async () => {
    const err = await rejection(wrapBridge(fakeBridgeApi()).openConnection({ connectionId: 'a' }));
    expect(err.code).toBe('Internal');
    expect(err.message).toMatch(/openConnection.*IPC channel closed/);
  });

  it('subscribes push listeners straight through and hands back the unsubscribe', () => {
    const raw = fakeBridgeApi();
    const off = vi.fn();
    vi.mocked(raw.onTopology).mockReturnValue(off);
    const listener = vi.fn();
    const unsubscribe = wrapBridge(raw).onTopology(listener);
    expect(raw.onTopology).toHaveBeenCalledWith(listener);
    unsubscribe();
    expect(off).toHaveBeenCalledOnce();
  });
});

describe('the access token in the address', () => {
  it('is read from ?token= and removed from the address bar, keeping the route', () => {
    window.history.replaceState(null, '', '/?token=abc%2Bdef&x=1#/clusters/c1/topology');
    expect(takeAccessToken(window)).toBe('abc+def');
    expect(window.location.search).toBe('?x=1');
    expect(window.location.hash).toBe('#/clusters/c1/topology');
    expect(window.location.href).not.toContain('abc');
  });

  it('is null when absent or empty', () => {
    window.history.replaceState(null, '', '/#/');
    expect(takeAccessToken(window)).toBeNull();
    window.history.replaceState(null, '', '/?token=#/');
    expect(takeAccessToken(window)).toBeNull();
  });

  it('goes into the WebSocket URL of the page host, wss under https', () => {
    expect(consoleSocketUrl({ protocol: 'http:', host: '127.0.0.1:7420' }, 'a b')).toBe('ws://127.0.0.1:7420/api?token=a%20b');
    expect(consoleSocketUrl({ protocol: 'https:', host: 'console.example' }, 't')).toBe('wss://console.example/api?token=t');
  });
});

describe('picking the bridge', () => {
  it('uses window.warden when the preload provides it', async () => {
    const raw = fakeBridgeApi();
    window.warden = raw;
    try {
      const b = createDefaultBridge(window);
      expect(b.status()).toEqual({ kind: 'electron', state: 'open', detail: null });
      expect(await b.api.importConnections({ json: '{}' })).toEqual({ imported: 2 });
    } finally {
      delete window.warden;
    }
  });

  it('without a token in a browser, stays disconnected and says how to get one', async () => {
    window.history.replaceState(null, '', '/#/');
    const b = createDefaultBridge(window);
    expect(b.status().kind).toBe('websocket');
    expect(b.status().state).toBe('disconnected');
    expect(b.status().detail).toMatch(/no access token.*warden console/);
    const err = await rejection(b.api.listConnections(undefined));
    expect(err.code).toBe('Unavailable');
    b.close();
  });

  it('setNodeApi swaps in a fake for every caller of nodeApi()', async () => {
    const fake = fakeNodeApi({ listConnections: async () => [connection({ id: 'z' })] });
    setNodeApi(fake);
    expect(nodeApi()).toBe(fake);
    expect(bridge().status()).toEqual({ kind: 'custom', state: 'open', detail: null });
    expect(await nodeApi().listConnections(undefined)).toEqual([connection({ id: 'z' })]);
  });
});
