// The client API of a real node (in-process, real SQLite file, real WebSockets on 127.0.0.1):
// tokens and roles, typed errors for malformed, oversized and unknown messages, compare-and-set,
// ordered and resumable watches, /health, /ready and /metrics, and a peer with a bad secret.

import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { connect, WardenError } from '../../core/client/index.ts';
import { validateConfig } from '../../core/server/config.ts';
import { silentLogger } from '../../core/server/log.ts';
import { WardenNode } from '../../core/server/wardenNode.ts';
import { cleanup, runCli, tempDir, waitFor } from './helpers.ts';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const ADMIN = 'admin-token-0123456789';
const READER = 'reader-token-0123456789';
const CLIENT = 'client-token-0123456789';
let node: WardenNode;
let endpoint: string;
let http: string;
let peerUrl: string;

beforeAll(async () => {
  const [peer, client] = [await freePort(), await freePort()];
  endpoint = `ws://127.0.0.1:${client}/client`;
  http = `http://127.0.0.1:${client}`;
  peerUrl = `ws://127.0.0.1:${peer}/peer`;
  const config = validateConfig(
    {
      id: 'n1',
      datacenter: 'dc-a',
      dataDir: tempDir(),
      clusterId: 'api-test',
      secret: 'the-cluster-secret-0123',
      listen: { peer: `127.0.0.1:${peer}`, client: `127.0.0.1:${client}` },
      members: [{ id: 'n1', datacenter: 'dc-a', peerUrl, clientUrl: endpoint }],
      tokens: [
        { token: ADMIN, role: 'admin' },
        { token: READER, role: 'reader' },
        { token: CLIENT, role: 'client', prefixes: ['/app'] },
      ],
    },
    '/',
  );
  node = await WardenNode.start(config, silentLogger);
  await waitFor('leadership', () => node.host.status().role === 'leader' && node.isReady(), 10_000, 20);
});

afterAll(async () => {
  await node?.close();
  await cleanup();
});

/** rawClient opens an authenticated WebSocket and returns a request function over it. */
async function rawClient(token = ADMIN): Promise<{ ws: WebSocket; request: (frame: string | Buffer) => Promise<Record<string, unknown>> }> {
  const ws = new WebSocket(endpoint, { headers: { authorization: `Bearer ${token}` } });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const request = (frame: string | Buffer): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer')), 5000);
      ws.once('message', (data) => {
        clearTimeout(timer);
        resolve(JSON.parse(data.toString()) as Record<string, unknown>);
      });
      ws.send(frame);
    });
  return { ws, request };
}

/** Recorder is a raw connection that keeps every frame it receives, in arrival order. */
interface Recorder {
  readonly ws: WebSocket;
  readonly frames: Record<string, unknown>[];
  /** send writes a request and returns its id. */
  send(method: string, params: Record<string, unknown>): number;
  /** answer waits for the response to request `id`. */
  answer(id: number): Promise<Record<string, unknown>>;
}

async function recorder(token = ADMIN): Promise<Recorder> {
  const { ws } = await rawClient(token);
  const frames: Record<string, unknown>[] = [];
  ws.on('message', (data) => frames.push(JSON.parse(data.toString()) as Record<string, unknown>));
  let nextId = 1;
  return {
    ws,
    frames,
    send(method, params) {
      const id = nextId++;
      ws.send(JSON.stringify({ id, method, params }));
      return id;
    },
    answer: (id) => waitFor(`the answer to request ${id}`, () => frames.find((f) => f.id === id), 5_000, 5),
  };
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WardenError);
  expect((err as WardenError).code).toBe(code);
}

