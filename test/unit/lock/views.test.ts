// Unit tests (pure) for the read-only lock and session listings: stuck reasons are computed
// from replicated state, the caller's `now` and the leader's keep-alive ages, never stored;
// queries filter, sort and page exactly as a full sort of every view would.

import { describe, expect, it } from 'vitest';
import type { LockSortWire, LockView } from '../../../core/api/clientProtocol.ts';
import { lockViews, queryLocks, selectWindow, sessionViews, smallestK } from '../../../core/lock/views.ts';
import type { KeepAliveAge } from '../../../core/lock/views.ts';
import { Prng } from '../../../core/util/prng.ts';
import { Driver, INFO, T0 } from './helpers.ts';

const MIN = 60_000;
const noAges: KeepAliveAge = () => null;
const ages = (map: Record<string, number>): KeepAliveAge => (id) => map[id] ?? null;

/** contended: `a` holds `name` since T0, `b` waits for it (queued at T0). */
function contended(name = 'svc/db', ttlMs = 10_000): { d: Driver; a: string; b: string } {
  const d = new Driver();
  const a = d.open(ttlMs);
  const b = d.open(ttlMs);
  d.acquire(a, name);
  d.acquire(b, name, { waitMs: 24 * 3_600_000 });
  return { d, a, b };
}

describe('lockViews stuck reasons', () => {
  it('a lock held past stuckAfterMs is not stuck while nobody waits', () => {
    const d = new Driver();
    const a = d.open();
    d.acquire(a, 'svc/db');
    const { locks } = lockViews(d.machine.table, T0 + 60 * MIN, noAges);
    expect(locks[0]?.stuckReasons).toEqual([]);
  });

  it('a lock held past stuckAfterMs while others wait is heldTooLong', () => {
    const { d } = contended();
    const view = (now: number) => lockViews(d.machine.table, now, noAges).locks[0]?.stuckReasons;
    expect(view(T0 + 5 * MIN)).toEqual(['waitersStuck']);
    expect(view(T0 + 5 * MIN + 1)).toEqual(['heldTooLong', 'waitersStuck']);
  });

  it('heldTooLong uses the per-prefix stuckAfterMs override', () => {
    const d = new Driver();
    d.settings({ stuckAfterByPrefix: { 'batch/': 60 * MIN }, waiterStuckAfterMs: 24 * 60 * MIN });
    const [a, b] = [d.open(), d.open()] as [string, string];
    for (const name of ['batch/nightly', 'svc/db']) {
      d.acquire(a, name);
      d.acquire(b, name, { waitMs: 24 * 3_600_000 });
    }
    const reasons = (now: number) => Object.fromEntries(lockViews(d.machine.table, now, noAges).locks.map((l) => [l.name, l.stuckReasons]));
    expect(reasons(T0 + 30 * MIN)).toEqual({ 'batch/nightly': [], 'svc/db': ['heldTooLong'] });
    expect(reasons(T0 + 61 * MIN)).toEqual({ 'batch/nightly': ['heldTooLong'], 'svc/db': ['heldTooLong'] });
  });

  it("holderInJeopardy when the holder's keep-alive is older than half its TTL", () => {
    const d = new Driver();
    const a = d.open(10_000);
    d.acquire(a, 'svc/db');
    const reasons = (age: number) => lockViews(d.machine.table, T0, ages({ [a]: age })).locks[0]?.stuckReasons;
    expect(reasons(5_000)).toEqual([]);
    expect(reasons(5_001)).toEqual(['holderInJeopardy']);
  });

  it('holderInJeopardy needs a known keep-alive age (only the leader knows it)', () => {
    const d = new Driver();
    const a = d.open(10_000);
    d.acquire(a, 'svc/db');
    expect(lockViews(d.machine.table, T0 + 60 * MIN, noAges).locks[0]?.stuckReasons).toEqual([]);
  });

  it('waitersStuck when a waiter has queued longer than waiterStuckAfterMs', () => {
    const { d } = contended();
    const reasons = (now: number) => lockViews(d.machine.table, now, noAges).locks[0]?.stuckReasons;
    expect(reasons(T0 + MIN)).toEqual([]);
    expect(reasons(T0 + MIN + 1)).toEqual(['waitersStuck']);
  });

  it('waitersStuck follows settings.waiterStuckAfterMs', () => {
    const { d } = contended();
    d.settings({ waiterStuckAfterMs: 1_000 });
    expect(lockViews(d.machine.table, T0 + 1_001, noAges).locks[0]?.stuckReasons).toEqual(['waitersStuck']);
  });

  it('all three reasons are listed together, in a fixed order', () => {
    const { d, a } = contended();
    expect(lockViews(d.machine.table, T0 + 10 * MIN, ages({ [a]: 9_000 })).locks[0]?.stuckReasons).toEqual(['heldTooLong', 'holderInJeopardy', 'waitersStuck']);
  });
});

