// Unit tests (pure) for the read-only lock and session listings: stuck reasons are computed
// from replicated state, the caller's `now` and the leader's keep-alive ages, never stored.

import { describe, expect, it } from 'vitest';
import { lockViews, sessionViews } from '../../../core/lock/views.ts';
import type { KeepAliveAge } from '../../../core/lock/views.ts';
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
        holders: [{ sessionId: a, mode: 'exclusive', token, heldMs: 2_000, keepAliveAgeMs: 300, ttlMs: 8_000, client: INFO }],
        waiters: [{ sessionId: b, mode: 'exclusive', waitingMs: 2_000, client: INFO }],
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
      { id: a, ttlMs: 10_000, info: INFO, openedAt: T0, keepAliveAgeMs: 1_000, jeopardy: false, locks: [{ name: 'x', token: ta, mode: 'exclusive' }, { name: 'cfg', token: d.tokenOf(a, 'cfg'), mode: 'shared' }], waiting: [] },
      { id: b, ttlMs: 4_000, info: INFO, openedAt: T0, keepAliveAgeMs: 2_001, jeopardy: true, locks: [], waiting: ['x'] },
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
