// Test harness (effectful): real HTTP(S) servers on 127.0.0.1 with free ports, WsTransports
// attached to them, raw `ws` clients for protocol abuse, bounded waits, and one cleanup list
// so that every test closes everything it opened.

import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { nodeId } from '../../../core/raft/types.ts';
import type { Message, NodeId } from '../../../core/raft/types.ts';
import { WsTransport } from '../../../core/transport/wsTransport.ts';
import type { LogLevel, WsTransportOptions } from '../../../core/transport/wsTransport.ts';

export const CLUSTER = 'test-cluster';
export const SECRET = 'correct horse battery staple';

export interface LogLine {
  readonly level: LogLevel;
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

export interface TestNode {
  readonly id: NodeId;
  readonly port: number;
  readonly url: string;
  server: http.Server | https.Server;
  transport: WsTransport;
  readonly received: Message[];
  readonly logs: LogLine[];
}

export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
}

const cleanups: (() => Promise<void>)[] = [];

/** defer registers a cleanup; cleanupAll runs them newest first (call it in afterEach). */
export function defer(cleanup: () => Promise<void>): void {
  cleanups.push(cleanup);
}

export async function cleanupAll(): Promise<void> {
  for (let c = cleanups.pop(); c; c = cleanups.pop()) await c();
}

/** waitFor polls `condition` every 5 ms and fails after `timeoutMs`, naming what it waited for. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function makeServer(tls?: TlsFiles): http.Server | https.Server {
  return tls ? https.createServer({ cert: tls.cert, key: tls.key }) : http.createServer();
}

export async function listen(server: http.Server | https.Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

export async function closeServer(server: http.Server | https.Server): Promise<void> {
  if (!server.listening) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export type NodeOptions = Partial<Omit<WsTransportOptions, 'self' | 'peers' | 'onMessage'>> & { readonly extraPeers?: ReadonlyMap<NodeId, string> };

/**
 * startNodes starts one server per id, then one transport per server, every transport knowing
 * every other as a peer. Options may differ per node.
 */
export async function startNodes(names: readonly string[], options: (id: NodeId) => NodeOptions = () => ({}), tls?: TlsFiles): Promise<TestNode[]> {
  const servers = names.map(() => makeServer(tls));
  for (const server of servers) defer(() => closeServer(server));
  const ports = await Promise.all(servers.map((server) => listen(server)));
  const scheme = tls ? 'wss' : 'ws';
  const peers = new Map<NodeId, string>(names.map((name, i) => [nodeId(name), `${scheme}://127.0.0.1:${ports[i]}/peer`]));
  return names.map((name, i) => {
    const id = nodeId(name);
    const { extraPeers, ...opts } = options(id);
    const node: TestNode = { id, port: ports[i] as number, url: peers.get(id) as string, server: servers[i] as http.Server | https.Server, transport: null as unknown as WsTransport, received: [], logs: [] };
    node.transport = newTransport(node, new Map([...peers, ...(extraPeers ?? [])]), opts);
    node.transport.attach(node.server);
    return node;
  });
}

/** newTransport builds a transport that records what it receives and logs, closed by cleanupAll. */
export function newTransport(node: TestNode, peers: ReadonlyMap<NodeId, string>, options: NodeOptions = {}): WsTransport {
  const transport = new WsTransport({
    clusterId: CLUSTER,
    secret: SECRET,
    retryDelayMsMin: 20,
    retryDelayMsMax: 200,
    ...options,
    self: node.id,
    peers,
    onMessage: (m) => node.received.push(m),
    log: (level, msg, fields) => node.logs.push({ level, msg, fields }),
  });
  defer(() => transport.close());
  return transport;
}

/** heartbeats returns `count` Heartbeat messages whose `commit` field numbers them from `first`. */
export function heartbeats(from: NodeId, to: NodeId, first: number, count: number): Message[] {
  return Array.from({ length: count }, (_, i) => ({ type: 'Heartbeat', from, to, term: 1, commit: first + i, context: null }) as const);
}

/** commits extracts the sequence numbers of heartbeats received from `from`. */
export function commits(node: TestNode, from: NodeId): number[] {
  return node.received.filter((m) => m.from === from && m.type === 'Heartbeat').map((m) => (m.type === 'Heartbeat' ? m.commit : -1));
}

export interface RawClient {
  readonly ws: WebSocket;
  /** Frames received, parsed (non-JSON text as `{ text }`). */
  readonly frames: Record<string, unknown>[];
  readonly closed: Promise<{ code: number; reason: string }>;
}

/** rawClient opens a plain `ws` connection, for speaking the protocol wrongly on purpose. */
export async function rawClient(url: string, options: { maxPayload?: number; ca?: string } = {}): Promise<RawClient> {
  const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
  const frames: Record<string, unknown>[] = [];
  ws.on('message', (data) => {
    try {
      frames.push(JSON.parse(String(data)) as Record<string, unknown>);
    } catch {
      frames.push({ text: String(data) });
    }
  });
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  defer(async () => {
    ws.terminate();
    await closed;
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, frames, closed };
}

export function mac(secret: string, parts: readonly string[]): string {
  return createHmac('sha256', secret).update(parts.join('|')).digest('base64');
}

/**
 * rawAuth performs the client half of the handshake by hand, with whatever identity, cluster
 * and secret the test chooses, and returns once the server answered or closed.
 */
export async function rawAuth(url: string, as: { id: string; clusterId?: string; secret?: string }): Promise<RawClient> {
  const client = await rawClient(url);
  await waitFor(() => client.frames.length >= 1, 'hello');
  const hello = client.frames[0] as { kind: string; nodeId: string; nonce: string };
  const clusterId = as.clusterId ?? CLUSTER;
  const nonce = randomBytes(32).toString('base64');
  const proof = mac(as.secret ?? SECRET, ['client', clusterId, as.id, hello.nodeId, hello.nonce, nonce]);
  client.ws.send(JSON.stringify({ kind: 'auth', version: 1, clusterId, nodeId: as.id, nonce, mac: proof }));
  let settled = false;
  void client.closed.then(() => (settled = true));
  await waitFor(() => settled || client.frames.length >= 2, 'the server to answer auth');
  return client;
}

/** within rejects after `ms`, so a promise-based wait is bounded too. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}
