// Integration tests (effectful) for WsTransport over real WebSockets on 127.0.0.1: batching and
// ordering, handshake refusals, protocol abuse, reconnect, RTT with injected latency, snapshot
// chunking and TLS. Every wait is bounded; every socket and server is closed in afterEach.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { nodeId } from '../../../core/raft/types.ts';
import type { Message, NodeId } from '../../../core/raft/types.ts';
import { encodeMessage } from '../../../core/transport/codec.ts';
import { CloseCodes } from '../../../core/transport/wsTransport.ts';
import {
  CLUSTER,
  cleanupAll,
  closeServer,
  commits,
  defer,
  heartbeats,
  listen,
  mac,
  makeServer,
  newTransport,
  rawAuth,
  rawClient,
  startNodes,
  waitFor,
  within,
} from './harness.ts';
import type { TestNode } from './harness.ts';

afterEach(cleanupAll);

const range = (first: number, count: number): number[] => Array.from({ length: count }, (_, i) => first + i);

function node(nodes: TestNode[], i: number): TestNode {
  const n = nodes[i];
  if (!n) throw new Error(`no node ${i}`);
  return n;
}

/**
 * exchangeAll sends heartbeat `round` each way between every pair until all have arrived. It
 * resends, like Raft would: a link that is reconnecting drops what it is given.
 */
async function exchangeAll(nodes: TestNode[], round: number, timeoutMs = 4000): Promise<void> {
  let lastSend = 0;
  const arrived = (from: TestNode, to: TestNode): boolean => commits(to, from.id).includes(round);
  await waitFor(
    () => {
      const missing = nodes.flatMap((from) => nodes.filter((to) => to !== from && !arrived(from, to)).map((to) => [from, to] as const));
      if (missing.length > 0 && Date.now() - lastSend >= 50) {
        lastSend = Date.now();
        for (const [from, to] of missing) from.transport.send(heartbeats(from.id, to.id, round, 1));
      }
      return missing.length === 0;
    },
    `round ${round} between all nodes`,
    timeoutMs,
  );
}

describe('WsTransport exchange', () => {
  it('three transports exchange batches both ways, in order per link', async () => {
    const nodes = await startNodes(['n1', 'n2', 'n3']);
    const batches = 20;
    const perBatch = 50;
    for (let b = 0; b < batches; b++) {
      for (const from of nodes) {
        // One send() call carries messages for both peers, interleaved.
        const messages: Message[] = [];
        for (const m of range(b * perBatch, perBatch)) for (const to of nodes) if (to !== from) messages.push(...heartbeats(from.id, to.id, m, 1));
        from.transport.send(messages);
      }
    }
    const total = batches * perBatch;
    await waitFor(() => nodes.every((n) => n.received.length === total * 2), 'every message');
    for (const to of nodes) {
      for (const from of nodes) if (from !== to) expect(commits(to, from.id)).toEqual(range(0, total));
      expect(to.received.every((m) => m.to === to.id)).toBe(true);
    }
    const stats = node(nodes, 0).transport.stats();
    const s2 = stats.get(nodeId('n2'));
    expect(s2).toMatchObject({ connected: true, inbound: true, messagesSent: total, messagesReceived: total, messagesDropped: 0, lastError: null });
    // One frame per send() call per peer, plus handshake and pings.
    expect(s2?.framesSent).toBeGreaterThanOrEqual(batches);
    expect(s2?.framesSent).toBeLessThan(batches + 10);
    expect(s2?.bytesSent).toBeGreaterThan(total * 50);
    expect(s2?.bytesReceived).toBeGreaterThan(total * 50);
  });

  it('start() dials every peer without traffic, and close() leaves them disconnected', async () => {
    const nodes = await startNodes(['n1', 'n2']);
    const [a, b] = [node(nodes, 0), node(nodes, 1)];
    a.transport.start();
    await waitFor(() => a.transport.stats().get(b.id)?.connected === true, 'the outbound link');
    await waitFor(() => b.transport.stats().get(a.id)?.inbound === true, 'the inbound link');
    await within(a.transport.close(), 3000, 'close');
    a.transport.send(heartbeats(a.id, b.id, 0, 1));
    expect(a.transport.stats().get(b.id)?.connected).toBe(false);
    await waitFor(() => b.transport.stats().get(a.id)?.inbound === false, 'the peer to see the link close');
  });

  it('leaves upgrades on other paths to other handlers', async () => {
    const nodes = await startNodes(['n1', 'n2']);
    const a = node(nodes, 0);
    const other = new WebSocketServer({ noServer: true });
    a.server.on('upgrade', (req, socket, head) => {
      if (req.url === '/client') other.handleUpgrade(req, socket, head, (ws) => ws.send('client api'));
    });
    defer(() => new Promise((resolve) => other.close(() => resolve())));
    const client = await rawClient(`ws://127.0.0.1:${a.port}/client`);
    await waitFor(() => client.frames.some((f) => f.text === 'client api'), 'the other handler to answer');
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    await exchangeAll(nodes, 1);
  });
});

