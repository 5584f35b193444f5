// Effectful (real node processes, sockets, temp dirs). The console's part 2 through its WebSocket
// bridge against a local three-datacenter cluster: a stuck lock found and released by force
// (refused for read-only connections and non-admin tokens), the holder told and the waiter
// granted a larger token, the audit trail, configuration compare-and-set with both versions and
// the watch history, metrics from the nodes' /metrics, and lock queries over thousands of locks.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEventView, KvItem, LockView, SessionView, WatchEvent } from '../../core/api/clientProtocol.ts';
import { CONSOLE_WS_PATH } from '../../core/api/contract.ts';
import type { ConnectionSummary, ForceReleaseResult, KvChanges, LockDetail, LockPage, LocksChanged, MetricsSample, MetricsUpdate, WsServerFrame } from '../../core/api/contract.ts';
import { LocalCluster } from '../../core/cli/localCluster.ts';
import { connect } from '../../core/client/index.ts';
import type { Lock, LockLost, Session, WardenClient } from '../../core/client/index.ts';
import { startConsoleServer } from '../../core/console/consoleServer.ts';
import type { RunningConsoleServer } from '../../core/console/consoleServer.ts';
import { createConsoleService } from '../../core/console/consoleService.ts';
import type { ConsoleService } from '../../core/console/consoleService.ts';
import { cleanup, tempDir, waitFor } from './helpers.ts';

type Reply = { ok: true; value: unknown } | { ok: false; error: { code: string; message: string; current?: KvItem | null } };

/** Bridge is the console's WebSocket as the renderer uses it: requests by id, and pushes. */
class Bridge {
  readonly events: { event: string; payload: unknown }[] = [];
  private readonly replies = new Map<number, Reply>();
  private nextId = 1;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as WsServerFrame;
      if ('event' in frame) this.events.push(frame);
      else this.replies.set(frame.id, frame.reply as Reply);
    });
  }

  static open(server: RunningConsoleServer): Promise<Bridge> {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}${CONSOLE_WS_PATH}?token=${server.token}`, { origin: `http://127.0.0.1:${server.port}` });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new Bridge(ws)));
      ws.once('error', reject);
    });
  }

  async call(request: string, payload?: unknown, timeoutMs = 30_000): Promise<Reply> {
    const id = this.nextId++;
    this.ws.send(JSON.stringify(payload === undefined ? { id, request } : { id, request, payload }));
    return waitFor(`a reply to ${request}`, () => this.replies.get(id), timeoutMs, 10);
  }

  async value<T>(request: string, payload?: unknown, timeoutMs?: number): Promise<T> {
    const reply = await this.call(request, payload, timeoutMs);
    if (!reply.ok) throw new Error(`${request} failed: ${reply.error.code}: ${reply.error.message}`);
    return reply.value as T;
  }

  async error(request: string, payload?: unknown): Promise<{ code: string; message: string; current?: KvItem | null }> {
    const reply = await this.call(request, payload);
    if (reply.ok) throw new Error(`${request} succeeded: ${JSON.stringify(reply.value).slice(0, 200)}`);
    return reply.error;
  }

  pushed<T>(event: string): T[] {
    return this.events.filter((e) => e.event === event).map((e) => e.payload as T);
  }
}

let cluster: LocalCluster;
let service: ConsoleService;
let server: RunningConsoleServer;
let bridge: Bridge;
/** Connections: admin (read-write), admin but read-only, a client-role token, a reader. */
const ids = { admin: '', readOnly: '', client: '', reader: '' };
const sdk: WardenClient[] = [];

/** endpointsFrom lists the cluster's endpoints with the given datacenter's node first. */
function endpointsFrom(datacenter: string): string[] {
  const all = cluster.endpoints();
  const first = cluster.spec.nodes.findIndex((n) => n.datacenter === datacenter);
  return [all[first] as string, ...all.filter((_, i) => i !== first)];
}