describe('lockViews contents and filters', () => {
  it('shows holders with token, ages and client, waiters, lock-delay left and lastToken', () => {
    const { d, a, b } = contended('svc/db', 8_000);
    const token = d.tokenOf(a, 'svc/db');
    const { locks, total } = lockViews(d.machine.table, T0 + 2_000, ages({ [a]: 300 }));
    expect(total).toBe(1);
    expect(locks).toEqual([
      {
        name: 'svc/db',
        mode: 'exclusive',
        holders: [{ sessionId: a, mode: 'exclusive', token, heldMs: 2_000, keepAliveAgeMs: 300, ttlMs: 8_000, client: INFO, datacenter: null }],
        waiters: [{ sessionId: b, mode: 'exclusive', waitingMs: 2_000, client: INFO, datacenter: null }],
        lockDelayLeftMs: 0,
        lastToken: token,
        stuckReasons: [],
      },
    ]);
  });

  it('shows the lock-delay left after a holder expired', () => {
    const { d, a } = contended();
    d.expire(a);
    const view = lockViews(d.machine.table, T0 + 4_000, noAges).locks[0];
    expect(view).toMatchObject({ mode: null, holders: [], lockDelayLeftMs: 6_000 });
  });

  it('lists locks in name order', () => {
    const d = new Driver();
    const a = d.open();
    for (const name of ['m', 'b/2', 'z', 'b/10', 'a']) d.acquire(a, name);
    expect(lockViews(d.machine.table, T0, noAges).locks.map((l) => l.name)).toEqual(['a', 'b/10', 'b/2', 'm', 'z']);
  });

  it('the prefix filter keeps names that start with it', () => {
    const d = new Driver();
    const a = d.open();
    for (const name of ['billing/a', 'billing/b', 'billingx', 'search/a']) d.acquire(a, name);
    const { locks, total } = lockViews(d.machine.table, T0, noAges, { prefix: 'billing/' });
    expect(locks.map((l) => l.name)).toEqual(['billing/a', 'billing/b']);
    expect(total).toBe(2);
  });

  it('stuckOnly lists only locks with a reason, and total counts only those', () => {
    const { d } = contended('svc/stuck');
    const c = d.open();
    d.acquire(c, 'svc/fine');
    const { locks, total } = lockViews(d.machine.table, T0 + 10 * MIN, noAges, { stuckOnly: true });
    expect(locks.map((l) => l.name)).toEqual(['svc/stuck']);
    expect(total).toBe(1);
  });

  it('limit truncates the list while total counts every match', () => {
    const d = new Driver();
    const a = d.open();
    for (const name of ['e', 'd', 'c', 'b', 'a']) d.acquire(a, name);
    const { locks, total } = lockViews(d.machine.table, T0, noAges, { limit: 2 });
    expect(locks.map((l) => l.name)).toEqual(['a', 'b']);
    expect(total).toBe(5);
  });

  it('an empty table lists nothing', () => {
    expect(lockViews(new Driver().machine.table, T0, noAges)).toEqual({ locks: [], total: 0 });
  });
});

