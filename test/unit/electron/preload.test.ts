// The preload's bridge: exactly one function per contract channel under `window.warden`, no
// generic IPC, listeners that see only payloads, and unsubscribes that work.

import type { ContextBridge, IpcRendererEvent } from 'electron';
import { describe, expect, it, vi } from 'vitest';
import { eventChannels, eventNames, requestChannels, requestNames } from '../../../core/api/contract.ts';
import { buildBridgeApi, exposeBridge } from '../../../electron/preload/bridge.ts';
import type { BridgeIpc } from '../../../electron/preload/bridge.ts';

type Listener = (event: IpcRendererEvent, ...args: unknown[]) => void;

function fakeIpcRenderer() {
  const listeners = new Map<string, Listener[]>();
  const invoke = vi.fn(async (channel: string, ...args: unknown[]) => ({ ok: true, value: { channel, args } }));
  const ipc = {
    invoke,
    on(channel: string, listener: Listener) {
      listeners.set(channel, [...(listeners.get(channel) ?? []), listener]);
      return ipc;
    },
    removeListener(channel: string, listener: Listener) {
      listeners.set(
        channel,
        (listeners.get(channel) ?? []).filter((l) => l !== listener),
      );
      return ipc;
    },
  };
  return {
    ipc: ipc as unknown as BridgeIpc,
    invoke,
    listeners,
    emit(channel: string, payload: unknown) {
      const event = { sender: { send: () => {} }, senderId: 0, ports: [] } as unknown as IpcRendererEvent;
      for (const listener of listeners.get(channel) ?? []) listener(event, payload);
    },
  };
}

function expose() {
  const fake = fakeIpcRenderer();
  const exposed = new Map<string, unknown>();
  const contextBridge = {
    exposeInMainWorld: (key: string, api: unknown) => {
      exposed.set(key, api);
    },
  } as unknown as ContextBridge;
  exposeBridge(contextBridge, fake.ipc);
  return { fake, exposed };
}

describe('exposeBridge', () => {
  it('exposes one object, under "warden", and nothing else', () => {
    const { exposed } = expose();
    expect([...exposed.keys()]).toEqual(['warden']);
  });

  it('exposes exactly one function per request and event channel', () => {
    const api = expose().exposed.get('warden') as Record<string, unknown>;
    expect(Object.keys(api).sort()).toEqual([...requestNames, ...eventNames].sort());
    for (const [name, value] of Object.entries(api)) expect(typeof value, name).toBe('function');
  });

  it('exposes nothing generic: no invoke, send, on or ipcRenderer', () => {
    const api = expose().exposed.get('warden') as Record<string, unknown>;
    for (const generic of ['invoke', 'send', 'sendSync', 'on', 'once', 'removeListener', 'ipcRenderer', 'postMessage']) {
      expect(api[generic], generic).toBeUndefined();
    }
  });

  it('is frozen, so the page cannot repoint a function', () => {
    const api = expose().exposed.get('warden') as Record<string, unknown>;
    expect(Object.isFrozen(api)).toBe(true);
  });
});

describe('request functions', () => {
  it('each invokes its own channel with the payload as the single argument', async () => {
    const { ipc, invoke } = fakeIpcRenderer();
    const api = buildBridgeApi(ipc) as unknown as Record<string, (payload?: unknown) => Promise<unknown>>;
    for (const name of requestNames) {
      const payload = { connectionId: `for-${name}` };
      const reply = await api[name]!(payload);
      expect(reply).toEqual({ ok: true, value: { channel: requestChannels[name], args: [payload] } });
    }
    expect(invoke).toHaveBeenCalledTimes(requestNames.length);
  });

  it('passes the main process reply through untouched, errors included', async () => {
    const { ipc, invoke } = fakeIpcRenderer();
    invoke.mockResolvedValueOnce({ ok: false, error: { code: 'NotFound', message: 'no connection c9' } } as never);
    const reply = await buildBridgeApi(ipc).openConnection({ connectionId: 'c9' });
    expect(reply).toEqual({ ok: false, error: { code: 'NotFound', message: 'no connection c9' } });
  });

  it('answers Unavailable when the main process has no handler yet', async () => {
    const { ipc, invoke } = fakeIpcRenderer();
    invoke.mockRejectedValueOnce(new Error("Error invoking remote method 'warden:app.info': Error: No handler registered for 'warden:app.info'"));
    const reply = await buildBridgeApi(ipc).getAppInfo(undefined);
    expect(reply.ok).toBe(false);
    if (!reply.ok) {
      expect(reply.error.code).toBe('Unavailable');
      expect(reply.error.message).toContain('No handler registered');
    }
  });
});

describe('event functions', () => {
  it('subscribe on their own channel and hand the listener only the payload', () => {
    const fake = fakeIpcRenderer();
    const api = buildBridgeApi(fake.ipc);
    const seen: unknown[][] = [];
    api.onTopology((...args: unknown[]) => seen.push(args));
    expect(fake.listeners.get(eventChannels.onTopology)?.length).toBe(1);
    const update = { connectionId: 'c1', topology: null, error: null, at: 5 };
    fake.emit(eventChannels.onTopology, update);
    fake.emit(eventChannels.onConnectionsChanged, []);
    expect(seen).toEqual([[update]]);
  });

  it('unsubscribe removes only that listener and is safe to call twice', () => {
    const fake = fakeIpcRenderer();
    const api = buildBridgeApi(fake.ipc);
    const first: unknown[] = [];
    const second: unknown[] = [];
    const stopFirst = api.onConnectionsChanged((p) => first.push(p));
    api.onConnectionsChanged((p) => second.push(p));
    fake.emit(eventChannels.onConnectionsChanged, ['a']);
    stopFirst();
    stopFirst();
    fake.emit(eventChannels.onConnectionsChanged, ['b']);
    expect(first).toEqual([['a']]);
    expect(second).toEqual([['a'], ['b']]);
    expect(fake.listeners.get(eventChannels.onConnectionsChanged)?.length).toBe(1);
  });

  it('refuses a listener that is not a function', () => {
    const api = buildBridgeApi(fakeIpcRenderer().ipc);
    expect(() => api.onTopology('nope' as unknown as () => void)).toThrow(TypeError);
  });
});
