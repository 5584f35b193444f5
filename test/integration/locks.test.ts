// Locks end to end on real processes: the CLI holding a lock around a command, forced release
// with the old holder told and the waiter granted a larger token, lock state across kill -9 of
// every node, fencing tokens against a paused holder (with a negative control that shows lost
// updates when the resource does not check), and typed errors for bad input.

import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, WardenError } from '../../core/client/index.ts';
import type { WardenClient } from '../../core/client/index.ts';
import type { RunningCluster } from './helpers.ts';
import { cleanup, killHard, ROOT, runCli, startLocalCluster, stopCluster, tempDir, waitFor, WARDEN } from './helpers.ts';

let cluster: RunningCluster;
let env: Record<string, string>;
let admin: WardenClient;

beforeAll(async () => {
  cluster = await startLocalCluster(['--dcs', '1', '--layout', '3']);
  env = { WARDEN_ENDPOINTS: cluster.summary.endpoints.join(','), WARDEN_TOKEN: cluster.summary.adminToken };
  admin = await connect({ endpoints: cluster.summary.endpoints, token: cluster.summary.adminToken });
});

afterAll(async () => {
  await admin?.close();
  if (cluster) await stopCluster(cluster);
  await cleanup();
});

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(WardenError);
  expect((err as WardenError).code).toBe(code);
}

/** startCli runs a long-lived `warden` command and collects its output. */
function startCli(args: string[]): { done: Promise<{ code: number | null; stdout: string; stderr: string }>; out: () => string; err: () => string } {
  const child = spawn(process.execPath, [WARDEN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
  return { done, out: () => stdout, err: () => stderr };
}

describe('locks through the CLI', () => {
  it('holds a lock around a command; a forced release kills it, tells the holder, and the waiter gets a larger token', async () => {
    const holder = startCli(['lock', 'acquire', 'jobs/report', '--ttl', '5', '--', 'sh', '-c', 'echo "token=$WARDEN_LOCK_TOKEN"; sleep 30']);
    await waitFor('the holder to run', () => holder.out().includes('token='), 20_000, 50);
    const firstToken = Number(/token=(\d+)/.exec(holder.out())?.[1]);
    expect(firstToken).toBeGreaterThan(0);

    const waiter = startCli(['lock', 'acquire', 'jobs/report', '--wait', '30', '--', 'sh', '-c', 'echo "token=$WARDEN_LOCK_TOKEN"']);
    await waitFor('the waiter to queue', async () => {
      const list = JSON.parse((await runCli(['lock', 'list', '--json'], env)).stdout) as { name: string; waiters: unknown[] }[];
      return list.find((l) => l.name === 'jobs/report')?.waiters.length === 1;
    }, 20_000, 100);

    const noReason = await runCli(['lock', 'release', 'jobs/report', '--force'], env);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toMatch(/--reason/);

    const release = await runCli(['lock', 'release', 'jobs/report', '--force', '--reason', 'report job hung', '--json'], env);
    expect(release.code, release.stderr).toBe(0);
    const forced = JSON.parse(release.stdout) as { previous: { token: number }[]; next: { token: number }[] };
    expect(forced.previous[0]?.token).toBe(firstToken);
    expect(forced.next[0]?.token).toBeGreaterThan(firstToken);

    const held = await holder.done;
    expect(held.code).toBe(3);
    expect(held.stderr).toMatch(/lock lost \(forced by admin: report job hung\)/);
    const waited = await waiter.done;
    expect(waited.code).toBe(0);
    expect(Number(/token=(\d+)/.exec(waited.stdout)?.[1])).toBe(forced.next[0]?.token);

    const events = JSON.parse((await runCli(['events', '--name', 'jobs/report', '--kind', 'lock.forceRelease', '--json'], env)).stdout) as { actor: string; reason: string; token: number }[];
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor: 'admin', reason: 'report job hung', token: firstToken });
  });

  it('reports stuck locks with their reasons', async () => {
    await admin.admin.setSettings({ stuckAfterMs: 300, waiterStuckAfterMs: 5000 });
    const a = await connect({ endpoints: cluster.summary.endpoints, token: cluster.summary.adminToken });
    const b = await connect({ endpoints: cluster.summary.endpoints, token: cluster.summary.adminToken });
    const sa = await a.openSession({ ttlMs: 5000 });
    const sb = await b.openSession({ ttlMs: 5000 });
    await sa.acquire('stuck/one');
    const waiting = sb.acquire('stuck/one', { waitMs: 20_000 });
    await waitFor('stuck listing', async () => {
      const r = await runCli(['lock', 'list', '--stuck', '--json'], env);
      const locks = JSON.parse(r.stdout) as { name: string; stuckReasons: string[] }[];
      return locks.find((l) => l.name === 'stuck/one')?.stuckReasons.includes('heldTooLong');
    }, 20_000, 200);
    const human = await runCli(['lock', 'list', '--stuck'], env);
    expect(human.stdout).toMatch(/stuck\/one.*heldTooLong/);
    await sa.close();
    const got = await waiting;
    expect(got.name).toBe('stuck/one');
    await a.close();
    await b.close();
    await admin.admin.setSettings({ stuckAfterMs: 300_000, waiterStuckAfterMs: 60_000 });
  });
});

