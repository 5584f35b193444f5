// Tests of the browser bridge in services/nodeApi.ts against a real `ws` WebSocketServer on
// 127.0.0.1: requests and replies by id, typed errors, pushes, timeouts, reconnect with backoff.

import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { ApiRequestError, createWsBridge, type BridgeStatus, type ConsoleBridge } from '../../../renderer/services/nodeApi.ts';
import { connection, update } from './fixtures.ts';

interface TestServer {
  readonly wss: WebSocketServer;
  readonly url: string;
  readonly port: number;
  readonly frames: unknown[];
  readonly upgrades: string[];
  sockets(): ServerSocket[];
  close(): Promise<void>;
}

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Reply = (socket: ServerSocket, frame: { id: number; request: string; payload?: unknown }) => void;

async function startServer(reply: Reply | null, port = 0): Promise<TestServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const frames: unknown[] = [];
  const upgrades: string[] = [];
  wss.on('connection', (socket, req) => {
    upgrades.push(req.url ?? '');
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { id: number; request: string; payload?: unknown };
      frames.push(frame);
      reply?.(socket, frame);
    });
  });
  const actualPort = (wss.address() as AddressInfo).port;
  const server: TestServer = {
    wss,
    port: actualPort,
    url: `ws://127.0.0.1:${actualPort}/api?token=tok-123`,
    frames,
    upgrades,
    sockets: () => [...wss.clients],
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of wss.clients) s.terminate();
        wss.close(() => resolve());
      }),
  };
  cleanups.push(() => server.close());
  return server;
}

function bridgeTo(url: string, options: Partial<Parameters<typeof createWsBridge>[0]> = {}): ConsoleBridge {
  const b = createWsBridge({ url, requestTimeoutMs: 2_000, reconnectDelayMs: { initial: 20, max: 100 }, ...options });
  cleanups.push(() => b.close());
  return b;
}

