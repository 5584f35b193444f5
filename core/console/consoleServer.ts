// Effectful (HTTP server, WebSocket, disk reads). The browser bridge of `warden console`: serves
// the built renderer with strict security headers, and the console API over one authenticated
// WebSocket at CONSOLE_WS_PATH (access token in the URL, own origin only).

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, realpathSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';
import { CONSOLE_WS_PATH, MAX_CONSOLE_FRAME_BYTES, errorBody, eventNames } from '../api/contract.ts';
import type { ApiReply, ConsoleBackend, ConsoleEventSource, RequestName, WsServerFrame } from '../api/contract.ts';
import { isRequestName, validatePayload } from '../api/validate.ts';
import { CONTENT_TYPES } from './contentTypes.ts';

/** ConsoleServerOptions: the backend to expose, where to listen, and what to serve. */
export interface ConsoleServerOptions {
  readonly service: ConsoleBackend & ConsoleEventSource;
  /** Loopback only: the console hands out cluster admin rights to whoever holds its token. */
  readonly host?: '127.0.0.1';
  /** 0 picks a free port. */
  readonly port: number;
  /** The built renderer (out/renderer). */
  readonly staticDir: string;
  /** The access token; absent: 32 random bytes, hex. */
  readonly token?: string;
}

/** RunningConsoleServer is a listening console: its URL (token included), port, token, and stop. */
export interface RunningConsoleServer {
  /** http://127.0.0.1:PORT/?token=...#/ */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  /** urlFor builds the console URL that opens on a renderer route such as `/clusters/ID/topology`. */
  urlFor(route: string): string;
  /** close ends every socket and stops listening. */
  close(): Promise<void>;
}

/**
 * CONTENT_SECURITY_POLICY is sent with every response: the renderer's own scripts, styles and
 * WebSocket only, no inline code, no frames, no plugins.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};


/** Sockets that stop reading are dropped once this much output is queued for them. */
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;

/** Close code for a socket dropped for its behaviour (RFC 6455 §7.4.1, policy violation). */
const CLOSE_POLICY = 1008;