describe('WsTransport handshake refusals', () => {
  it('refuses a wrong secret, a wrong cluster id, an unknown peer, garbage and silence, and keeps serving', async () => {
    const nodes = await startNodes(['n1', 'n2'], () => ({ handshakeTimeoutMs: 1000 }));
    const [a, b] = [node(nodes, 0), node(nodes, 1)];
    await exchangeAll(nodes, 0);

    const badSecret = await rawAuth(a.url, { id: 'n2', secret: 'wrong' });
    expect(await within(badSecret.closed, 2000, 'close')).toEqual({ code: CloseCodes.badSecret, reason: 'bad secret' });

    const badCluster = await rawAuth(a.url, { id: 'n2', clusterId: 'other-cluster' });
    expect(await within(badCluster.closed, 2000, 'close')).toEqual({ code: CloseCodes.badClusterId, reason: 'bad cluster id' });

    const unknown = await rawAuth(a.url, { id: 'n9' });
    expect(await within(unknown.closed, 2000, 'close')).toEqual({ code: CloseCodes.unknownPeer, reason: 'unknown peer' });

    const self = await rawAuth(a.url, { id: 'n1' });
    expect(await within(self.closed, 2000, 'close')).toEqual({ code: CloseCodes.unknownPeer, reason: 'unknown peer' });

    const garbage = await rawClient(a.url);
    garbage.ws.send('\u0000{not json');
    expect(await within(garbage.closed, 2000, 'close')).toEqual({ code: CloseCodes.malformedFrame, reason: 'malformed frame' });

    const binary = await rawClient(a.url);
    binary.ws.send(randomBytes(64));
    expect(await within(binary.closed, 2000, 'close')).toEqual({ code: CloseCodes.malformedFrame, reason: 'malformed frame' });

    const early = await rawClient(a.url);
    early.ws.send(JSON.stringify({ kind: 'batch', messages: [] }));
    expect(await within(early.closed, 2000, 'close')).toEqual({ code: CloseCodes.unexpectedFrame, reason: 'unexpected frame' });

    const silent = await rawClient(a.url);
    expect(await within(silent.closed, 2000, 'close')).toEqual({ code: CloseCodes.handshakeTimeout, reason: 'handshake timeout' });

    const reasons = a.logs.filter((l) => l.level === 'warn' && l.msg === 'closing peer link').map((l) => l.fields.reason);
    expect(reasons).toEqual(['bad secret', 'bad cluster id', 'unknown peer', 'unknown peer', 'malformed frame', 'malformed frame', 'unexpected frame', 'handshake timeout']);
    // Nothing from the intruders was delivered, and the legitimate link still works both ways.
    expect(a.received.every((m) => m.from === b.id)).toBe(true);
    await exchangeAll(nodes, 1);
    expect(a.transport.stats().get(b.id)).toMatchObject({ connected: true, inbound: true });
  });

  it('a transport with the wrong secret or cluster id never gets a link', async () => {
    const nodes = await startNodes(['n1', 'n2']);
    const [a, b] = [node(nodes, 0), node(nodes, 1)];
    await within(b.transport.close(), 3000, 'close');
    await closeServer(b.server);
    // Impostors dial n1 as n2, with one thing wrong each.
    const peers = new Map([[a.id, a.url]]);
    const impostor = { ...b, received: [], logs: [] };
    const wrongSecret = newTransport(impostor, peers, { secret: 'not the secret' });
    wrongSecret.send(heartbeats(b.id, a.id, 0, 1));
    await waitFor(() => /bad secret/.test(wrongSecret.stats().get(a.id)?.lastError ?? ''), 'the refusal');
    const wrongCluster = newTransport({ ...impostor, logs: [] }, peers, { clusterId: 'elsewhere' });
    wrongCluster.send(heartbeats(b.id, a.id, 0, 1));
    await waitFor(() => /bad cluster id/.test(wrongCluster.stats().get(a.id)?.lastError ?? ''), 'the refusal');
    expect(wrongSecret.stats().get(a.id)?.connected).toBe(false);
    expect(a.received).toEqual([]);
    expect(a.transport.stats().get(b.id)?.inbound).toBe(false);
  });

  it('refuses a server that cannot prove the secret', async () => {
    const server = makeServer();
    defer(() => closeServer(server));
    const wss = new WebSocketServer({ server, path: '/peer' });
    defer(() => new Promise((resolve) => wss.close(() => resolve())));
    const closes: number[] = [];
    wss.on('connection', (ws) => {
      ws.send(JSON.stringify({ kind: 'hello', version: 1, clusterId: CLUSTER, nodeId: 'n2', nonce: randomBytes(32).toString('base64') }));
      ws.on('message', () => ws.send(JSON.stringify({ kind: 'ok', mac: mac('guess', ['server']) })));
      ws.on('close', (code) => closes.push(code));
    });
    const port = await listen(server);
    const a: TestNode = { id: nodeId('n1'), port: 0, url: '', server, transport: null as never, received: [], logs: [] };
    a.transport = newTransport(a, new Map([[nodeId('n2'), `ws://127.0.0.1:${port}/peer`]]));
    a.transport.send(heartbeats(a.id, nodeId('n2'), 0, 1));
    await waitFor(() => closes.includes(CloseCodes.badSecret), 'the client to refuse the server');
    expect(a.transport.stats().get(nodeId('n2'))).toMatchObject({ connected: false, lastError: expect.stringMatching(/^bad secret/) });
  });
});