async function client(datacenter = 'dc-a'): Promise<WardenClient> {
  const c = await connect({ endpoints: endpointsFrom(datacenter), token: cluster.spec.adminToken, requestTimeoutMs: 20_000 });
  sdk.push(c);
  return c;
}

beforeAll(async () => {
  cluster = await LocalCluster.open({ dcs: 3, layout: [1, 1, 1], basePort: null, dataDir: tempDir('warden-console-locks-'), host: '127.0.0.1', latency: { uniform: 5 } });
  cluster.startAll();
  const staticDir = tempDir('warden-console-static-');
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>Warden console</title>');
  service = createConsoleService({ stateDir: tempDir('warden-console-state-'), bridge: 'browser', version: 'test', pollIntervalMs: 300, metricsIntervalMs: 500, connectTimeoutMs: 5000 });
  server = await startConsoleServer({ service, port: 0, staticDir });
  bridge = await Bridge.open(server);
  await cluster.waitForLeader(60_000);
  const endpoints = cluster.endpoints();
  ids.admin = service.addRemote({ name: 'admin', endpoints, token: cluster.spec.adminToken }).id;
  ids.readOnly = service.addRemote({ name: 'admin-ro', endpoints, token: cluster.spec.adminToken, readOnly: true }).id;
  ids.client = service.addRemote({ name: 'client', endpoints, token: cluster.spec.clientToken }).id;
  ids.reader = service.addRemote({ name: 'reader', endpoints, token: cluster.spec.readerToken }).id;
  for (const id of Object.values(ids)) await bridge.value<ConnectionSummary>('openConnection', { connectionId: id });
}, 120_000);

afterAll(async () => {
  bridge?.ws.close();
  await Promise.allSettled(sdk.map((c) => c.close()));
  await server?.close();
  await service?.close();
  await cluster?.stopAll();
  await cleanup();
}, 60_000);