/** startConsoleServer listens on 127.0.0.1 and resolves once the port is bound. */
export async function startConsoleServer(options: ConsoleServerOptions): Promise<RunningConsoleServer> {
  const host = options.host ?? '127.0.0.1';
  if (host !== '127.0.0.1') throw new TypeError('the console server listens on 127.0.0.1 only');
  const token = options.token ?? randomBytes(32).toString('hex');
  if (!/^[A-Za-z0-9._~-]{16,512}$/.test(token)) throw new TypeError('the console token must be 16 to 512 URL-safe characters');
  const tokenHash = sha256(token);
  const staticRoot = resolve(options.staticDir);
  const sockets = new Set<WebSocket>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CONSOLE_FRAME_BYTES, perMessageDeflate: false });
  const server: Server = createServer((req, res) => {
    if (!allowedHosts().includes(req.headers.host ?? '')) {
      res.writeHead(403, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' }).end('unexpected Host header\n');
      return;
    }
    serveStatic(staticRoot, req, res);
  });
  let port = 0;

  /** Hosts a browser may use to reach this server; anything else is DNS rebinding or a mistake. */
  const allowedHosts = (): string[] => [`127.0.0.1:${port}`, `localhost:${port}`];

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refuse = (status: number, text: string): void => {
      socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Not Found'}\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${text}\n`);
    };
    const url = new URL(req.url ?? '/', 'http://console.invalid');
    if (url.pathname !== CONSOLE_WS_PATH) return refuse(404, `the console API is at ${CONSOLE_WS_PATH}`);
    const hostHeader = req.headers.host ?? '';
    // NB: the Origin check is what stops another web page from opening this socket with a token
    // it somehow learned (cross-site WebSocket hijacking); browsers always send Origin.
    if (!allowedHosts().includes(hostHeader)) return refuse(403, 'unexpected Host header');
    if (req.headers.origin !== `http://${hostHeader}`) return refuse(403, 'the console API accepts only its own origin');
    const presented = url.searchParams.get('token') ?? '';
    if (!timingSafeEqual(sha256(presented), tokenHash)) return refuse(401, 'missing or wrong console token');
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws));
  });

  function accept(ws: WebSocket): void {
    sockets.add(ws);
    const send = (frame: WsServerFrame): void => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > MAX_QUEUED_BYTES) {
        ws.close(CLOSE_POLICY, 'the console is not reading its events');
        return;
      }
      ws.send(JSON.stringify(frame));
    };
    const unsubscribe = eventNames.map((event) => options.service.subscribe(event, (payload) => send({ event, payload })));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) {
        send({ id: -1, reply: { ok: false, error: { code: 'BadRequest', message: 'binary frames are not accepted; send JSON text' } } });
        return;
      }
      void handleFrame(rawText(data)).then((reply) => send(reply));
    });
    ws.on('close', () => {
      sockets.delete(ws);
      for (const off of unsubscribe) off();
    });
    ws.on('error', () => {
      // A frame over the size limit lands here; ws closes the socket with 1009 by itself.
    });
  }

  /** handleFrame parses one request frame, validates it, runs it, and always builds a reply. */
  async function handleFrame(text: string): Promise<WsServerFrame> {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      return { id: -1, reply: { ok: false, error: { code: 'BadRequest', message: 'frame is not valid JSON' } } };
    }
    if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) return { id: -1, reply: { ok: false, error: { code: 'BadRequest', message: 'frame must be a JSON object {id, request, payload}' } } };
    const f = frame as Record<string, unknown>;
    if (typeof f.id !== 'number' || !Number.isSafeInteger(f.id) || f.id < 0) return { id: -1, reply: { ok: false, error: { code: 'BadRequest', message: 'id must be a non-negative integer' } } };
    const id = f.id;
    for (const key of Object.keys(f)) {
      if (key !== 'id' && key !== 'request' && key !== 'payload') return { id, reply: { ok: false, error: { code: 'BadRequest', message: `frame has an unknown field ${JSON.stringify(key).slice(0, 60)}` } } };
    }
    if (!isRequestName(f.request)) return { id, reply: { ok: false, error: { code: 'UnknownMethod', message: `unknown request ${JSON.stringify(f.request ?? null).slice(0, 80)}` } } };
    return { id, reply: await call(f.request, f.payload) };
  }

  async function call(name: RequestName, payload: unknown): Promise<ApiReply<unknown>> {
    const parsed = validatePayload(name, payload);
    if (!parsed.ok) return { ok: false, error: parsed.error };
    try {
      const run = options.service[name] as (this: ConsoleBackend, p: unknown) => Promise<unknown>;
      return { ok: true, value: await run.call(options.service, parsed.value) };
    } catch (err) {
      return { ok: false, error: errorBody(err) };
    }
  }

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  port = (server.address() as AddressInfo).port;
  const urlFor = (route: string): string => `http://127.0.0.1:${port}/?token=${encodeURIComponent(token)}#${route.startsWith('/') ? route : `/${route}`}`;
  let closing: Promise<void> | null = null;
  return {
    url: urlFor('/'),
    port,
    token,
    urlFor,
    close: () => {
      closing ??= new Promise<void>((resolveClose) => {
        for (const ws of sockets) ws.close(1001, 'the console is shutting down');
        server.close(() => resolveClose());
        // Sockets that do not finish their closing handshake are cut after a moment.
        setTimeout(() => {
          for (const ws of sockets) ws.terminate();
          server.closeAllConnections();
        }, 1000).unref();
        server.closeIdleConnections();
      }).then(() => new Promise<void>((r) => wss.close(() => r())));
      return closing;
    },
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

/**
 * serveStatic answers GET and HEAD for files of the built renderer. A path that leaves the root
 * (after decoding, and after following symlinks) is a 404, exactly like a missing file, so the
 * answer says nothing about what exists outside it.
 */
function serveStatic(root: string, req: IncomingMessage, res: ServerResponse): void {
  const headers = (extra: Record<string, string>): Record<string, string> => ({ ...SECURITY_HEADERS, ...extra });
  const text = (status: number, body: string, extra: Record<string, string> = {}): void => {
    res.writeHead(status, headers({ 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...extra })).end(req.method === 'HEAD' ? undefined : `${body}\n`);
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'method not allowed', { allow: 'GET, HEAD' });
  const index = join(root, 'index.html');
  if (!isFile(index)) return text(503, 'the console web UI is not built; run `npm run build:renderer` and reload');
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://console.invalid').pathname);
  } catch {
    return text(400, 'bad path');
  }
  if (pathname === CONSOLE_WS_PATH) return text(426, 'upgrade required');
  if (pathname.includes('\0') || pathname.split('/').some((part) => part === '..')) return text(404, 'not found');
  const relative = pathname === '/' ? 'index.html' : pathname.replace(/^\/+/, '');
  const file = resolve(root, relative);
  let real: string;
  try {
    real = realpathSync(file);
  } catch {
    return text(404, 'not found');
  }
  const realRoot = realpathSync(root);
  if (!(real === realRoot || real.startsWith(`${realRoot}${sep}`)) || !isFile(real)) return text(404, 'not found');
  const isIndex = real === realpathSync(index);
  const type = CONTENT_TYPES[extname(real).toLowerCase()] ?? 'application/octet-stream';
  const size = statSync(real).size;
  res.writeHead(200, headers({ 'content-type': type, 'content-length': String(size), 'cache-control': isIndex ? 'no-store' : 'no-cache' }));
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(real)
    .on('error', () => res.destroy())
    .pipe(res);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
