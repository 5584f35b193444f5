// The main process side of the IPC bridge: one handler per request channel, the sender frame
// checked before anything else, payloads validated, backend errors kept as codes, pushes
// forwarded to the app's windows only, and a disposer that removes it all.

import type { IpcMainInvokeEvent, WebFrameMain } from 'electron';
import { describe, expect, it, vi } from 'vitest';
import { ApiError, eventChannels, requestChannels, requestNames } from '../../../core/api/contract.ts';
import type { ApiReply, ConsoleBackend, ConsoleEventSource, EventMap, EventName } from '../../../core/api/contract.ts';
import { APP_ENTRY_URL, isTrustedFrame } from '../../../electron/main/appUrl.ts';
import { registerIpc } from '../../../electron/main/ipc.ts';
import type { PushTarget } from '../../../electron/main/ipc.ts';
import { fakeFrame } from './fakes.ts';

type Handler = (event: IpcMainInvokeEvent, ...args: unknown[]) => Promise<ApiReply<unknown>>;

function fakeIpcMain() {
  const handlers = new Map<string, Handler>();
  return {
    handlers,
    handle(channel: string, handler: Handler) {
      // Electron refuses a second handler for one channel; so does the fake.
      if (handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
      handlers.set(channel, handler);
    },
    removeHandler(channel: string) {
      handlers.delete(channel);
    },
  };
}

const summary = { id: 'c1', name: 'prod' };

function fakeBackend() {
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  const calls: { name: string; payload: unknown }[] = [];
  const methods = Object.fromEntries(
    requestNames.map((name) => [
      name,
      vi.fn(async (payload: unknown) => {
        calls.push({ name, payload });
        return name === 'saveConnection' ? summary : { from: name };
      }),
    ]),
  ) as unknown as ConsoleBackend;
  const source: ConsoleEventSource = {
    subscribe<K extends EventName>(event: K, listener: (payload: EventMap[K]) => void) {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(listener as (payload: unknown) => void);
      return () => set.delete(listener as (payload: unknown) => void);
    },
  };
  return {
    backend: Object.assign(methods, source),
    calls,
    listeners,
    push(event: EventName, payload: unknown) {
      for (const listener of listeners.get(event) ?? []) listener(payload);
    },
  };
}

function fakeTarget(url = APP_ENTRY_URL) {
  const sent: { channel: string; payload: unknown }[] = [];
  let destroyed = false;
  const target = {
    isDestroyed: () => destroyed,
    get mainFrame(): WebFrameMain {
      if (destroyed) throw new Error('Object has been destroyed');
      return fakeFrame(url);
    },
    send: (channel: string, payload: unknown) => {
      sent.push({ channel, payload });
    },
  };
  return {
    target: target as unknown as PushTarget,
    sent,
    destroy() {
      destroyed = true;
    },
  };
}

function setup(targets: PushTarget[] = []) {
  const ipcMain = fakeIpcMain();
  const backend = fakeBackend();
  const lines: string[] = [];
  const dispose = registerIpc({
    ipcMain,
    backend: backend.backend,
    isTrustedSender: isTrustedFrame,
    targets: () => targets,
    log: (line) => lines.push(line),
  });
  const call = (channel: string, frame: WebFrameMain | null, ...args: unknown[]) => {
    const handler = ipcMain.handlers.get(channel);
    if (!handler) throw new Error(`no handler for ${channel}`);
    return handler({ senderFrame: frame } as IpcMainInvokeEvent, ...args);
  };
  return { ipcMain, backend, lines, dispose, call };
}

const app = fakeFrame(APP_ENTRY_URL);

describe('registerIpc', () => {
  it('registers exactly one handler per request channel', () => {
    const { ipcMain } = setup();
    expect([...ipcMain.handlers.keys()].sort()).toEqual(Object.values(requestChannels).sort());
  });

  it.each([
    ['another page', fakeFrame('https://evil.example/')],
    ['a file page', fakeFrame('file:///tmp/index.html')],
    ['a subframe of the app', fakeFrame(APP_ENTRY_URL, { url: APP_ENTRY_URL })],
    ['a frame that is gone', null],
  ])('refuses a request from %s with PermissionDenied and never calls the backend', async (_what, frame) => {
    const { call, backend, lines } = setup();
    for (const name of requestNames) {
      const reply = await call(requestChannels[name], frame, { connectionId: 'c1' });
      expect(reply.ok).toBe(false);
      if (!reply.ok) expect(reply.error.code).toBe('PermissionDenied');
    }
    expect(backend.calls).toEqual([]);
    expect(lines.length).toBe(requestNames.length);
    expect(lines[0]).toMatch(/^refused warden:/);
  });

  it('checks the sender before the payload, so an untrusted frame learns nothing about validation', async () => {
    const { call } = setup();
    const reply = await call(requestChannels.launchLocalCluster, fakeFrame('https://evil.example/'), { dcs: 'three' });
    expect(reply).toEqual({ ok: false, error: { code: 'PermissionDenied', message: expect.any(String) } });
  });

  it.each([
    ['launchLocalCluster', { dcs: 'three', layout: [1] }, 'dcs'],
    ['launchLocalCluster', { dcs: 2, layout: [1] }, 'layout'],
    ['openConnection', {}, 'connectionId'],
    ['openConnection', { connectionId: '../etc' }, 'connectionId'],
    ['saveConnection', { name: 'x', group: '', endpoints: ['http://a:1/client'], token: 't', readOnly: false }, 'endpoints[0]'],
    ['clusterFault', { connectionId: 'c1', action: 'explode' }, 'action'],
    ['getAppInfo', { sneaky: true }, 'payload'],
    ['importConnections', 'not an object', 'payload'],
  ] as const)('refuses a bad %s payload with BadRequest naming %s', async (name, payload, field) => {
    const { call, backend } = setup();
    const reply = await call(requestChannels[name], app, payload);
    expect(reply.ok).toBe(false);
    if (!reply.ok) {
      expect(reply.error.code).toBe('BadRequest');
      expect(reply.error.message).toContain(field);
    }
    expect(backend.calls).toEqual([]);
  });

  it('refuses a request carrying more than one argument', async () => {
    const { call, backend } = setup();
    const reply = await call(requestChannels.openConnection, app, { connectionId: 'c1' }, 'extra');
    expect(reply).toEqual({ ok: false, error: { code: 'BadRequest', message: expect.any(String) } });
    expect(backend.calls).toEqual([]);
  });

  it('passes the validated payload to the backend and wraps the result', async () => {
    const { call, backend } = setup();
    const reply = await call(requestChannels.saveConnection, app, {
      name: '  prod  ',
      group: 'ops',
      endpoints: ['ws://10.0.0.1:7001/client'],
      token: 'secret-token',
      readOnly: true,
    });
    expect(reply).toEqual({ ok: true, value: summary });
    expect(backend.calls).toEqual([
      { name: 'saveConnection', payload: { name: 'prod', group: 'ops', endpoints: ['ws://10.0.0.1:7001/client'], token: 'secret-token', readOnly: true } },
    ]);
  });

  it('answers every request with a valid payload from the app page', async () => {
    const { call, backend } = setup();
    expect(await call(requestChannels.getAppInfo, app, undefined)).toEqual({ ok: true, value: { from: 'getAppInfo' } });
    expect(await call(requestChannels.getTopology, app, { connectionId: 'c1' })).toEqual({ ok: true, value: { from: 'getTopology' } });
    expect(await call(requestChannels.launchLocalCluster, app, { dcs: 3, layout: [2, 2, 1] })).toEqual({ ok: true, value: { from: 'launchLocalCluster' } });
    expect(backend.calls.map((c) => c.name)).toEqual(['getAppInfo', 'getTopology', 'launchLocalCluster']);
  });

  it('keeps the code of an ApiError thrown by the backend', async () => {
    const { call, backend, lines } = setup();
    vi.mocked(backend.backend.openConnection).mockRejectedValueOnce(new ApiError('Unreachable', 'no endpoint answered'));
    const reply = await call(requestChannels.openConnection, app, { connectionId: 'c1' });
    expect(reply).toEqual({ ok: false, error: { code: 'Unreachable', message: 'no endpoint answered' } });
    expect(lines).toEqual([]);
  });

  it('turns an unexpected error into Internal without a stack, and logs it', async () => {
    const { call, backend, lines } = setup();
    vi.mocked(backend.backend.getTopology).mockRejectedValueOnce(new TypeError('cannot read x of undefined'));
    const reply = await call(requestChannels.getTopology, app, { connectionId: 'c1' });
    expect(reply).toEqual({ ok: false, error: { code: 'Internal', message: 'cannot read x of undefined' } });
    expect(lines.join('\n')).toContain('getTopology failed');
  });

  it('subscribes once per event and forwards pushes to live app windows only', () => {
    const live = fakeTarget();
    const gone = fakeTarget();
    gone.destroy();
    const foreign = fakeTarget('https://evil.example/');
    const { backend } = setup([live.target, gone.target, foreign.target]);
    for (const name of Object.keys(eventChannels) as EventName[]) expect(backend.listeners.get(name)?.size).toBe(1);
    const update = { connectionId: 'c1', topology: null, error: null, at: 1 };
    backend.push('onTopology', update);
    backend.push('onConnectionsChanged', []);
    expect(live.sent).toEqual([
      { channel: eventChannels.onTopology, payload: update },
      { channel: eventChannels.onConnectionsChanged, payload: [] },
    ]);
    expect(gone.sent).toEqual([]);
    expect(foreign.sent).toEqual([]);
  });

  it('keeps pushing to other windows when one send throws', () => {
    const broken = fakeTarget();
    (broken.target as { send: unknown }).send = () => {
      throw new Error('frame crashed');
    };
    const live = fakeTarget();
    const { backend, lines } = setup([broken.target, live.target]);
    backend.push('onConnectionsChanged', []);
    expect(live.sent.length).toBe(1);
    expect(lines.join('\n')).toContain('frame crashed');
  });

  it('disposes every handler and subscription, once', () => {
    const live = fakeTarget();
    const { ipcMain, backend, dispose } = setup([live.target]);
    dispose();
    dispose();
    expect(ipcMain.handlers.size).toBe(0);
    for (const set of backend.listeners.values()) expect(set.size).toBe(0);
    backend.push('onConnectionsChanged', []);
    expect(live.sent).toEqual([]);
  });

  it('can register again after disposing (a reloaded main module does not collide)', () => {
    const ipcMain = fakeIpcMain();
    const backend = fakeBackend();
    const options = { ipcMain, backend: backend.backend, isTrustedSender: isTrustedFrame, targets: () => [], log: () => {} };
    registerIpc(options)();
    expect(() => registerIpc(options)).not.toThrow();
  });
});