describe('queued acquires', () => {
  it('keep their place: an acquire that must queue goes into the log before the release sent after it', async () => {
    // One connection, so the node reads the three requests in the order they were sent. B's
    // acquire can only queue and may wait to share a batch, but never past the release behind it.
    const c = await connect({ endpoints: cluster.summary.endpoints, token: cluster.summary.adminToken });
    try {
      const [a, b, late] = await Promise.all([c.openSession({ ttlMs: 10_000 }), c.openSession({ ttlMs: 10_000 }), c.openSession({ ttlMs: 10_000 })]);
      for (let round = 0; round < 5; round++) {
        const name = `queued/order/${round}`;
        const held = await a.acquire(name);
        const [waiter, , tryLock] = await Promise.allSettled([b.acquire(name, { waitMs: 10_000 }), held.release(), late.acquire(name, { waitMs: 0 })]);
        expect(waiter.status, name).toBe('fulfilled');
        expect(tryLock.status === 'rejected' && (tryLock.reason as { code?: string }).code, name).toBe('WouldBlock');
        if (waiter.status === 'fulfilled') {
          expect(waiter.value.token).toBeGreaterThan(held.token);
          await waiter.value.release();
        }
      }
      // A waiter alone (no proposal after it) is queued within moments, and listed as waiting.
      const held = await a.acquire('queued/alone');
      const waiting = b.acquire('queued/alone', { waitMs: 10_000 });
      await waitFor('the waiter listed', async () => ((await c.locks.list({ prefix: 'queued/alone' }))[0]?.waiters.length ?? 0) === 1 || null, 5_000, 20);
      await held.release();
      expect((await waiting).token).toBeGreaterThan(held.token);
    } finally {
      await c.close();
    }
  });
});

describe('the SDK connected to a follower first', () => {
  it('moves concurrent writes to the leader without losing any to a closed socket', async () => {
    const status = await admin.status();
    const follower = status.nodes.find((n) => n.state === 'follower') as { id: string };
    const url = (cluster.summary.nodes.find((n) => n.id === follower.id) as { client: string }).client;
    for (let round = 0; round < 3; round++) {
      // Every call is sent to the follower, which answers NotLeader; the first answer moves the
      // client to the leader, and the others must still get theirs and follow.
      const c = await connect({ endpoints: [url, ...cluster.summary.endpoints.filter((e) => e !== url)], token: cluster.summary.adminToken });
      try {
        const sessions = await Promise.all(Array.from({ length: 5 }, () => c.openSession({ ttlMs: 10_000 })));
        expect(new Set(sessions.map((s) => s.id)).size).toBe(5);
        await Promise.all(sessions.map((s) => s.close()));
      } finally {
        await c.close();
      }
    }
  });
});