describe('client API', () => {
  it('refuses a bad token at connect time with Unauthenticated', async () => {
    await expectCode(connect({ endpoints: [endpoint], token: 'not-a-valid-token-at-all', requestTimeoutMs: 3000 }), 'Unauthenticated');
  });

  it('enforces roles: a reader cannot write, a client only within its prefixes', async () => {
    const reader = await connect({ endpoints: [endpoint], token: READER });
    await expectCode(reader.kv.put('/app/x', '1'), 'PermissionDenied');
    expect((await reader.status()).leader?.id).toBe('n1');
    reader.close();
    const client = await connect({ endpoints: [endpoint], token: CLIENT });
    await client.kv.put('/app/x', '1');
    await expectCode(client.kv.put('/other/x', '1'), 'PermissionDenied');
    await expectCode(client.kv.list('/'), 'PermissionDenied');
    client.close();
  });

  it('requires authentication before any method on a connection without a header', async () => {
    const ws = new WebSocket(endpoint);
    await new Promise((r) => ws.once('open', r));
    const answer = await new Promise<Record<string, unknown>>((resolve) => {
      ws.once('message', (d) => resolve(JSON.parse(d.toString()) as Record<string, unknown>));
      ws.send(JSON.stringify({ id: 1, method: 'kv.get', params: { key: '/a' } }));
    });
    expect((answer.error as { code: string }).code).toBe('Unauthenticated');
    const auth = await new Promise<Record<string, unknown>>((resolve) => {
      ws.once('message', (d) => resolve(JSON.parse(d.toString()) as Record<string, unknown>));
      ws.send(JSON.stringify({ id: 2, method: 'auth', params: { token: READER } }));
    });
    expect(auth.result).toEqual({ role: 'reader' });
    ws.close();
  });

  it('answers malformed, unknown and binary frames with typed errors and keeps the connection', async () => {
    const { ws, request } = await rawClient();
    expect(((await request('{not json')).error as { code: string }).code).toBe('BadRequest');
    expect(((await request('[1,2]')).error as { code: string }).code).toBe('BadRequest');
    expect(((await request(JSON.stringify({ id: -1, method: 'status' }))).error as { code: string }).code).toBe('BadRequest');
    expect(((await request(JSON.stringify({ id: 3, method: 'kv.explode', params: {} }))).error as { code: string }).code).toBe('UnknownMethod');
    expect(((await request(JSON.stringify({ id: 4, method: 'kv.get', params: { key: 'no-slash' } }))).error as { code: string }).code).toBe('InvalidArgument');
    expect(((await request(JSON.stringify({ id: 5, method: 'kv.put', params: { key: '/a', value: 7 } }))).error as { code: string }).code).toBe('InvalidArgument');
    expect(((await request(Buffer.from([1, 2, 3]))).error as { code: string }).code).toBe('BadRequest');
    const ok = await request(JSON.stringify({ id: 6, method: 'kv.put', params: { key: '/a/still-works', value: 'yes' } }));
    expect(ok.id).toBe(6);
    expect(ok.result).toBeDefined();
    ws.close();
  });

  it('closes a connection that sends an oversized frame, and keeps serving others', async () => {
    const { ws } = await rawClient();
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(JSON.stringify({ id: 1, method: 'kv.put', params: { key: '/big', value: 'x'.repeat(400 * 1024) } }));
    expect(await closed).toBe(1009);
    const client = await connect({ endpoints: [endpoint], token: ADMIN });
    expect((await client.status()).nodes).toHaveLength(1);
    client.close();
  });

  it('refuses values over the size limit with TooLarge', async () => {
    const client = await connect({ endpoints: [endpoint], token: ADMIN });
    await expectCode(client.kv.put('/big/value', 'x'.repeat(64 * 1024 + 1)), 'TooLarge');
    await client.kv.put('/big/value', 'x'.repeat(64 * 1024));
    client.close();
  });

  it('compare-and-set on revision reports conflicts with the current value', async () => {
    const client = await connect({ endpoints: [endpoint], token: ADMIN });
    const first = await client.kv.put('/cas/k', 'one', { expectRevision: 0 });
    await expectCode(client.kv.put('/cas/k', 'again', { expectRevision: 0 }), 'CasConflict');
    const second = await client.kv.put('/cas/k', 'two', { expectRevision: first.revision });
    const err = await client.kv.put('/cas/k', 'three', { expectRevision: first.revision }).catch((e: WardenError) => e);
    expect((err as WardenError).code).toBe('CasConflict');
    expect((err as WardenError).current?.value).toBe('two');
    expect((await client.kv.get('/cas/k'))?.revision).toBe(second.revision);
    expect(await client.kv.delete('/cas/k', { expectRevision: second.revision })).toBe(true);
    expect(await client.kv.delete('/cas/k')).toBe(false);
    client.close();
  });

  it('delivers watch events in revision order, and resumes from a revision', async () => {
    const client = await connect({ endpoints: [endpoint], token: ADMIN });
    const watcher = await client.kv.watch('/w');
    const seen: string[] = [];
    watcher.on('event', (e) => seen.push(`${e.type}:${e.key}:${e.value}`));
    const r1 = await client.kv.put('/w/a', '1');
    await client.kv.put('/wx/not-under', 'x');
    await client.kv.put('/w/b', '2');
    await client.kv.delete('/w/a');
    await waitFor('three events', () => seen.length >= 3, 5000, 10);
    expect(seen).toEqual(['put:/w/a:1', 'put:/w/b:2', 'delete:/w/a:null']);
    await watcher.close();
    const resumed = await client.kv.watch('/w', { fromRevision: r1.revision + 1 });
    const again: number[] = [];
    resumed.on('event', (e) => again.push(e.revision));
    await client.kv.put('/w/c', '3');
    await waitFor('resumed events', () => again.length >= 3, 5000, 10);
    expect(again).toEqual([...again].sort((a, b) => a - b));
    expect(again[0]).toBeGreaterThan(r1.revision);
    await resumed.close();
    client.close();
  });

  it('switches the timeout profile through replicated cluster settings', async () => {
    const client = await connect({ endpoints: [endpoint], token: ADMIN });
    const health = async (): Promise<{ electionTimeoutMs: number }> => (await (await fetch(`${http}/health`)).json()) as { electionTimeoutMs: number };
    expect((await health()).electionTimeoutMs).toBe(500);
    await client.admin.setSettings({ timeoutProfile: 'wan' });
    await waitFor('the wan profile', async () => (await health()).electionTimeoutMs === 1000, 5000, 50);
    await expectCode(client.admin.setSettings({ timeoutProfile: 'moon' }), 'InvalidArgument');
    await client.admin.setSettings({ timeoutProfile: null });
    await waitFor('the configured profile again', async () => (await health()).electionTimeoutMs === 500, 5000, 50);
    const events = await client.events.list({ kind: 'settings' });
    expect(events.at(-1)).toMatchObject({ kind: 'settings.change', actor: 'admin-0' });
    await client.close();
  });

  it('hands a lock over before confirming its release, and pushes lockGranted only where no acquire answers it', async () => {
    // One connection carries both sessions, so its frames arrive in the order the node sent them.
    const both = await recorder();
    const other = await recorder();
    try {
      const [holder, waiter] = (await Promise.all([both.answer(both.send('session.open', { ttlMs: 10_000, info: {} })), both.answer(both.send('session.open', { ttlMs: 10_000, info: {} }))])).map(
        (f) => (f.result as { sessionId: string }).sessionId,
      ) as [string, string];
      // `other` is attached to the waiter's session (as a reconnected client would be) but asks for nothing.
      expect((await other.answer(other.send('session.keepAlive', { sessionId: waiter }))).result).toBeDefined();
      const held = (await both.answer(both.send('lock.acquire', { sessionId: holder, name: '/handoff', mode: 'exclusive', waitMs: 0 }))).result as { token: number };
      const queued = both.send('lock.acquire', { sessionId: waiter, name: '/handoff', mode: 'exclusive', waitMs: 10_000 });
      await waitFor('the waiter queued', async () => {
        const list = (await both.answer(both.send('locks.list', { prefix: '/handoff' }))).result as { locks: { waiters: unknown[] }[] };
        return (list.locks[0]?.waiters.length ?? 0) === 1;
      }, 5_000, 10);
      const released = both.send('lock.release', { sessionId: holder, name: '/handoff' });
      const notice = (await waitFor('the notice on the other connection', () => other.frames.find((f) => f.event === 'notice'), 5_000, 5)).notice as Record<string, unknown>;
      expect(notice).toMatchObject({ type: 'lockGranted', sessionId: waiter, name: '/handoff', mode: 'exclusive' });
      // A request sent after the release is answered after everything the release caused.
      await both.answer(both.send('status', {}));
      const ids = both.frames.filter((f) => f.id === queued || f.id === released || f.event !== undefined).map((f) => f.id ?? f.event);
      expect(ids).toEqual([queued, released]);
      const grant = both.frames.find((f) => f.id === queued)?.result as { token: number };
      expect(grant.token).toBeGreaterThan(held.token);
      expect(notice.token).toBe(grant.token);
    } finally {
      both.ws.close();
      other.ws.close();
    }
  });

  it('serves /health, /ready and /metrics', async () => {
    const health = (await (await fetch(`${http}/health`)).json()) as { id: string; state: string };
    expect(health).toMatchObject({ id: 'n1', state: 'leader' });
    expect((await fetch(`${http}/ready`)).status).toBe(200);
    const metrics = await (await fetch(`${http}/metrics`)).text();
    expect(metrics).toMatch(/^warden_raft_term \d+$/m);
    expect(metrics).toMatch(/^warden_storage_fsync_seconds_count [1-9]\d*$/m);
    expect(metrics).toMatch(/^warden_proposals_total [1-9]\d*$/m);
    expect((await fetch(`${http}/nope`)).status).toBe(404);
  });

  it('closes a peer link that does not know the secret, and keeps serving clients', async () => {
    const ws = new WebSocket(peerUrl);
    const hello = await new Promise<Record<string, unknown>>((resolve, reject) => {
      ws.once('message', (d) => resolve(JSON.parse(d.toString()) as Record<string, unknown>));
      ws.once('error', reject);
    });
    expect(hello).toBeTruthy();
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(JSON.stringify({ type: 'auth', clusterId: 'api-test', nodeId: 'n1', nonce: 'AAAA', mac: 'BBBB' }));
    expect(await closed).toBeGreaterThanOrEqual(4000);
    const client = await connect({ endpoints: [endpoint], token: ADMIN });
    await client.kv.put('/after/peer', 'ok');
    client.close();
  });

  it('the CLI reports a bad config file by naming the field, with exit status 2', async () => {
    const dir = tempDir();
    const file = `${dir}/node.yaml`;
    (await import('node:fs')).writeFileSync(file, 'id: n1\ndatacenter: dc-a\ndataDir: d\nclusterId: c\nsecret: short\n');
    const result = await runCli(['node', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('config field `secret`');
  });

  it('the CLI exits non-zero with a clear message when the cluster is unreachable', async () => {
    const result = await runCli(['kv', 'get', '/a'], { WARDEN_ENDPOINTS: 'ws://127.0.0.1:9/client', WARDEN_TOKEN: ADMIN }, 30_000);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Unavailable|cannot reach/);
    const usage = await runCli(['kv', 'get', '/a']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/no endpoints/);
  });
});

describe('data directory safety', () => {
  it('a node refuses a data dir from another cluster with a clear error and leaves it untouched', async () => {
    const { spawn } = await import('node:child_process');
    const { writeFileSync, readFileSync } = await import('node:fs');
    const { createHash } = await import('node:crypto');
    const { ROOT, WARDEN } = await import('./helpers.ts');
    const dir = tempDir();
    const [peer, client] = [await freePort(), await freePort()];
    const yaml = (clusterId: string): string =>
      [
        'id: n1',
        'datacenter: dc-a',
        `dataDir: ${dir}/data`,
        `clusterId: ${clusterId}`,
        'secret: the-cluster-secret-0123',
        `listen: { peer: "127.0.0.1:${peer}", client: "127.0.0.1:${client}" }`,
        'members:',
        `  - { id: n1, datacenter: dc-a, peerUrl: "ws://127.0.0.1:${peer}/peer", clientUrl: "ws://127.0.0.1:${client}/client" }`,
        'tokens: [{ token: admin-token-0123456789, role: admin }]',
      ].join('\n');
    writeFileSync(`${dir}/a.yaml`, yaml('cluster-a'));
    writeFileSync(`${dir}/b.yaml`, yaml('cluster-b'));
    const first = spawn(process.execPath, [WARDEN, 'node', '--config', `${dir}/a.yaml`], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    first.stderr.setEncoding('utf8').on('data', (d: string) => (log += d));
    await waitFor('the first node to start', () => log.includes('node started'), 20_000, 50);
    await new Promise<void>((resolve) => {
      first.once('exit', () => resolve());
      first.kill('SIGTERM');
    });
    const hash = createHash('sha256').update(readFileSync(`${dir}/data/warden.db`)).digest('hex');
    const second = await runCli(['node', '--config', `${dir}/b.yaml`], {}, 20_000);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/cluster/);
    expect(second.stderr).toMatch(/warden\.db/);
    expect(createHash('sha256').update(readFileSync(`${dir}/data/warden.db`)).digest('hex')).toBe(hash);
  });
});

describe('TLS', () => {
  it('serves clients and peers over wss with the configured certificate; the CLI and SDK trust it only with --ca', async () => {
    const { execFileSync } = await import('node:child_process');
    const { readFileSync } = await import('node:fs');
    const dir = tempDir();
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
      { stdio: 'ignore' },
    );
    const [peer, client] = [await freePort(), await freePort()];
    const url = `wss://127.0.0.1:${client}/client`;
    const config = validateConfig(
      {
        id: 'n1',
        datacenter: 'dc-a',
        dataDir: `${dir}/data`,
        clusterId: 'tls-test',
        secret: 'the-cluster-secret-0123',
        listen: { peer: `127.0.0.1:${peer}`, client: `127.0.0.1:${client}` },
        members: [{ id: 'n1', datacenter: 'dc-a', peerUrl: `wss://127.0.0.1:${peer}/peer`, clientUrl: url }],
        tls: { cert: `${dir}/cert.pem`, key: `${dir}/key.pem`, ca: `${dir}/cert.pem` },
        tokens: [{ token: ADMIN, role: 'admin' }],
      },
      '/',
    );
    const tlsNode = await WardenNode.start(config, silentLogger);
    try {
      await waitFor('leadership', () => tlsNode.isReady(), 10_000, 20);
      const c = await connect({ endpoints: [url], token: ADMIN, ca: readFileSync(`${dir}/cert.pem`, 'utf8') });
      await c.kv.put('/tls/k', 'secure');
      expect((await c.status()).nodes[0]?.state).toBe('leader');
      await c.close();
      const env = { WARDEN_ENDPOINTS: url, WARDEN_TOKEN: ADMIN };
      const withCa = await runCli(['kv', 'get', '/tls/k', '--ca', `${dir}/cert.pem`], env);
      expect(withCa.stdout.trim(), withCa.stderr).toBe('secure');
      const withoutCa = await runCli(['kv', 'get', '/tls/k'], env, 30_000);
      expect(withoutCa.code).toBe(1);
      expect(withoutCa.stderr).toMatch(/certificate|Unavailable/i);
    } finally {
      await tlsNode.close();
    }
  });
});