describe('sessionViews', () => {
  it('lists sessions with keep-alive age, jeopardy, held and waiting locks', () => {
    const d = new Driver();
    const a = d.open(10_000);
    const b = d.open(4_000);
    d.acquire(a, 'x');
    const ta = d.tokenOf(a, 'x');
    d.acquire(a, 'cfg', { mode: 'shared' });
    d.acquire(b, 'x', { waitMs: 60_000 });
    const views = sessionViews(d.machine.table, ages({ [a]: 1_000, [b]: 2_001 }));
    expect(views).toEqual([
      {
        id: a,
        ttlMs: 10_000,
        info: INFO,
        openedAt: T0,
        datacenter: null,
        keepAliveAgeMs: 1_000,
        jeopardy: false,
        locks: [{ name: 'x', token: ta, mode: 'exclusive' }, { name: 'cfg', token: d.tokenOf(a, 'cfg'), mode: 'shared' }],
        waiting: [],
        lockCount: 2,
        waitingCount: 0,
      },
      { id: b, ttlMs: 4_000, info: INFO, openedAt: T0, datacenter: null, keepAliveAgeMs: 2_001, jeopardy: true, locks: [], waiting: ['x'], lockCount: 0, waitingCount: 1 },
    ]);
  });

  it('a session is in jeopardy only strictly past half its TTL', () => {
    const d = new Driver();
    const a = d.open(4_000);
    expect(sessionViews(d.machine.table, ages({ [a]: 2_000 }))[0]?.jeopardy).toBe(false);
    expect(sessionViews(d.machine.table, ages({ [a]: 2_001 }))[0]?.jeopardy).toBe(true);
  });

  it('a session with an unknown keep-alive age is not in jeopardy', () => {
    const d = new Driver();
    d.open();
    expect(sessionViews(d.machine.table, noAges)[0]).toMatchObject({ keepAliveAgeMs: null, jeopardy: false });
  });

  it('ended sessions are not listed', () => {
    const d = new Driver();
    const a = d.open();
    const b = d.open();
    d.close(a);
    expect(sessionViews(d.machine.table, noAges).map((s) => s.id)).toEqual([b]);
  });
});

/** table builds a table of many locks over a few sessions in three datacenters, seeded. */
function bigTable(count: number, seed = 7): { d: Driver; sessions: string[] } {
  const d = new Driver();
  const prng = new Prng(seed);
  const sessions: string[] = [];
  const dcs = ['dc-a', 'dc-b', 'dc-c'];
  for (let i = 0; i < 6; i++) {
    const info = { host: `Host-${i}`, pid: 1000 + i, app: i % 2 === 0 ? 'Billing' : 'search', label: `worker-${i}` };
    const { reply } = d.apply({ op: 'session.open', ttlMs: 10_000, info, datacenter: dcs[i % 3] as string });
    if (!reply.ok || !('kind' in reply) || reply.kind !== 'session') throw new Error('open failed');
    sessions.push(reply.sessionId);
  }
  for (let i = 0; i < count; i++) {
    d.advance(prng.int(50));
    const owner = sessions[prng.int(sessions.length)] as string;
    const name = `${['svc', 'batch', 'cfg'][prng.int(3)]}/${prng.int(1_000_000).toString(36)}-${i}`;
    d.acquire(owner, name, { mode: prng.int(4) === 0 ? 'shared' : 'exclusive' });
    if (prng.int(5) === 0) d.acquire(sessions[(sessions.indexOf(owner) + 1) % sessions.length] as string, name, { waitMs: 3_600_000 });
  }
  return { d, sessions };
}

/** fullOrder is the reference: every matching view, sorted by a plain comparator. */
function fullOrder(views: LockView[], key: (v: LockView) => number, descending: boolean, byName: boolean): string[] {
  const dir = descending ? -1 : 1;
  return [...views]
    .sort((a, b) => {
      const k = key(a) - key(b);
      if (k !== 0) return dir * k;
      const n = a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
      return byName ? dir * n : n;
    })
    .map((v) => v.name);
}

const KEY_OF: Record<LockSortWire, (v: LockView) => number> = {
  name: () => 0,
  mode: (v) => (v.mode === null ? 0 : v.mode === 'exclusive' ? 1 : 2),
  token: (v) => v.lastToken,
  age: (v) => Math.max(-1, ...v.holders.map((h) => h.heldMs)),
  keepAlive: (v) => Math.max(-1, ...v.holders.map((h) => h.keepAliveAgeMs ?? -1)),
  waiters: (v) => v.waiters.length,
  lockDelay: (v) => v.lockDelayLeftMs,
  stuck: (v) => v.stuckReasons.length,
};