describe('WsTransport frame validation', () => {
  /** Three nodes where n3 runs no transport: a raw client impersonates it with the real secret. */
  async function withImpersonator(maxPayloadBytes?: number): Promise<{ a: TestNode; b: TestNode; n3: NodeId }> {
    const n3 = nodeId('n3');
    const nodes = await startNodes(['n1', 'n2'], () => ({ ...(maxPayloadBytes ? { maxPayloadBytes } : {}), extraPeers: new Map([[n3, 'ws://127.0.0.1:1/peer']]) }));
    await exchangeAll(nodes, 0);
    return { a: node(nodes, 0), b: node(nodes, 1), n3 };
  }

  it('an oversized frame closes that connection only', async () => {
    const { a, b, n3 } = await withImpersonator(64 * 1024);
    const raw = await rawAuth(a.url, { id: n3 });
    expect(raw.frames[1]).toMatchObject({ kind: 'ok' });
    raw.ws.send(JSON.stringify({ kind: 'batch', messages: [], pad: 'x'.repeat(100 * 1024) }));
    expect((await within(raw.closed, 2000, 'close')).code).toBe(1009);
    await exchangeAll([a, b], 1);
  });

  it('a frame with a forged from, or for another node, closes it and delivers nothing', async () => {
    const { a, b, n3 } = await withImpersonator();
    const forged = await rawAuth(a.url, { id: n3 });
    forged.ws.send(`{"kind":"batch","messages":[${encodeMessage({ type: 'TimeoutNow', from: n3, to: a.id, term: 9 })},${encodeMessage({ type: 'TimeoutNow', from: b.id, to: a.id, term: 9 })}]}`);
    expect(await within(forged.closed, 2000, 'close')).toEqual({ code: CloseCodes.wrongSender, reason: 'wrong sender' });
    const misdirected = await rawAuth(a.url, { id: n3 });
    misdirected.ws.send(`{"kind":"batch","messages":[${encodeMessage({ type: 'TimeoutNow', from: n3, to: b.id, term: 9 })}]}`);
    expect(await within(misdirected.closed, 2000, 'close')).toEqual({ code: CloseCodes.wrongRecipient, reason: 'wrong recipient' });
    const invalid = await rawAuth(a.url, { id: n3 });
    invalid.ws.send(`{"kind":"batch","messages":[{"type":"TimeoutNow","from":"n3","to":"n1","term":-1}]}`);
    expect(await within(invalid.closed, 2000, 'close')).toEqual({ code: CloseCodes.malformedFrame, reason: 'malformed frame' });
    expect(a.logs.some((l) => l.level === 'warn' && /messages\[0\]\.term/.test(String(l.fields.detail)))).toBe(true);
    expect(a.received.filter((m) => m.type === 'TimeoutNow')).toEqual([]);
    await exchangeAll([a, b], 1);
  });

  it('a valid impersonated peer is delivered (control for the forgery test)', async () => {
    const { a, n3 } = await withImpersonator();
    const raw = await rawAuth(a.url, { id: n3 });
    raw.ws.send(`{"kind":"batch","messages":[${encodeMessage({ type: 'TimeoutNow', from: n3, to: a.id, term: 9 })}]}`);
    await waitFor(() => a.received.some((m) => m.type === 'TimeoutNow' && m.from === n3), 'delivery');
    raw.ws.send(JSON.stringify({ kind: 'ping', sentAt: 12.5 }));
    await waitFor(() => raw.frames.some((f) => f.kind === 'pong' && f.sentAt === 12.5), 'the pong');
  });
});