describe('fencing tokens against a paused holder', () => {
  async function runScenario(checkTokens: boolean): Promise<{ rejected: number; lost: number; accepted: number }> {
    let value = 0;
    let maxToken = 0;
    let accepted = 0;
    let rejected = 0;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        if (req.url === '/read') {
          res.end(JSON.stringify({ value }));
          return;
        }
        const w = JSON.parse(body) as { token: number; value: number };
        if (checkTokens && w.token < maxToken) {
          rejected++;
          res.statusCode = 409;
          res.end('stale token');
          return;
        }
        maxToken = Math.max(maxToken, w.token);
        value = w.value;
        accepted++;
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const resource = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const lockName = `fence/${checkTokens ? 'checked' : 'unchecked'}`;
    const writer = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/integration/fixtures/fencedWriter.ts'), cluster.summary.endpoints.join(','), cluster.summary.adminToken, resource, lockName], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    writer.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    try {
      await waitFor('the holder to write', () => (out.match(/write 200/g)?.length ?? 0) >= 3, 30_000, 20);
      // Pause the holder mid-cycle, for well past its 1 s TTL.
      process.kill(writer.pid as number, 'SIGSTOP');
      const before = accepted;
      const other = await connect({ endpoints: cluster.summary.endpoints, token: cluster.summary.adminToken });
      const session = await other.openSession({ ttlMs: 5000 });
      const lock = await session.acquire(lockName, { waitMs: 15_000 });
      let mine = 0;
      for (let i = 0; i < 5; i++) {
        const { value: v } = (await (await fetch(`${resource}/read`)).json()) as { value: number };
        const res = await fetch(`${resource}/write`, { method: 'POST', body: JSON.stringify({ token: lock.token, value: v + 1 }) });
        if (res.status === 200) mine++;
      }
      expect(mine).toBe(5);
      const expected = before + mine;
      process.kill(writer.pid as number, 'SIGCONT');
      // The holder finishes its interrupted cycle, learns it lost the lock, and exits.
      await waitFor('the holder to learn it lost the lock and stop', () => out.includes('lost') && writer.exitCode !== null, 20_000, 20);
      await lock.release();
      await other.close();
      return { rejected, lost: expected - value, accepted };
    } finally {
      writer.kill('SIGKILL');
      server.close();
    }
  }

  it('a resource that checks sequencers rejects the paused holder, and no update is lost', async () => {
    const r = await runScenario(true);
    expect(r.rejected).toBeGreaterThanOrEqual(1);
    expect(r.lost).toBe(0);
  });

  it('negative control: without checking, the paused holder overwrites and updates are lost', async () => {
    const r = await runScenario(false);
    expect(r.rejected).toBe(0);
    expect(r.lost).toBeGreaterThan(0);
  });
});

describe('session events in the SDK', () => {
  it('raises jeopardy before the lease can lapse when the cluster stops answering, then safe again', async () => {
    const c = await connect({ endpoints: cluster.summary.endpoints, token: cluster.summary.adminToken });
    const session = await c.openSession({ ttlMs: 3000 });
    const events: { what: string; at: number }[] = [];
    const t0 = Date.now();
    session.on('jeopardy', () => events.push({ what: 'jeopardy', at: Date.now() - t0 }));
    session.on('safe', () => events.push({ what: 'safe', at: Date.now() - t0 }));
    const lock = await session.acquire('jeopardy/lock');
    const pids = cluster.summary.nodes.map((n) => n.pid);
    const stoppedAt = Date.now() - t0;
    try {
      for (const pid of pids) process.kill(pid, 'SIGSTOP');
      await waitFor('jeopardy', () => events.some((e) => e.what === 'jeopardy'), 5000, 20);
    } finally {
      for (const pid of pids) process.kill(pid, 'SIGCONT');
    }
    const jeopardy = events.find((e) => e.what === 'jeopardy') as { at: number };
    // Raised after half the TTL without an answer, and before the full TTL could have passed.
    expect(jeopardy.at - stoppedAt).toBeLessThan(3000);
    await waitFor('safe again', () => events.some((e) => e.what === 'safe'), 10_000, 20);
    // The leader granted a full TTL again (grace or renewal): the lock is still ours.
    expect(await c.checkSequencer('jeopardy/lock', lock.token)).toBe(true);
    await lock.release();
    await c.close();
  });

  it('tells the session owner when an admin closes its session, and its locks are lost', async () => {
    const owner = await connect({ endpoints: cluster.summary.endpoints, token: cluster.summary.adminToken });
    const session = await owner.openSession({ ttlMs: 5000 });
    const lock = await session.acquire('closed/lock');
    const lost = new Promise<{ reason: string }>((resolve) => session.once('lockLost', (e) => resolve(e)));
    const ended = new Promise<{ reason: string; actor: string | null }>((resolve) => session.once('expired', (e) => resolve(e)));
    const r = await runCli(['session', 'close', session.id, '--reason', 'decommissioning host'], env);
    expect(r.code, r.stderr).toBe(0);
    expect((await lost).reason).toBe('closed');
    expect(await ended).toMatchObject({ reason: 'closed', actor: 'admin' });
    expect(await admin.checkSequencer('closed/lock', lock.token)).toBe(false);
    const events = await admin.events.list({ kind: 'session.close' });
    expect(events.at(-1)).toMatchObject({ sessionId: session.id, actor: 'admin', reason: 'decommissioning host' });
    await owner.close();
  });
});