async function until(check: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const echoOk: Reply = (socket, frame) => socket.send(JSON.stringify({ id: frame.id, reply: { ok: true, value: { echo: frame.request, payload: frame.payload ?? null } } }));

describe('WebSocket bridge', () => {
  it('sends the token on the upgrade and requests as {id, request, payload} frames', async () => {
    const server = await startServer(echoOk);
    const b = bridgeTo(server.url);
    const result = await b.api.openConnection({ connectionId: 'c1' });
    expect(result).toEqual({ echo: 'openConnection', payload: { connectionId: 'c1' } });
    await b.api.listConnections(undefined);
    expect(server.upgrades).toEqual(['/api?token=tok-123']);
    expect(server.frames).toEqual([
      { id: 1, request: 'openConnection', payload: { connectionId: 'c1' } },
      { id: 2, request: 'listConnections' },
    ]);
    expect(b.status()).toEqual({ kind: 'websocket', state: 'open', detail: null });
  });

  it('matches replies to requests by id even when they come back out of order', async () => {
    const held: { socket: ServerSocket; id: number; request: string }[] = [];
    const server = await startServer((socket, frame) => {
      held.push({ socket, id: frame.id, request: frame.request });
      if (held.length === 2) {
        for (const h of [...held].reverse()) h.socket.send(JSON.stringify({ id: h.id, reply: { ok: true, value: h.request } }));
      }
    });
    const b = bridgeTo(server.url);
    const [first, second] = await Promise.all([b.api.getAppInfo(undefined), b.api.exportConnections(undefined)]);
    expect(first).toBe('getAppInfo');
    expect(second).toBe('exportConnections');
  });

  it('rejects with the code and message of an error reply', async () => {
    const server = await startServer((socket, frame) =>
      socket.send(JSON.stringify({ id: frame.id, reply: { ok: false, error: { code: 'Unauthenticated', message: 'the cluster refused the token' } } })),
    );
    const b = bridgeTo(server.url);
    const err = await b.api.openConnection({ connectionId: 'c1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiRequestError);
    expect(err).toMatchObject({ code: 'Unauthenticated', message: 'the cluster refused the token' });
  });

  it('delivers pushes to subscribers until they unsubscribe, and ignores junk frames', async () => {
    const server = await startServer(echoOk);
    const b = bridgeTo(server.url);
    const lists: unknown[] = [];
    const topologies: unknown[] = [];
    const offList = b.api.onConnectionsChanged((list) => lists.push(list));
    b.api.onConnectionsChanged(() => {
      throw new Error('a broken listener must not stop the others');
    });
    b.api.onTopology((u) => topologies.push(u));
    await b.api.listConnections(undefined);
    const socket = server.sockets()[0] as ServerSocket;
    const original = console.warn;
    const originalError = console.error;
    console.warn = () => undefined;
    console.error = () => undefined;
    cleanups.push(() => {
      console.warn = original;
      console.error = originalError;
    });
    socket.send('not json');
    socket.send(JSON.stringify({ event: 'onSomethingElse', payload: 1 }));
    socket.send(JSON.stringify({ id: 999, reply: { ok: true, value: 'nobody asked' } }));
    socket.send(JSON.stringify({ event: 'onConnectionsChanged', payload: [connection({ id: 'a' })] }));
    socket.send(JSON.stringify({ event: 'onTopology', payload: update('a', null) }));
    await until(() => topologies.length === 1, 'the topology push');
    expect(lists).toEqual([[connection({ id: 'a' })]]);
    offList();
    socket.send(JSON.stringify({ event: 'onConnectionsChanged', payload: [] }));
    socket.send(JSON.stringify({ event: 'onTopology', payload: update('a', null, 2) }));
    await until(() => topologies.length === 2, 'the second topology push');
    expect(lists).toHaveLength(1);
  });

  it('gives up on a request with a Timeout error when no reply comes', async () => {
    const server = await startServer(null);
    const b = bridgeTo(server.url, { requestTimeoutMs: 150 });
    const started = Date.now();
    const err = await b.api.listConnections(undefined).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'Timeout' });
    expect((err as Error).message).toMatch(/listConnections.*no reply/);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('refuses an oversized request locally with TooLarge', async () => {
    const server = await startServer(echoOk);
    const b = bridgeTo(server.url);
    const err = await b.api.importConnections({ json: 'x'.repeat(1024 * 1024 + 10) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TooLarge' });
    expect(server.frames).toEqual([]);
  });

  it('holds requests made while connecting and sends them once open', async () => {
    const server = await startServer(echoOk);
    const b = bridgeTo(server.url);
    expect(b.status().state).toBe('connecting');
    const pending = b.api.getTopology({ connectionId: 'c9' });
    expect(await pending).toEqual({ echo: 'getTopology', payload: { connectionId: 'c9' } });
  });

  it('on a dropped link: fails sent requests, shows disconnected, reconnects with backoff, works again', async () => {
    let hang = true;
    const server = await startServer((socket, frame) => {
      if (!hang) echoOk(socket, frame);
    });
    const b = bridgeTo(server.url);
    const seen: BridgeStatus[] = [];
    b.onStatus((s) => seen.push(s));
    await until(() => b.status().state === 'open', 'the first open');
    const inFlight = b.api.clusterFault({ connectionId: 'c1', action: 'heal' }).catch((e: unknown) => e);
    await until(() => server.frames.length === 1, 'the request to arrive');
    for (const s of server.sockets()) s.terminate();
    const err = await inFlight;
    expect(err).toMatchObject({ code: 'Unavailable' });
    expect((err as Error).message).toMatch(/may or may not have run/);
    await until(() => seen.some((s) => s.state === 'disconnected'), 'the disconnected status');
    expect(seen.find((s) => s.state === 'disconnected')?.detail).toMatch(/lost the link to the console backend.*retrying in/);
    await until(() => b.status().state === 'open', 'the reconnect');
    hang = false;
    expect(await b.api.listConnections(undefined)).toEqual({ echo: 'listConnections', payload: null });
    expect(server.upgrades).toHaveLength(2);
  });

  it('keeps retrying a backend that is not there, and connects when it appears', async () => {
    const probe = await startServer(null);
    const port = probe.port;
    await probe.close();
    const b = bridgeTo(`ws://127.0.0.1:${port}/api?token=t`);
    await until(() => b.status().state === 'disconnected', 'the first failure');
    expect(b.status().detail).toMatch(/cannot reach the console backend/);
    const later = b.api.listConnections(undefined);
    const server = await startServer(echoOk, port);
    await until(() => b.status().state === 'open', 'the backend to come up');
    expect(await later).toEqual({ echo: 'listConnections', payload: null });
    expect(server.upgrades).toHaveLength(1);
  });

  it('close() fails waiting requests, stops reconnecting and says it is closed', async () => {
    const server = await startServer(null);
    const b = bridgeTo(server.url);
    await until(() => b.status().state === 'open', 'open');
    const waiting = b.api.listConnections(undefined).catch((e: unknown) => e);
    await until(() => server.frames.length === 1, 'the request to arrive');
    b.close();
    expect(await waiting).toMatchObject({ code: 'Unavailable' });
    expect(b.status()).toMatchObject({ state: 'disconnected', detail: 'the console bridge was closed' });
    await new Promise((r) => setTimeout(r, 150));
    expect(server.upgrades).toHaveLength(1);
    expect(await b.api.listConnections(undefined).catch((e: unknown) => e)).toMatchObject({ code: 'Unavailable' });
  });
});