describe('queryLocks', () => {
  it('holders and waiters carry the datacenter their session was opened in', () => {
    const d = new Driver();
    const open = (dc?: string): string => {
      const { reply } = d.apply({ op: 'session.open', ttlMs: 10_000, info: INFO, ...(dc ? { datacenter: dc } : {}) });
      return (reply as { sessionId: string }).sessionId;
    };
    const [a, b, old] = [open('dc-a'), open('dc-b'), open()];
    d.acquire(a, 'x');
    d.acquire(b, 'x', { waitMs: 60_000 });
    d.acquire(old, 'y');
    const byName = Object.fromEntries(queryLocks(d.machine.table, T0, noAges).locks.map((l) => [l.name, l]));
    expect(byName.x?.holders.map((h) => h.datacenter)).toEqual(['dc-a']);
    expect(byName.x?.waiters.map((w) => w.datacenter)).toEqual(['dc-b']);
    expect(byName.y?.holders.map((h) => h.datacenter)).toEqual([null]);
    expect(sessionViews(d.machine.table, noAges).map((s) => s.datacenter)).toEqual(['dc-a', 'dc-b', null]);
  });

  it('holder matches session id, host, app, label and pid, case-insensitively', () => {
    const { d, sessions } = bigTable(300);
    const all = queryLocks(d.machine.table, d.now, noAges).locks;
    const heldBy = (i: number): string[] => all.filter((l) => l.holders.some((h) => h.sessionId === sessions[i])).map((l) => l.name);
    const names = (holder: string): string[] => queryLocks(d.machine.table, d.now, noAges, { holder }).locks.map((l) => l.name);
    expect(names('host-3')).toEqual(heldBy(3));
    expect(names('HOST-3')).toEqual(heldBy(3));
    expect(names('WORKER-4')).toEqual(heldBy(4));
    expect(names('1005')).toEqual(heldBy(5));
    expect(names(sessions[2] as string)).toEqual(heldBy(2));
    expect(names('billing')).toEqual(all.filter((l) => l.holders.some((h) => h.client?.app === 'Billing')).map((l) => l.name));
    expect(names('nobody')).toEqual([]);
  });

  it('a waiter does not match the holder filter', () => {
    const { d, b } = contended();
    expect(queryLocks(d.machine.table, T0, noAges, { holder: b }).total).toBe(0);
  });

  it('datacenter keeps locks with a holder from that datacenter; filters combine', () => {
    const { d } = bigTable(300);
    const all = queryLocks(d.machine.table, d.now, noAges).locks;
    const inB = all.filter((l) => l.holders.some((h) => h.datacenter === 'dc-b'));
    expect(inB.length).toBeGreaterThan(0);
    expect(inB.length).toBeLessThan(all.length);
    const got = queryLocks(d.machine.table, d.now, noAges, { datacenter: 'dc-b' });
    expect(got.locks.map((l) => l.name)).toEqual(inB.map((l) => l.name));
    expect(got.total).toBe(inB.length);
    const combined = queryLocks(d.machine.table, d.now, noAges, { datacenter: 'dc-b', prefix: 'svc/', holder: 'search' });
    expect(combined.locks.map((l) => l.name)).toEqual(inB.filter((l) => l.name.startsWith('svc/') && l.holders.some((h) => h.datacenter === 'dc-b' && h.client?.app === 'search')).map((l) => l.name));
    expect(queryLocks(d.machine.table, d.now, noAges, { datacenter: 'dc-z' }).total).toBe(0);
  });

  it.each(Object.keys(KEY_OF) as LockSortWire[])('sort by %s matches a full sort, ties by name, both directions', (sort) => {
    const { d, sessions } = bigTable(400, 11);
    d.expire(sessions[5] as string);
    // Seconds after the expiry some locks are still in lock-delay; minutes after, many are stuck.
    const now = d.now + (sort === 'lockDelay' ? 4_000 : 7 * MIN);
    const age = ages({ [sessions[0] as string]: 9_000, [sessions[1] as string]: 100 });
    const all = queryLocks(d.machine.table, now, age).locks;
    expect(new Set(all.map(KEY_OF[sort])).size).toBeGreaterThan(sort === 'name' ? 0 : 1);
    for (const descending of [false, true]) {
      const got = queryLocks(d.machine.table, now, age, { sort, descending });
      expect(got.locks.map((l) => l.name)).toEqual(fullOrder(all, KEY_OF[sort], descending, sort === 'name'));
    }
  });

  it('every window of a sorted query is the same slice of the full order', () => {
    const { d } = bigTable(500, 3);
    const now = d.now + 6 * MIN;
    const prng = new Prng(99);
    for (let trial = 0; trial < 60; trial++) {
      const sort = (Object.keys(KEY_OF) as LockSortWire[])[prng.int(8)] as LockSortWire;
      const descending = prng.int(2) === 0;
      const full = queryLocks(d.machine.table, now, noAges, { sort, descending }).locks.map((l) => l.name);
      const offset = prng.int(full.length + 20);
      const limit = 1 + prng.int(120);
      const page = queryLocks(d.machine.table, now, noAges, { sort, descending, offset, limit });
      expect(page.total).toBe(full.length);
      expect(page.locks.map((l) => l.name)).toEqual(full.slice(offset, offset + limit));
    }
  });

  it('stuckOnly with a sort and a window counts only stuck locks', () => {
    const { d } = bigTable(300, 5);
    const now = d.now + 6 * MIN;
    const stuck = queryLocks(d.machine.table, now, noAges).locks.filter((l) => l.stuckReasons.length > 0);
    expect(stuck.length).toBeGreaterThan(0);
    const page = queryLocks(d.machine.table, now, noAges, { stuckOnly: true, sort: 'waiters', descending: true, offset: 1, limit: 5 });
    expect(page.total).toBe(stuck.length);
    expect(page.locks.map((l) => l.name)).toEqual(fullOrder(stuck, KEY_OF.waiters, true, false).slice(1, 6));
  });

  it('an offset past the end gives an empty page with the whole total', () => {
    const { d } = bigTable(50);
    expect(queryLocks(d.machine.table, d.now, noAges, { offset: 1000, limit: 10 })).toEqual({ locks: [], total: queryLocks(d.machine.table, d.now, noAges).total });
  });

  it('asks for keep-alive ages once per session, however many locks a session holds', () => {
    const { d, sessions } = bigTable(2_000);
    const asked: string[] = [];
    queryLocks(d.machine.table, d.now, (id) => (asked.push(id), 10), { sort: 'keepAlive', limit: 10 });
    expect(asked.length).toBeLessThanOrEqual(sessions.length);
  });
});