describe('WsTransport peer list changes', () => {
  it('updatePeers removes a peer (closing its links) and adds it back', async () => {
    const nodes = await startNodes(['n1', 'n2', 'n3']);
    const [a, b, c] = [node(nodes, 0), node(nodes, 1), node(nodes, 2)];
    await exchangeAll(nodes, 0);

    a.transport.updatePeers(new Map([[a.id, a.url], [b.id, b.url]]));
    expect([...a.transport.stats().keys()]).toEqual([b.id]);
    await waitFor(() => c.transport.stats().get(a.id)?.connected === false, 'n3 to lose its link to n1');
    await waitFor(() => /peer removed|unknown peer/.test(c.transport.stats().get(a.id)?.lastError ?? ''), 'n3 to learn why');
    a.transport.send(heartbeats(a.id, c.id, 7, 1));
    expect(a.logs.some((l) => l.msg === 'dropping a message for an unknown peer' && l.fields.to === c.id)).toBe(true);
    await exchangeAll([a, b], 1);

    a.transport.updatePeers(new Map([[b.id, b.url], [c.id, c.url]]));
    await exchangeAll(nodes, 2);
    expect(commits(c, a.id)).not.toContain(7);
  });
});

describe('WsTransport reconnect', () => {
  it('reconnects after a peer restarts on the same port', async () => {
    const nodes = await startNodes(['n1', 'n2']);
    const [a, b] = [node(nodes, 0), node(nodes, 1)];
    await exchangeAll(nodes, 0);

    await within(b.transport.close(), 3000, 'close');
    await closeServer(b.server);
    await waitFor(() => a.transport.stats().get(b.id)?.connected === false, 'the link to drop');
    // While n2 is down, messages are dropped and counted, not queued without bound.
    for (let i = 0; i < 20; i++) {
      a.transport.send(heartbeats(a.id, b.id, 100 + i, 1));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await waitFor(() => (a.transport.stats().get(b.id)?.messagesDropped ?? 0) > 0, 'drops to be counted');

    b.server = makeServer();
    await listen(b.server, b.port);
    defer(() => closeServer(b.server));
    b.received.length = 0;
    b.transport = newTransport(b, new Map([[a.id, a.url], [b.id, b.url]]));
    b.transport.attach(b.server);
    const started = Date.now();
    let round = 1000;
    await waitFor(
      () => {
        a.transport.send(heartbeats(a.id, b.id, round++, 1));
        return b.received.length > 0;
      },
      'a message after the restart',
      5000,
    );
    await exchangeAll(nodes, 2);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(a.transport.stats().get(b.id)?.connected).toBe(true);
  });

  it('drops messages for a peer that is not listening, counts them, and keeps a bounded queue', async () => {
    const server = makeServer();
    const port = await listen(server);
    await closeServer(server);
    const a: TestNode = { id: nodeId('n1'), port: 0, url: '', server, transport: null as never, received: [], logs: [] };
    const b = nodeId('n2');
    a.transport = newTransport(a, new Map([[b, `ws://127.0.0.1:${port}/peer`]]), { maxQueuedBytes: 10_000 });
    const burst = heartbeats(a.id, b, 0, 1000);
    a.transport.send(burst);
    await waitFor(() => a.transport.stats().get(b)?.messagesDropped === 1000, 'all dropped');
    await waitFor(() => /ECONNREFUSED/.test(a.transport.stats().get(b)?.lastError ?? ''), 'the connection error');
    a.transport.send(heartbeats(a.id, b, 0, 10));
    expect(a.transport.stats().get(b)?.messagesSent).toBe(0);
  });
});

describe('WsTransport RTT and injected latency', () => {
  it('measures RTT; with 30 ms each way it is at least 60 ms', async () => {
    const delayed = new Set(['n1', 'n2']);
    const nodes = await startNodes(['n1', 'n2', 'n3'], (self) => ({
      pingIntervalMs: 50,
      linkDelayMs: (to) => (delayed.has(self) && delayed.has(to) ? 30 : 0),
    }));
    const [a, , c] = [node(nodes, 0), node(nodes, 1), node(nodes, 2)];
    for (const n of nodes) n.transport.start();
    const samples: number[] = [];
    await waitFor(
      () => {
        const r = a.transport.rtt().get(nodeId('n2'));
        if (r && samples.at(-1) !== r.lastMs) samples.push(r.lastMs);
        return samples.length >= 5;
      },
      'five RTT samples',
      5000,
    );
    // Timers never fire early (the FIFO re-arms), so the bound below is exact; above, a busy
    // machine may add event-loop lag to a sample, so the median carries the tight bound.
    for (const ms of samples) {
      expect(ms).toBeGreaterThanOrEqual(60);
      expect(ms).toBeLessThan(60 + 200);
    }
    const median = [...samples].sort((x, y) => x - y)[Math.floor(samples.length / 2)] as number;
    expect(median).toBeLessThan(60 + 50);
    const r = a.transport.rtt().get(nodeId('n2'));
    expect(r?.smoothedMs).toBeGreaterThanOrEqual(60);
    expect(Math.abs((r?.measuredAt ?? 0) - Date.now())).toBeLessThan(1000);
    // The undelayed link measures a loopback RTT.
    await waitFor(() => a.transport.rtt().has(c.id), 'an RTT sample to n3');
    expect(a.transport.rtt().get(c.id)?.lastMs).toBeLessThan(30);
  });

  it('delays frames by linkDelayMs and keeps their order', async () => {
    const nodes = await startNodes(['n1', 'n2'], () => ({ linkDelayMs: () => 40 }));
    const [a, b] = [node(nodes, 0), node(nodes, 1)];
    await exchangeAll(nodes, 0);
    const sentAt = performance.now();
    let firstAt = 0;
    for (let i = 0; i < 50; i++) a.transport.send(heartbeats(a.id, b.id, 1000 + i, 3));
    const burst = (): number[] => commits(b, a.id).filter((c) => c >= 1000);
    await waitFor(() => {
      if (firstAt === 0 && burst().length > 0) firstAt = performance.now();
      return burst().length >= 150;
    }, 'all delayed messages');
    expect(firstAt - sentAt).toBeGreaterThanOrEqual(40);
    expect(burst()).toEqual(range(0, 150).map((i) => 1000 + Math.floor(i / 3) + (i % 3)));
  });
});

describe('WsTransport snapshots', () => {
  it('delivers a 3 MiB InstallSnapshot intact with maxPayloadBytes 1 MiB, in order with other messages', async () => {
    const nodes = await startNodes(['n1', 'n2'], () => ({ maxPayloadBytes: 1024 * 1024 }));
    const [a, b] = [node(nodes, 0), node(nodes, 1)];
    const data = new Uint8Array(randomBytes(3 * 1024 * 1024));
    const snapshot: Message = { type: 'InstallSnapshot', from: a.id, to: b.id, term: 4, snapshot: { meta: { index: 900, term: 3, membership: { voters: [a.id, b.id], learners: [] } }, data } };
    a.transport.send([...heartbeats(a.id, b.id, 1, 2), snapshot, ...heartbeats(a.id, b.id, 3, 2)]);
    await waitFor(() => b.received.length === 5, 'the snapshot and its neighbours', 10_000);
    expect(b.received.map((m) => m.type)).toEqual(['Heartbeat', 'Heartbeat', 'InstallSnapshot', 'Heartbeat', 'Heartbeat']);
    const got = b.received[2];
    if (got?.type !== 'InstallSnapshot') throw new Error('no snapshot');
    expect(got.snapshot.meta).toEqual(snapshot.snapshot.meta);
    expect(got.snapshot.data.byteLength).toBe(data.byteLength);
    expect(Buffer.compare(got.snapshot.data, data)).toBe(0);
    expect(a.transport.stats().get(b.id)?.framesSent).toBeGreaterThanOrEqual(5);
  });

  it('sends a snapshot larger than maxQueuedBytes when the link is idle, and drops resends while it is in flight', async () => {
    // Injected latency keeps the first copy in our FIFO (loopback would otherwise take it at once).
    const nodes = await startNodes(['n1', 'n2'], () => ({ maxPayloadBytes: 64 * 1024, maxQueuedBytes: 100_000, linkDelayMs: () => 20 }));
    const [a, b] = [node(nodes, 0), node(nodes, 1)];
    await exchangeAll(nodes, 0);
    const data = new Uint8Array(randomBytes(300_000));
    const snapshot: Message = { type: 'InstallSnapshot', from: a.id, to: b.id, term: 4, snapshot: { meta: { index: 9, term: 3, membership: { voters: [a.id, b.id], learners: [] } }, data } };
    a.transport.send([snapshot]);
    a.transport.send([snapshot]);
    await waitFor(() => b.received.some((m) => m.type === 'InstallSnapshot'), 'the snapshot');
    const got = b.received.find((m) => m.type === 'InstallSnapshot');
    expect(got?.type === 'InstallSnapshot' && Buffer.compare(got.snapshot.data, data)).toBe(0);
    expect(a.transport.stats().get(b.id)?.messagesDropped).toBe(1);
    await exchangeAll(nodes, 1);
    expect(b.received.filter((m) => m.type === 'InstallSnapshot')).toHaveLength(1);
  });

  it('drops a snapshot over maxSnapshotBytes at the receiver and closes only that link', async () => {
    const nodes = await startNodes(['n1', 'n2'], () => ({ maxPayloadBytes: 64 * 1024, maxSnapshotBytes: 100_000 }));
    const [a, b] = [node(nodes, 0), node(nodes, 1)];
    const snapshot: Message = { type: 'InstallSnapshot', from: a.id, to: b.id, term: 4, snapshot: { meta: { index: 9, term: 3, membership: { voters: [a.id, b.id], learners: [] } }, data: new Uint8Array(200_000) } };
    a.transport.send([snapshot]);
    await waitFor(() => b.logs.some((l) => l.fields.reason === 'bad snapshot chunk'), 'the refusal');
    expect(b.received).toEqual([]);
    await exchangeAll(nodes, 1);
  });
});

function openssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('WsTransport TLS', () => {
  it('exchanges messages over wss with a self-signed certificate', async () => {
    // The certificate is made with the openssl CLI; a machine without it fails here, loudly.
    expect(openssl(), 'the openssl command is needed to make a test certificate').toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'warden-tls-'));
    defer(async () => rmSync(dir, { recursive: true, force: true }));
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
      { stdio: 'ignore' },
    );
    const tls = { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
    const nodes = await startNodes(['n1', 'n2'], () => ({ tls: { ca: tls.cert } }), tls);
    expect(node(nodes, 0).url.startsWith('wss://')).toBe(true);
    await exchangeAll(nodes, 0);
    // Without the CA, the certificate is refused and nothing flows.
    const a = node(nodes, 0);
    const stranger: TestNode = { id: nodeId('n2'), port: 0, url: '', server: a.server, transport: null as never, received: [], logs: [] };
    stranger.transport = newTransport(stranger, new Map([[a.id, a.url]]));
    stranger.transport.send(heartbeats(stranger.id, a.id, 99, 1));
    await waitFor(() => /self.signed|certificate/i.test(stranger.transport.stats().get(a.id)?.lastError ?? ''), 'the TLS refusal');
    expect(commits(a, stranger.id)).not.toContain(99);
  });
});

