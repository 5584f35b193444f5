// Effectful (HTTP and WebSocket on 127.0.0.1, temp dirs, SQLite). The `warden console` server
// with a real backend and no cluster: static files with security headers and no way out of the
// root, the WebSocket's token and origin checks, and a reply for every bad frame.

import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_WS_PATH, MAX_CONSOLE_FRAME_BYTES } from '../../../core/api/contract.ts';
import type { ConnectionSummary, WsServerFrame } from '../../../core/api/contract.ts';
import { CONTENT_SECURITY_POLICY, startConsoleServer } from '../../../core/console/consoleServer.ts';
import type { RunningConsoleServer } from '../../../core/console/consoleServer.ts';
import { createConsoleService } from '../../../core/console/consoleService.ts';
import type { ConsoleService } from '../../../core/console/consoleService.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'warden-console-unit-'));
  dirs.push(dir);
  return dir;
}

let service: ConsoleService;
let server: RunningConsoleServer;
let root: string;
let staticDir: string;
const INDEX = '<!doctype html><html><head><script type="module" src="/assets/app.js"></script></head><body>console</body></html>';

beforeAll(async () => {
  root = tempDir();
  staticDir = join(root, 'renderer');
  mkdirSync(join(staticDir, 'assets'), { recursive: true });
  writeFileSync(join(staticDir, 'index.html'), INDEX);
  writeFileSync(join(staticDir, 'assets', 'app.js'), 'console.log("app");\n');
  writeFileSync(join(staticDir, 'assets', 'app.css'), 'body { color: black }\n');
  writeFileSync(join(staticDir, 'assets', 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(root, 'secret.txt'), 'outside the root');
  symlinkSync(join(root, 'secret.txt'), join(staticDir, 'assets', 'link.txt'));
  service = createConsoleService({ stateDir: join(root, 'state'), bridge: 'browser', version: '9.9.9', pollIntervalMs: 200 });
  server = await startConsoleServer({ service, port: 0, staticDir });
});

afterAll(async () => {
  await server?.close();
  await service?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** get sends a raw GET (the path is not normalised, unlike fetch) and reads the answer. */
function get(path: string, options: { method?: string; host?: string; port?: number } = {}): Promise<HttpAnswer> {
  return new Promise((resolveGet, reject) => {
    const req = request({ host: '127.0.0.1', port: options.port ?? server.port, path, method: options.method ?? 'GET', headers: { host: options.host ?? `127.0.0.1:${options.port ?? server.port}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolveGet({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** RawSocket is a WebSocket to the console with every frame it received. */
interface RawSocket {
  readonly ws: WebSocket;
  readonly frames: WsServerFrame[];
  reply(id: number, timeoutMs?: number): Promise<WsServerFrame & { reply: unknown }>;
  request(request: string, payload?: unknown): Promise<{ ok: boolean; value?: unknown; error?: { code: string; message: string } }>;
}

let nextId = 1;

function wsUrl(token: string | null, port = server.port): string {
  return `ws://127.0.0.1:${port}${CONSOLE_WS_PATH}${token === null ? '' : `?token=${encodeURIComponent(token)}`}`;
}

/** openSocket connects with the console's own origin unless told otherwise. */
function openSocket(options: { token?: string | null; origin?: string | null } = {}): Promise<RawSocket> {
  const origin = options.origin === undefined ? `http://127.0.0.1:${server.port}` : options.origin;
  const ws = new WebSocket(wsUrl(options.token === undefined ? server.token : options.token), origin === null ? {} : { origin });
  const frames: WsServerFrame[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (data) => {
    frames.push(JSON.parse(data.toString()) as WsServerFrame);
    for (const w of waiters.splice(0)) w();
  });
  const socket: RawSocket = {
    ws,
    frames,
    reply: async (id, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = frames.find((f) => 'reply' in f && f.id === id);
        if (found) return found as WsServerFrame & { reply: unknown };
        if (Date.now() > deadline) throw new Error(`no reply ${id}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
    },
    request: async (request, payload) => {
      const id = nextId++;
      ws.send(JSON.stringify(payload === undefined ? { id, request } : { id, request, payload }));
      return (await socket.reply(id)).reply as { ok: boolean; value?: unknown; error?: { code: string; message: string } };
    },
  };
  return new Promise((resolveOpen, reject) => {
    ws.once('open', () => resolveOpen(socket));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

describe('console server: static files', () => {
  it('serves index.html for / with a strict CSP, nosniff, no referrer and no caching', async () => {
    const res = await get('/');
    expect(res.status).toBe(200);
    expect(res.body).toBe(INDEX);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    for (const directive of ["default-src 'self'", "script-src 'self'", "connect-src 'self'", "img-src 'self' data:", "style-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"]) {
      expect(CONTENT_SECURITY_POLICY).toContain(directive);
    }
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['cache-control']).toBe('no-store');
    const byName = await get('/index.html?token=abc');
    expect(byName.status).toBe(200);
    expect(byName.headers['cache-control']).toBe('no-store');
  });

  it('serves assets with their content types', async () => {
    expect((await get('/assets/app.js')).headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await get('/assets/app.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await get('/assets/logo.svg')).headers['content-type']).toBe('image/svg+xml');
    const head = await get('/assets/app.js', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('answers 404 for missing files and every way out of the root', async () => {
    for (const path of ['/missing.js', '/../secret.txt', '/assets/../../secret.txt', '/%2e%2e/secret.txt', '/assets/%2e%2e%2f%2e%2e%2fsecret.txt', '/assets/link.txt', '/assets', '/%00', '/assets/..%5c..%5csecret.txt']) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(res.body, path).not.toContain('outside the root');
      expect(res.headers['content-security-policy'], path).toBe(CONTENT_SECURITY_POLICY);
    }
  });

  it('refuses methods other than GET and HEAD, and hosts other than its own', async () => {
    expect((await get('/', { method: 'POST' })).status).toBe(405);
    const rebound = await get('/', { host: `evil.example:${server.port}` });
    expect(rebound.status).toBe(403);
    expect(rebound.body).not.toContain('console');
    expect((await get('/', { host: `localhost:${server.port}` })).status).toBe(200);
  });

  it('says how to build the UI when index.html is missing', async () => {
    const empty = tempDir();
    const bare = await startConsoleServer({ service, port: 0, staticDir: empty });
    try {
      const res = await get('/', { port: bare.port });
      expect(res.status).toBe(503);
      expect(res.body).toContain('npm run build:renderer');
      expect(res.body.trim().split('\n')).toHaveLength(1);
    } finally {
      await bare.close();
    }
  });

  it('prints a URL that carries the token and opens on a route', () => {
    expect(server.token).toMatch(/^[0-9a-f]{64}$/);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${server.token}#/`);
    expect(server.urlFor('/clusters/abc/topology')).toBe(`http://127.0.0.1:${server.port}/?token=${server.token}#/clusters/abc/topology`);
  });
});

describe('console server: the WebSocket bridge', () => {
  it('refuses an upgrade without the token, with a wrong token, or from another origin', async () => {
    await expect(openSocket({ token: null })).rejects.toThrow('HTTP 401');
    await expect(openSocket({ token: 'f'.repeat(64) })).rejects.toThrow('HTTP 401');
    await expect(openSocket({ token: server.token.slice(0, 10) })).rejects.toThrow('HTTP 401');
    await expect(openSocket({ origin: 'http://evil.example' })).rejects.toThrow('HTTP 403');
    await expect(openSocket({ origin: `http://127.0.0.1:${server.port + 1}` })).rejects.toThrow('HTTP 403');
    await expect(openSocket({ origin: null })).rejects.toThrow('HTTP 403');
  });

  it('answers requests, validates payloads, and never crashes on bad frames', async () => {
    const socket = await openSocket();
    try {
      const info = await socket.request('getAppInfo');
      expect(info).toEqual({ ok: true, value: { bridge: 'browser', version: '9.9.9', canLaunchLocal: true, stateDir: join(root, 'state') } });
      const bad = await socket.request('saveConnection', { name: 'x', group: '', endpoints: ['http://nope/client'], token: 't', readOnly: false });
      expect(bad.ok).toBe(false);
      expect(bad.error?.code).toBe('BadRequest');
      expect(bad.error?.message).toContain('endpoints[0]');
      expect((await socket.request('openConnection', { connectionId: 'x', extra: 1 })).error?.code).toBe('BadRequest');
      expect((await socket.request('noSuchRequest')).error?.code).toBe('UnknownMethod');
      expect((await socket.request('openConnection', { connectionId: 'missing' })).error?.code).toBe('NotFound');
      expect((await socket.request('clusterFault', { connectionId: 'missing', action: 'heal' })).error?.code).toBe('NotFound');

      socket.ws.send('{not json');
      socket.ws.send('[1,2]');
      socket.ws.send(JSON.stringify({ id: 'one', request: 'getAppInfo' }));
      socket.ws.send(Buffer.from([1, 2, 3]), { binary: true });
      const unknownField = nextId++;
      socket.ws.send(JSON.stringify({ id: unknownField, request: 'getAppInfo', sneaky: true }));
      const reply = await socket.reply(unknownField);
      expect(reply.reply).toMatchObject({ ok: false, error: { code: 'BadRequest' } });
      const noId = socket.frames.filter((f) => 'reply' in f && f.id === -1).map((f) => (f as { reply: { error: { code: string } } }).reply.error.code);
      expect(noId).toEqual(['BadRequest', 'BadRequest', 'BadRequest', 'BadRequest']);
      // Still serving after all that.
      expect((await socket.request('listConnections')).ok).toBe(true);
    } finally {
      socket.ws.close();
    }
  });

  it('closes a socket that sends a frame over the size limit, with 1009', async () => {
    const socket = await openSocket();
    const closed = new Promise<number>((r) => socket.ws.once('close', (code) => r(code)));
    socket.ws.send(JSON.stringify({ id: 1, request: 'importConnections', payload: { json: 'x'.repeat(MAX_CONSOLE_FRAME_BYTES) } }));
    expect(await closed).toBe(1009);
    const fresh = await openSocket();
    expect((await fresh.request('listConnections')).ok).toBe(true);
    fresh.ws.close();
  });

  it('pushes connection changes to every socket, and never a token', async () => {
    const a = await openSocket();
    const b = await openSocket();
    try {
      const saved = await a.request('saveConnection', { name: 'pushed', group: 'g', endpoints: ['ws://127.0.0.1:1/client'], token: 'push-secret-token', readOnly: true });
      expect(saved.ok).toBe(true);
      const id = (saved.value as ConnectionSummary).id;
      for (const socket of [a, b]) {
        const deadline = Date.now() + 5000;
        while (!socket.frames.some((f) => 'event' in f && f.event === 'onConnectionsChanged' && (f.payload as ConnectionSummary[]).some((c) => c.id === id))) {
          if (Date.now() > deadline) throw new Error('no push');
          await new Promise((r) => setTimeout(r, 50));
        }
        expect(JSON.stringify(socket.frames)).not.toContain('push-secret-token');
      }
      const summary = saved.value as ConnectionSummary;
      expect(summary).toMatchObject({ name: 'pushed', group: 'g', kind: 'remote', hasToken: true, hasCa: false, readOnly: true, saved: true, state: 'closed' });
      expect(JSON.stringify(summary)).not.toContain('push-secret-token');
      expect((await a.request('deleteConnection', { connectionId: id })).ok).toBe(true);
    } finally {
      a.ws.close();
      b.ws.close();
    }
  });

  it('keeps saved connections across a restart of the backend', async () => {
    const state = tempDir();
    const first = createConsoleService({ stateDir: state, bridge: 'electron', version: '1' });
    const saved = await first.saveConnection({ name: 'kept', group: '', endpoints: ['ws://127.0.0.1:1/client'], token: 'tok', readOnly: false });
    await first.close();
    const second = createConsoleService({ stateDir: state, bridge: 'electron', version: '1' });
    try {
      expect((await second.listConnections()).map((c) => [c.id, c.name, c.saved, c.hasToken])).toEqual([[saved.id, 'kept', true, true]]);
      await expect(second.saveConnection({ name: 'KEPT', group: '', endpoints: ['ws://127.0.0.1:2/client'], token: 'tok', readOnly: false })).rejects.toMatchObject({ code: 'Conflict' });
      await expect(second.deleteConnection({ connectionId: 'nope' })).rejects.toMatchObject({ code: 'NotFound' });
    } finally {
      await second.close();
    }
  });
});