describe('stuck locks and forced release through the console', () => {
  let holder: Session;
  let waiterLock: Promise<Lock>;
  let held: Lock;
  const lost: LockLost[] = [];

  it('settings changes need an admin token on a writable connection', async () => {
    const patch = { stuckAfterMs: 300, waiterStuckAfterMs: 3_600_000 };
    expect(await bridge.error('setSettings', { connectionId: ids.readOnly, patch })).toMatchObject({ code: 'ReadOnly' });
    expect(await bridge.error('setSettings', { connectionId: ids.client, patch })).toMatchObject({ code: 'PermissionDenied' });
    const { settings } = await bridge.value<{ settings: Record<string, unknown> }>('setSettings', { connectionId: ids.admin, patch });
    expect(settings).toMatchObject(patch);
    expect((await bridge.value<{ settings: Record<string, unknown> }>('getSettings', { connectionId: ids.reader })).settings).toMatchObject(patch);
    expect(await bridge.error('setSettings', { connectionId: ids.admin, patch: { stuckAfterMs: 1 } })).toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('stuckAfterMs') });
  });

  it('shows a lock held past the stuck threshold while another waits, with reason heldTooLong', async () => {
    holder = await (await client('dc-b')).openSession({ ttlMs: 10_000, info: { app: 'nightly-job', label: 'holder' } });
    holder.on('lockLost', (l) => lost.push(l));
    held = await holder.acquire('jobs/nightly', { waitMs: 0 });
    const waiter = await (await client('dc-c')).openSession({ ttlMs: 10_000, info: { app: 'nightly-job', label: 'waiter' } });
    waiterLock = waiter.acquire('jobs/nightly', { waitMs: 60_000 });
    const page = await waitFor(
      'jobs/nightly listed as stuck',
      async () => {
        const p = await bridge.value<LockPage>('queryLocks', { connectionId: ids.reader, stuckOnly: true, offset: 0, limit: 10 });
        return p.locks.some((l) => l.name === 'jobs/nightly') ? p : null;
      },
      15_000,
    );
    const lock = page.locks.find((l) => l.name === 'jobs/nightly') as LockView;
    expect(lock.stuckReasons).toEqual(['heldTooLong']);
    expect(lock.holders).toMatchObject([{ sessionId: holder.id, token: held.token, datacenter: 'dc-b', client: { app: 'nightly-job', label: 'holder' } }]);
    expect(lock.waiters).toMatchObject([{ sessionId: waiter.id, datacenter: 'dc-c' }]);
    expect(page.now).toBeGreaterThan(Date.now() - 60_000);
    expect(bridge.pushed<LocksChanged>('onLocksChanged').some((e) => e.connectionId === ids.reader)).toBe(true);
  });

  it('the lock detail has the lock, its holder and waiter sessions, and its recent events', async () => {
    const detail = await bridge.value<LockDetail>('getLockDetail', { connectionId: ids.admin, name: 'jobs/nightly' });
    expect(detail.lock?.name).toBe('jobs/nightly');
    expect(detail.sessions.map((s) => s.id).sort()).toEqual([holder.id, detail.lock?.waiters[0]?.sessionId].sort());
    const own = detail.sessions.find((s) => s.id === holder.id) as SessionView;
    expect(own).toMatchObject({ datacenter: 'dc-b', lockCount: 1, locks: [{ name: 'jobs/nightly', token: held.token }] });
    expect(detail.events.map((e) => e.kind)).toEqual(expect.arrayContaining(['lock.grant', 'lock.queue']));
    expect(detail.events.every((e) => e.name === 'jobs/nightly')).toBe(true);
    expect(await bridge.value<LockDetail>('getLockDetail', { connectionId: ids.admin, name: 'jobs' })).toMatchObject({ lock: null, sessions: [] });
    // The client role may not read the audit log: its detail simply has no events.
    expect((await bridge.value<LockDetail>('getLockDetail', { connectionId: ids.client, name: 'jobs/nightly' })).events).toEqual([]);
  });

  it('refuses a forced release without the admin role, and on a read-only connection, before asking the cluster', async () => {
    const request = { name: 'jobs/nightly', reason: 'holder hung in the incident drill' };
    expect(await bridge.error('forceRelease', { connectionId: ids.client, ...request })).toMatchObject({ code: 'PermissionDenied', message: expect.stringContaining('admin') });
    expect(await bridge.error('forceRelease', { connectionId: ids.reader, ...request })).toMatchObject({ code: 'PermissionDenied' });
    expect(await bridge.error('forceRelease', { connectionId: ids.readOnly, ...request })).toMatchObject({ code: 'ReadOnly' });
    expect(await bridge.error('forceRelease', { connectionId: ids.admin, name: 'jobs/nightly', reason: ' ' })).toMatchObject({ code: 'BadRequest' });
    const events = await bridge.value<{ events: AuditEventView[] }>('listEvents', { connectionId: ids.admin, kind: 'lock.forceRelease' });
    expect(events.events).toEqual([]);
  });

  it('releases with an admin token: the token moves on to the waiter, the holder gets lockLost', async () => {
    const result = await bridge.value<ForceReleaseResult>('forceRelease', { connectionId: ids.admin, name: 'jobs/nightly', reason: 'holder hung in the incident drill' });
    expect(result.previous).toEqual([{ sessionId: holder.id, token: held.token }]);
    const granted = await waiterLock;
    expect(result.next).toEqual([{ sessionId: expect.any(String), token: granted.token }]);
    expect(granted.token).toBeGreaterThan(held.token);
    expect(result.lock?.holders).toMatchObject([{ token: granted.token, datacenter: 'dc-c' }]);
    expect(result.lock?.waiters).toEqual([]);
    await waitFor('lockLost on the old holder', () => lost.length > 0, 10_000);
    expect(lost[0]).toMatchObject({ name: 'jobs/nightly', token: held.token, reason: 'forced', actor: 'admin', detail: 'holder hung in the incident drill' });
    expect(await bridge.error('forceRelease', { connectionId: ids.admin, name: 'jobs/none', reason: 'r' })).toMatchObject({ code: 'NotFound' });
  });

  it('the events list shows the forced release with actor and reason, and finds it by free text', async () => {
    const byKind = await bridge.value<{ events: AuditEventView[] }>('listEvents', { connectionId: ids.admin, kind: 'lock.forceRelease' });
    expect(byKind.events).toMatchObject([{ kind: 'lock.forceRelease', name: 'jobs/nightly', actor: 'admin', reason: 'holder hung in the incident drill', token: held.token }]);
    const byText = await bridge.value<{ events: AuditEventView[] }>('listEvents', { connectionId: ids.reader, text: 'INCIDENT DRILL' });
    expect(byText.events.map((e) => e.kind)).toEqual(['lock.forceRelease']);
    const settings = await bridge.value<{ events: AuditEventView[] }>('listEvents', { connectionId: ids.admin, kind: 'settings', actor: 'admin' });
    expect(settings.events.at(-1)).toMatchObject({ kind: 'settings.change', detail: { stuckAfterMs: { to: 300 } } });
    expect(await bridge.error('listEvents', { connectionId: ids.client })).toMatchObject({ code: 'PermissionDenied' });
  });

  it('closes a session with a reason (admin only), audited', async () => {
    const victim = await (await client()).openSession({ ttlMs: 10_000, info: { app: 'stale-worker' } });
    const ended = new Promise<unknown>((resolve) => victim.once('expired', resolve));
    expect(await bridge.error('closeSession', { connectionId: ids.client, sessionId: victim.id, reason: 'stale' })).toMatchObject({ code: 'PermissionDenied' });
    expect(await bridge.error('closeSession', { connectionId: ids.readOnly, sessionId: victim.id, reason: 'stale' })).toMatchObject({ code: 'ReadOnly' });
    const before = await bridge.value<{ sessions: SessionView[]; now: number }>('listSessions', { connectionId: ids.reader });
    expect(before.sessions.find((s) => s.id === victim.id)).toMatchObject({ info: { app: 'stale-worker' }, datacenter: 'dc-a', lockCount: 0 });
    expect(await bridge.value('closeSession', { connectionId: ids.admin, sessionId: victim.id, reason: 'stale worker' })).toBeNull();
    expect(await ended).toMatchObject({ reason: 'closed', actor: 'admin', detail: 'stale worker' });
    const after = await bridge.value<{ sessions: SessionView[] }>('listSessions', { connectionId: ids.reader });
    expect(after.sessions.some((s) => s.id === victim.id)).toBe(false);
    const audit = await bridge.value<{ events: AuditEventView[] }>('listEvents', { connectionId: ids.admin, kind: 'session.close', actor: 'admin' });
    expect(audit.events.at(-1)).toMatchObject({ sessionId: victim.id, reason: 'stale worker' });
  });
});