describe('bad input gets typed errors', () => {
  it('unknown session, wrong owner, bad names, bad TTLs, force release without reason or admin', async () => {
    const c = await connect({ endpoints: cluster.summary.endpoints, token: cluster.summary.adminToken });
    const s = await c.openSession({ ttlMs: 5000 });
    await expectCode(c.openSession({ ttlMs: -5 }), 'InvalidArgument');
    await expectCode(c.openSession({ ttlMs: 1e12 }), 'InvalidArgument');
    await expectCode(s.acquire(''), 'InvalidArgument');
    await expectCode(s.acquire('x'.repeat(300)), 'InvalidArgument');
    await expectCode(s.acquire('bad name!'), 'InvalidArgument');
    const other = await c.openSession({ ttlMs: 5000 });
    const lock = await s.acquire('owned/1');
    const raw = await connect({ endpoints: cluster.summary.endpoints, token: cluster.summary.adminToken });
    // Releasing someone else's lock names the problem.
    const wrongOwner = await (raw as unknown as { connection: { call: (m: string, p: unknown, o: unknown) => Promise<unknown> } }).connection
      .call('lock.release', { sessionId: other.id, name: 'owned/1' }, { idempotent: false })
      .catch((e: unknown) => e);
    expect((wrongOwner as WardenError).code).toBe('NotHolder');
    const unknown = await (raw as unknown as { connection: { call: (m: string, p: unknown, o: unknown) => Promise<unknown> } }).connection
      .call('lock.acquire', { sessionId: 'nope', name: 'owned/2', mode: 'exclusive', waitMs: 0 }, { idempotent: true })
      .catch((e: unknown) => e);
    expect((unknown as WardenError).code).toBe('SessionNotFound');
    await expectCode(c.admin.forceRelease('owned/1', { reason: '  ' }), 'InvalidArgument');
    const clientToken = (await import('node:fs')).readFileSync(join(cluster.summary.dataDir, 'cluster.json'), 'utf8');
    const spec = JSON.parse(clientToken) as { clientToken: string; readerToken: string };
    const weak = await connect({ endpoints: cluster.summary.endpoints, token: spec.clientToken });
    await expectCode(weak.admin.forceRelease('owned/1', { reason: 'not allowed' }), 'PermissionDenied');
    // Session ids are not secrets: another client's token cannot use, renew or close them.
    const weakCall = (weak as unknown as { connection: { call: (m: string, p: unknown, o: unknown) => Promise<unknown> } }).connection;
    for (const [method, params] of [
      ['session.keepAlive', { sessionId: s.id }],
      ['lock.release', { sessionId: s.id, name: 'owned/1' }],
      ['lock.acquire', { sessionId: s.id, name: 'owned/3', mode: 'exclusive', waitMs: 0 }],
      ['session.close', { sessionId: s.id }],
    ] as const) {
      const err = await weakCall.call(method, params, { idempotent: false }).catch((e: unknown) => e);
      expect((err as WardenError).code, method).toBe('PermissionDenied');
    }
    const reader = await connect({ endpoints: cluster.summary.endpoints, token: spec.readerToken });
    await expectCode(reader.openSession({ ttlMs: 5000 }), 'PermissionDenied');
    expect((await reader.locks.list({ prefix: 'owned/' }))[0]?.holders[0]?.token).toBe(lock.token);
    await lock.release();
    for (const x of [c, raw, weak, reader]) await x.close();
  });
});

describe('durability of lock state', () => {
  it('locks and sessions survive kill -9 of every node', async () => {
    const data = tempDir();
    const own = await startLocalCluster(['--dcs', '1', '--layout', '3', '--data', data]);
    const c = await connect({ endpoints: own.summary.endpoints, token: own.summary.adminToken });
    const s = await c.openSession({ ttlMs: 60_000 });
    const lock = await s.acquire('durable/lock');
    await Promise.all(own.summary.nodes.map((n) => killHard(n.pid)));
    await c.close().catch(() => undefined);
    await stopCluster(own);
    const again = await startLocalCluster(['--data', data]);
    const c2 = await connect({ endpoints: again.summary.endpoints, token: again.summary.adminToken });
    const locks = await c2.locks.list({ prefix: 'durable/' });
    expect(locks[0]?.holders[0]).toMatchObject({ sessionId: s.id, token: lock.token });
    expect(await c2.checkSequencer('durable/lock', lock.token)).toBe(true);
    await c2.close();
    await stopCluster(again);
  });
});