describe('selectWindow', () => {
  const check = (values: number[], from: number, to: number): void => {
    const order = Int32Array.from(values.map((_, i) => i));
    // Ties broken by index make the order strict, as the name tie-break does in queryLocks.
    const compare = (a: number, b: number): number => (values[a] as number) - (values[b] as number) || a - b;
    selectWindow(order, from, to, compare);
    const reference = values.map((_, i) => i).sort(compare);
    expect(Array.from(order.slice(from, to))).toEqual(reference.slice(from, to));
  };

  it('puts exactly the sorted window in place for random, sorted, reversed and constant inputs', () => {
    const prng = new Prng(1);
    const n = 5_000;
    const inputs = [Array.from({ length: n }, () => prng.int(1_000_000)), Array.from({ length: n }, (_, i) => i), Array.from({ length: n }, (_, i) => n - i), Array.from({ length: n }, () => 7), Array.from({ length: n }, (_, i) => i % 3)];
    for (const values of inputs) for (const [from, to] of [[0, 100], [2_450, 2_550], [n - 100, n], [0, n], [17, 18]] as const) check(values, from, to);
  });

  it('handles tiny and empty inputs', () => {
    check([], 0, 0);
    check([3], 0, 1);
    check([2, 1], 0, 2);
    check([5, 4, 3, 2, 1], 4, 5);
  });
});

describe('smallestK', () => {
  it('returns the k smallest, sorted, for inputs in key order, reverse order and at random', () => {
    const prng = new Prng(2);
    const n = 3_001;
    for (const values of [Array.from({ length: n }, (_, i) => i), Array.from({ length: n }, (_, i) => n - i), Array.from({ length: n }, () => prng.int(50))]) {
      const compare = (a: number, b: number): number => (values[a] as number) - (values[b] as number) || a - b;
      const reference = values.map((_, i) => i).sort(compare);
      for (const k of [0, 1, 100, n, n + 5]) expect(Array.from(smallestK(n, k, compare))).toEqual(reference.slice(0, k));
    }
  });
});

describe('sessionViews options', () => {
  it('ids narrows the listing and locksLimit cuts lock lists, keeping the counts whole', () => {
    const { d, sessions } = bigTable(200);
    const whole = sessionViews(d.machine.table, noAges);
    const some = sessionViews(d.machine.table, noAges, { ids: [sessions[1] as string, 'nope'], locksLimit: 3 });
    const ref = whole.find((s) => s.id === sessions[1]);
    expect(some.map((s) => s.id)).toEqual([sessions[1]]);
    expect(some[0]?.locks).toEqual(ref?.locks.slice(0, 3));
    expect(some[0]?.lockCount).toBe(ref?.locks.length);
    expect(some[0]?.waitingCount).toBe(ref?.waiting.length);
    expect(some[0]?.waiting.length).toBe(Math.min(3, ref?.waiting.length ?? 0));
  });
});