describe('configuration through the console', () => {
  it('writes with compare-and-set; a concurrent change is a conflict carrying the current version', async () => {
    const created = await bridge.value<{ item: KvItem }>('kvPut', { connectionId: ids.admin, key: '/config/billing/db.url', value: 'pg://a', expectRevision: 0 });
    expect(created.item).toMatchObject({ key: '/config/billing/db.url', value: 'pg://a', version: 1 });
    expect(created.item.createRevision).toBe(created.item.revision);
    const other = await client();
    await other.kv.put('/config/billing/db.url', 'pg://b');
    const conflict = await bridge.error('kvPut', { connectionId: ids.admin, key: '/config/billing/db.url', value: 'pg://c', expectRevision: created.item.revision });
    expect(conflict).toMatchObject({ code: 'CasConflict', current: { key: '/config/billing/db.url', value: 'pg://b', version: 2 } });
    const fresh = await bridge.value<{ item: KvItem; revision: number }>('kvGet', { connectionId: ids.reader, key: '/config/billing/db.url' });
    const updated = await bridge.value<{ item: KvItem }>('kvPut', { connectionId: ids.admin, key: '/config/billing/db.url', value: 'pg://c', expectRevision: fresh.item.revision });
    expect(updated.item).toMatchObject({ value: 'pg://c', version: 3, createRevision: created.item.revision });
    expect((await bridge.value<{ item: KvItem }>('kvPut', { connectionId: ids.admin, key: '/config/new', value: 'x', expectRevision: 0 })).item.version).toBe(1);
  });

  it('refuses writes through a read-only connection and lists the namespace', async () => {
    expect(await bridge.error('kvPut', { connectionId: ids.readOnly, key: '/config/x', value: 'v', expectRevision: null })).toMatchObject({ code: 'ReadOnly' });
    expect(await bridge.error('kvDelete', { connectionId: ids.readOnly, key: '/config/new', expectRevision: null })).toMatchObject({ code: 'ReadOnly' });
    expect(await bridge.error('kvPut', { connectionId: ids.reader, key: '/config/x', value: 'v', expectRevision: null })).toMatchObject({ code: 'PermissionDenied' });
    const listed = await bridge.value<{ items: KvItem[]; revision: number; truncated: boolean }>('kvList', { connectionId: ids.reader, prefix: '/config' });
    expect(listed.items.map((i) => i.key)).toEqual(['/config/billing/db.url', '/config/new']);
    expect(listed.truncated).toBe(false);
    const item = listed.items[1] as KvItem;
    expect(await bridge.error('kvDelete', { connectionId: ids.admin, key: '/config/new', expectRevision: item.revision + 100 })).toMatchObject({ code: 'CasConflict', current: { value: 'x' } });
    expect(await bridge.value('kvDelete', { connectionId: ids.admin, key: '/config/new', expectRevision: item.revision })).toBeNull();
    expect(await bridge.error('kvDelete', { connectionId: ids.admin, key: '/config/new', expectRevision: null })).toMatchObject({ code: 'NotFound' });
    expect(await bridge.error('kvList', { connectionId: ids.admin, prefix: 'no-slash' })).toMatchObject({ code: 'InvalidArgument' });
  });

  it('keeps each key history from the watch stream and pushes the changes', async () => {
    const history = await waitFor(
      'three changes of db.url in the history',
      async () => {
        const h = await bridge.value<{ changes: WatchEvent[]; since: number }>('kvHistory', { connectionId: ids.admin, key: '/config/billing/db.url' });
        return h.changes.length >= 3 ? h : null;
      },
      10_000,
    );
    expect(history.changes.map((c) => [c.type, c.value])).toEqual([
      ['put', 'pg://a'],
      ['put', 'pg://b'],
      ['put', 'pg://c'],
    ]);
    expect(history.since).toBeLessThan(history.changes[0]?.revision as number);
    const pushedFor = (key: string): string[] =>
      bridge
        .pushed<KvChanges>('onKvChanges')
        .filter((p) => p.connectionId === ids.admin)
        .flatMap((p) => p.events)
        .filter((e) => e.key === key)
        .map((e) => e.type);
    await waitFor('the put and delete of /config/new pushed', () => pushedFor('/config/new').length >= 2, 10_000);
    expect(pushedFor('/config/new')).toEqual(['put', 'delete']);
  });
});

describe('metrics and lock queries', () => {
  it('samples arrive with lock acquires per second after lock traffic, and getMetrics keeps them', async () => {
    const session = await (await client()).openSession({ ttlMs: 10_000, info: { app: 'traffic' } });
    const stop = Date.now() + 3000;
    while (Date.now() < stop) {
      const lock = await session.acquire(`traffic/${Date.now() % 50}`, { waitMs: 0 });
      await lock.release();
    }
    const busy = await waitFor(
      'a metrics sample with lock acquires',
      () => bridge.pushed<MetricsUpdate>('onMetrics').find((u) => u.connectionId === ids.admin && u.sample.lockAcquiresPerSec > 0),
      15_000,
    );
    expect(busy.sample.proposalsPerSec).toBeGreaterThan(0);
    expect(busy.sample.commitLatencyMsP50).toBeGreaterThan(0);
    expect(busy.sample.commitLatencyMsP99).toBeGreaterThanOrEqual(busy.sample.commitLatencyMsP50 as number);
    expect(busy.sample.term).toBeGreaterThan(0);
    expect(busy.sample.leaderId).toMatch(/^n\d$/);
    expect(Object.keys(busy.sample.rttMsByDatacenterPair)).toEqual(expect.arrayContaining(['dc-a|dc-b', 'dc-a|dc-c', 'dc-b|dc-c']));
    const { samples } = await bridge.value<{ samples: MetricsSample[] }>('getMetrics', { connectionId: ids.admin });
    expect(samples.some((s) => s.lockAcquiresPerSec > 0)).toBe(true);
    expect(samples.map((s) => s.at)).toEqual([...samples.map((s) => s.at)].sort((a, b) => a - b));
  });

  it('filters, sorts and pages over a few thousand locks exactly as a full listing would', async () => {
    const per = 1000;
    const datacenters = ['dc-a', 'dc-b', 'dc-c'];
    await Promise.all(
      datacenters.map(async (dc, d) => {
        const session = await (await client(dc)).openSession({ ttlMs: 20_000, info: { app: 'bulk', label: `bulk-${dc}` } });
        let next = 0;
        await Promise.all(
          Array.from({ length: 32 }, async () => {
            for (let i = next++; i < per; i = next++) await session.acquire(`bulk/${String.fromCharCode(97 + (i % 5))}/${d}-${String(i).padStart(4, '0')}`, { waitMs: 0 });
          }),
        );
      }),
    );
    const page = (query: Record<string, unknown>): Promise<LockPage> => bridge.value<LockPage>('queryLocks', { connectionId: ids.reader, offset: 0, limit: 1000, ...query });
    const all: LockView[] = [];
    for (let offset = 0; ; offset += 1000) {
      const p = await page({ prefix: 'bulk/', offset });
      all.push(...p.locks);
      expect(p.total).toBe(3 * per);
      if (all.length >= p.total) break;
    }
    expect(all.map((l) => l.name)).toEqual(all.map((l) => l.name).sort());

    const inC = all.filter((l) => l.holders[0]?.datacenter === 'dc-c');
    expect(inC).toHaveLength(per);
    const dcPage = await page({ prefix: 'bulk/', datacenter: 'dc-c', sort: 'token', descending: true, offset: 100, limit: 50 });
    expect(dcPage.total).toBe(per);
    expect(dcPage.locks.map((l) => l.name)).toEqual([...inC].sort((a, b) => b.lastToken - a.lastToken || (a.name < b.name ? -1 : 1)).slice(100, 150).map((l) => l.name));

    const byHolder = await page({ holder: 'BULK-DC-B', prefix: 'bulk/c/', sort: 'name', descending: true, limit: 20 });
    const expected = all.filter((l) => l.name.startsWith('bulk/c/') && l.holders[0]?.client?.label === 'bulk-dc-b').map((l) => l.name);
    expect(byHolder.total).toBe(expected.length);
    expect(byHolder.locks.map((l) => l.name)).toEqual([...expected].reverse().slice(0, 20));

    const last = await page({ prefix: 'bulk/', offset: 3 * per - 7, limit: 100 });
    expect(last.locks.map((l) => l.name)).toEqual(all.slice(-7).map((l) => l.name));
    expect(await bridge.error('queryLocks', { connectionId: ids.reader, offset: 0, limit: 1001 })).toMatchObject({ code: 'BadRequest' });
  }, 120_000);
});
