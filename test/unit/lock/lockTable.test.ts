// Unit tests (pure) for the lock table, driven through LockMachine.applyCommand one entry at a
// time: sessions, exclusive/shared locks with FIFO queues, fencing tokens, lock-delay, forced
// release, ephemeral keys, settings and the audit log with its retention.

import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, LockTable } from '../../../core/lock/lockTable.ts';
import type { AuditEvent, Notice } from '../../../core/lock/lockTable.ts';
import { Driver, INFO, T0, code, tokenFrom } from './helpers.ts';

const events = (d: Driver, kind: AuditEvent['kind']): AuditEvent[] => d.machine.table.events.filter((e) => e.kind === kind);
const noticesOf = (notices: readonly Notice[], type: Notice['type']): Notice[] => notices.filter((n) => n.type === type);

describe('sessions', () => {
  it('session.open gives every session a distinct id and echoes its TTL', () => {
    const d = new Driver();
    const ids = [d.open(), d.open(), d.open()];
    expect(new Set(ids).size).toBe(3);
    const { reply } = d.apply({ op: 'session.open', ttlMs: 2_000, info: INFO });
    expect(reply).toMatchObject({ ok: true, kind: 'session', ttlMs: 2_000 });
    expect(d.machine.table.sessions.size).toBe(4);
  });

  it('session.open records the session and its client info in the audit log', () => {
    const d = new Driver();
    const id = d.open(5_000);
    expect(d.machine.table.sessions.get(id)).toEqual({ id, ttlMs: 5_000, info: INFO, openedAt: T0 });
    expect(events(d, 'session.open')).toMatchObject([{ sessionId: id, time: T0, detail: { ttlMs: 5_000, host: 'host-a', pid: 4242, app: 'billing', label: 'worker-1' } }]);
  });

  it.each([
    ['below minSessionTtlMs', DEFAULT_SETTINGS.minSessionTtlMs - 1],
    ['above maxSessionTtlMs', DEFAULT_SETTINGS.maxSessionTtlMs + 1],
    ['zero', 0],
    ['negative', -1_000],
  ])('a TTL %s is InvalidArgument and opens nothing', (_what, ttlMs) => {
    const d = new Driver();
    const { reply } = d.apply({ op: 'session.open', ttlMs, info: INFO });
    expect(code(reply)).toBe('InvalidArgument');
    expect(d.machine.table.sessions.size).toBe(0);
    expect(d.machine.table.events).toEqual([]);
  });

  it('the TTL bounds themselves are accepted', () => {
    const d = new Driver();
    d.open(DEFAULT_SETTINGS.minSessionTtlMs);
    d.open(DEFAULT_SETTINGS.maxSessionTtlMs);
    expect(d.machine.table.sessions.size).toBe(2);
  });

  it('TTL bounds follow the replicated settings', () => {
    const d = new Driver();
    expect(code(d.settings({ minSessionTtlMs: 1_000 }).reply)).toBe('ok');
    expect(code(d.apply({ op: 'session.open', ttlMs: 999, info: INFO }).reply)).toBe('InvalidArgument');
    d.open(1_000);
  });

  it('closing or expiring an unknown session is SessionNotFound', () => {
    const d = new Driver();
    expect(code(d.close('s404').reply)).toBe('SessionNotFound');
    expect(code(d.expire('s404').reply)).toBe('SessionNotFound');
  });

  it('closing a session tells its clients, with actor and reason', () => {
    const d = new Driver();
    const a = d.open();
    const { reply, notices } = d.close(a, 'admin:bob', 'decommissioned');
    expect(reply).toEqual({ ok: true, kind: 'closed' });
    expect(notices).toContainEqual({ type: 'sessionEnded', sessionId: a, reason: 'closed', actor: 'admin:bob', detail: 'decommissioned' });
    expect(events(d, 'session.close')).toMatchObject([{ sessionId: a, actor: 'admin:bob', reason: 'decommissioned' }]);
    expect(d.machine.table.sessions.has(a)).toBe(false);
  });

  it('closing a session releases its locks at once, without lock-delay', () => {
    const d = new Driver();
    const a = d.open();
    const b = d.open();
    d.acquire(a, 'db');
    d.close(a);
    expect(d.machine.table.locks.has('db')).toBe(false);
    const result = d.acquire(b, 'db');
    expect(tokenFrom(result)).toBe(d.index);
    expect(events(d, 'lock.release')).toMatchObject([{ name: 'db', sessionId: a }]);
    expect(events(d, 'lock.expireRelease')).toEqual([]);
  });

  it('closing a holder grants the next waiter in the same entry', () => {
    const d = new Driver();
    const a = d.open();
    const b = d.open();
    d.acquire(a, 'db');
    d.acquire(b, 'db', { waitMs: 60_000 });
    const { notices } = d.close(a);
    expect(notices).toContainEqual({ type: 'lockGranted', sessionId: b, name: 'db', mode: 'exclusive', token: d.index });
    expect(d.holders('db')).toEqual([`${b}:exclusive:${d.index}`]);
  });

  it('closing a session does not send it lockLost for the locks it released itself', () => {
    const d = new Driver();
    const a = d.open();
    d.acquire(a, 'db');
    expect(noticesOf(d.close(a).notices, 'lockLost')).toEqual([]);
  });
});

describe('lock-delay after a holder expires', () => {
  function expiredHolder(options: { lockDelayMs?: number | null } = {}): { d: Driver; a: string; b: string } {
    const d = new Driver();
    const a = d.open();
    const b = d.open();
    d.acquire(a, 'db', { lockDelayMs: options.lockDelayMs ?? null });
    d.expire(a);
    return { d, a, b };
  }

  it('an expired holder loses the lock and is told so', () => {
    const d = new Driver();
    const a = d.open();
    const token = tokenFrom(d.acquire(a, 'db'));
    const { reply, notices } = d.expire(a);
    expect(reply).toEqual({ ok: true, kind: 'expired' });
    expect(notices).toContainEqual({ type: 'lockLost', sessionId: a, name: 'db', token, reason: 'expired', actor: null, detail: null });
    expect(notices).toContainEqual({ type: 'sessionEnded', sessionId: a, reason: 'expired', actor: null, detail: null });
    expect(events(d, 'lock.expireRelease')).toMatchObject([{ name: 'db', sessionId: a, token, detail: { lockDelayMs: 10_000 } }]);
    expect(d.holders('db')).toEqual([]);
  });

  it('the lock is not grantable for the default 10 s after the expiry', () => {
    const { d, b } = expiredHolder();
    d.advance(9_999);
    expect(d.acquire(b, 'db').reply).toMatchObject({ ok: false, code: 'WouldBlock', delayLeftMs: 1 });
    d.advance(1);
    expect(tokenFrom(d.acquire(b, 'db'))).toBe(d.index);
  });

  it('try-lock during the lock-delay reports how long the delay has left', () => {
    const { d, b } = expiredHolder();
    d.advance(2_500);
    const { reply } = d.acquire(b, 'db');
    expect(reply).toMatchObject({ ok: false, code: 'WouldBlock', delayLeftMs: 7_500 });
    expect('message' in reply ? reply.message : '').toMatch(/lock-delay/);
  });

  it('a waiter is not granted during the lock-delay, even on clock entries', () => {
    const { d, b } = expiredHolder();
    expect(d.acquire(b, 'db', { waitMs: 60_000 }).reply).toMatchObject({ ok: true, kind: 'queued', position: 1 });
    d.advance(9_999);
    expect(d.clock().notices).toEqual([]);
    expect(d.holders('db')).toEqual([]);
    expect(d.waiters('db')).toEqual([b]);
  });

  it('a clock entry at the end of the lock-delay grants the head waiter with that entry as token', () => {
    const { d, b } = expiredHolder();
    d.acquire(b, 'db', { waitMs: 60_000 });
    d.advance(10_000);
    const { notices } = d.clock();
    expect(notices).toEqual([{ type: 'lockGranted', sessionId: b, name: 'db', mode: 'exclusive', token: d.index }]);
    expect(d.machine.table.locks.get('db')?.delayUntil).toBe(0);
  });

  it("a request's lockDelayMs overrides the default", () => {
    const { d, b } = expiredHolder({ lockDelayMs: 2_000 });
    d.advance(1_999);
    expect(d.acquire(b, 'db').reply).toMatchObject({ code: 'WouldBlock', delayLeftMs: 1 });
    d.advance(1);
    tokenFrom(d.acquire(b, 'db'));
  });

  it('a lockDelayMs of 0 lets the expiry grant the next waiter in the same entry', () => {
    const d = new Driver();
    const a = d.open();
    const b = d.open();
    d.acquire(a, 'db', { lockDelayMs: 0 });
    d.acquire(b, 'db', { waitMs: 60_000 });
    const { notices } = d.expire(a);
    expect(notices).toContainEqual({ type: 'lockGranted', sessionId: b, name: 'db', mode: 'exclusive', token: d.index });
    expect(events(d, 'lock.expireRelease')).toMatchObject([{ detail: { lockDelayMs: 0 } }]);
  });

  it('a lockDelayMs of 0 with nobody waiting forgets the lock', () => {
    const { d } = expiredHolder({ lockDelayMs: 0 });
    expect(d.machine.table.locks.has('db')).toBe(false);
  });

  it('a changed settings.lockDelayMs applies to later expiries', () => {
    const d = new Driver();
    d.settings({ lockDelayMs: 3_000 });
    const a = d.open();
    const b = d.open();
    d.acquire(a, 'db');
    d.expire(a);
    expect(d.acquire(b, 'db').reply).toMatchObject({ code: 'WouldBlock', delayLeftMs: 3_000 });
  });

  it('the default applies at expiry time, so a settings change after the grant still counts', () => {
    const d = new Driver();
    const a = d.open();
    const b = d.open();
    d.acquire(a, 'db');
    d.settings({ lockDelayMs: 0 });
    d.expire(a);
    tokenFrom(d.acquire(b, 'db'));
  });

  it('a waiter inherits its own lockDelayMs when it becomes the holder', () => {
    const d = new Driver();
    const a = d.open();
    const b = d.open();
    const c = d.open();
    d.acquire(a, 'db');
    d.acquire(b, 'db', { waitMs: 60_000, lockDelayMs: 500 });
    d.release(a, 'db');
    d.expire(b);
    expect(d.acquire(c, 'db').reply).toMatchObject({ code: 'WouldBlock', delayLeftMs: 500 });
  });

  it('an expiring session that was only waiting just leaves the queue', () => {
    const d = new Driver();
    const a = d.open();
    const b = d.open();
    d.acquire(a, 'db');
    d.acquire(b, 'db', { waitMs: 60_000 });
    const { notices } = d.expire(b);
    expect(noticesOf(notices, 'lockLost')).toEqual([]);
    expect(d.waiters('db')).toEqual([]);
    expect(d.holders('db')).toHaveLength(1);
  });

  it('a clock entry after an idle lock-delay forgets the lock', () => {
    const { d } = expiredHolder();
    expect(d.machine.table.locks.has('db')).toBe(true);
    d.advance(10_000).clock();
    expect(d.machine.table.locks.has('db')).toBe(false);
  });
});

describe('exclusive and shared modes', () => {
  it('shared holders coexist', () => {
    const d = new Driver();
    const [a, b, c] = [d.open(), d.open(), d.open()] as [string, string, string];
    for (const s of [a, b, c]) tokenFrom(d.acquire(s, 'cfg', { mode: 'shared' }));
    expect(d.holders('cfg')).toHaveLength(3);
  });

  it('an exclusive request waits for shared holders', () => {
    const d = new Driver();
    const [a, b] = [d.open(), d.open()] as [string, string];
    d.acquire(a, 'cfg', { mode: 'shared' });
    expect(d.acquire(b, 'cfg').reply).toMatchObject({ code: 'WouldBlock', delayLeftMs: 0 });
    expect(d.acquire(b, 'cfg', { waitMs: 1_000 }).reply).toMatchObject({ ok: true, kind: 'queued', position: 1 });
  });

  it('a shared request waits for an exclusive holder', () => {
    const d = new Driver();
    const [a, b] = [d.open(), d.open()] as [string, string];
    d.acquire(a, 'cfg');
    expect(code(d.acquire(b, 'cfg', { mode: 'shared' }).reply)).toBe('WouldBlock');
  });

  it('a queued exclusive request blocks later shared ones', () => {
    const d = new Driver();
    const [a, b, c] = [d.open(), d.open(), d.open()] as [string, string, string];
    d.acquire(a, 'cfg', { mode: 'shared' });
    d.acquire(b, 'cfg', { waitMs: 60_000 });
    expect(code(d.acquire(c, 'cfg', { mode: 'shared' }).reply)).toBe('WouldBlock');
    expect(d.acquire(c, 'cfg', { mode: 'shared', waitMs: 60_000 }).reply).toMatchObject({ kind: 'queued', position: 2 });
    d.release(a, 'cfg');
    expect(d.holders('cfg')).toEqual([`${b}:exclusive:${d.index}`]);
    expect(d.waiters('cfg')).toEqual([c]);
  });

  it('shared waiters at the head are granted together, sharing the entry as token', () => {
    const d = new Driver();
    const [a, b, c] = [d.open(), d.open(), d.open()] as [string, string, string];
    d.acquire(a, 'cfg');
    d.acquire(b, 'cfg', { mode: 'shared', waitMs: 60_000 });
    d.acquire(c, 'cfg', { mode: 'shared', waitMs: 60_000 });
    const { notices } = d.release(a, 'cfg');
    expect(noticesOf(notices, 'lockGranted')).toEqual([
      { type: 'lockGranted', sessionId: b, name: 'cfg', mode: 'shared', token: d.index },
      { type: 'lockGranted', sessionId: c, name: 'cfg', mode: 'shared', token: d.index },
    ]);
  });

  it('shared waiters are granted up to the first exclusive waiter', () => {
    const d = new Driver();
    const [a, b, c, e] = [d.open(), d.open(), d.open(), d.open()] as [string, string, string, string];
    d.acquire(a, 'cfg');
    d.acquire(b, 'cfg', { mode: 'shared', waitMs: 60_000 });
    d.acquire(c, 'cfg', { waitMs: 60_000 });
    d.acquire(e, 'cfg', { mode: 'shared', waitMs: 60_000 });
    d.release(a, 'cfg');
    expect(d.holders('cfg')).toEqual([`${b}:shared:${d.index}`]);
    expect(d.waiters('cfg')).toEqual([c, e]);
  });

  it('withdrawing a queued exclusive request lets the shared request behind it join the shared holders', () => {
    const d = new Driver();
    const [a, b, c] = [d.open(), d.open(), d.open()] as [string, string, string];
    d.acquire(a, 'cfg', { mode: 'shared' });
    d.acquire(b, 'cfg', { waitMs: 60_000 });
    d.acquire(c, 'cfg', { mode: 'shared', waitMs: 60_000 });
    const { notices } = d.release(b, 'cfg');
    expect(notices).toEqual([{ type: 'lockGranted', sessionId: c, name: 'cfg', mode: 'shared', token: d.index }]);
    expect(d.holders('cfg')).toHaveLength(2);
  });

  it('a lock is free again only after the last shared holder releases', () => {
    const d = new Driver();
    const [a, b, c] = [d.open(), d.open(), d.open()] as [string, string, string];
    d.acquire(a, 'cfg', { mode: 'shared' });
    d.acquire(b, 'cfg', { mode: 'shared' });
    d.acquire(c, 'cfg', { waitMs: 60_000 });
    expect(d.release(a, 'cfg').notices).toEqual([]);
    expect(d.release(b, 'cfg').notices).toEqual([{ type: 'lockGranted', sessionId: c, name: 'cfg', mode: 'exclusive', token: d.index }]);
  });
});

describe('FIFO fairness', () => {
  it('waiters are granted in arrival order', () => {
    const d = new Driver();
    const [a, b, c, e] = [d.open(), d.open(), d.open(), d.open()] as [string, string, string, string];
    d.acquire(a, 'db');
    d.acquire(b, 'db', { waitMs: 60_000 });
    d.acquire(c, 'db', { waitMs: 60_000 });
    d.acquire(e, 'db', { waitMs: 60_000 });
    const order: string[] = [];
    for (const holder of [a, b, c]) {
      const granted = noticesOf(d.release(holder, 'db').notices, 'lockGranted');
      order.push(...granted.map((n) => n.sessionId));
    }
    expect(order).toEqual([b, c, e]);
  });

  it('queue positions count from 1 in arrival order', () => {
    const d = new Driver();
    const [a, b, c] = [d.open(), d.open(), d.open()] as [string, string, string];
    d.acquire(a, 'db');
    expect(d.acquire(b, 'db', { waitMs: 1_000 }).reply).toMatchObject({ kind: 'queued', position: 1 });
    expect(d.acquire(c, 'db', { waitMs: 1_000 }).reply).toMatchObject({ kind: 'queued', position: 2 });
  });

  it('a shared request does not overtake a queued shared request during lock-delay', () => {
    const d = new Driver();
    const [a, b, c] = [d.open(), d.open(), d.open()] as [string, string, string];
    d.acquire(a, 'db');
    d.expire(a);
    d.acquire(b, 'db', { mode: 'shared', waitMs: 60_000 });
    d.advance(10_000);
    expect(d.acquire(c, 'db', { mode: 'shared', waitMs: 60_000 }).reply).toMatchObject({ kind: 'queued', position: 2 });
  });
});

describe('try-lock and wait deadlines', () => {
  it('try-lock (waitMs 0) on a held lock is WouldBlock and queues nothing', () => {
    const d = new Driver();
    const [a, b] = [d.open(), d.open()] as [string, string];
    d.acquire(a, 'db');
    const { reply } = d.acquire(b, 'db');
    expect(reply).toMatchObject({ ok: false, code: 'WouldBlock', delayLeftMs: 0 });
    expect(d.waiters('db')).toEqual([]);
    expect(events(d, 'lock.queue')).toEqual([]);
  });

  it('a waiter gives up on the first clock entry at or after its deadline', () => {
    const d = new Driver();
    const [a, b] = [d.open(), d.open()] as [string, string];
    d.acquire(a, 'db');
    d.acquire(b, 'db', { waitMs: 1_000 });
    d.advance(999);
    expect(d.clock().notices).toEqual([]);
    d.advance(1);
    expect(d.clock().notices).toEqual([{ type: 'lockWaitTimedOut', sessionId: b, name: 'db' }]);
    expect(d.waiters('db')).toEqual([]);
    expect(events(d, 'lock.waitTimeout')).toMatchObject([{ name: 'db', sessionId: b, detail: { waitedMs: 1_000 } }]);
  });

  it('a waiter that gave up is not granted when the holder releases', () => {
    const d = new Driver();
    const [a, b] = [d.open(), d.open()] as [string, string];
    d.acquire(a, 'db');
    d.acquire(b, 'db', { waitMs: 1_000 });
    d.advance(1_000).clock();
    expect(d.release(a, 'db').notices).toEqual([]);
    expect(d.machine.table.locks.has('db')).toBe(false);
  });

  it('a waiter past its deadline is refused, not granted, by a release before the clock entry', () => {
    const d = new Driver();
    const [a, b] = [d.open(), d.open()] as [string, string];
    d.acquire(a, 'db');
    d.acquire(b, 'db', { waitMs: 1_000 });
    d.advance(5_000);
    const { notices } = d.release(a, 'db');
    expect(noticesOf(notices, 'lockGranted')).toEqual([]);
    expect(notices).toContainEqual({ type: 'lockWaitTimedOut', sessionId: b, name: 'db' });
  });

  it.each([
    ['negative', -1],
    ['above maxWaitMs', DEFAULT_SETTINGS.maxWaitMs + 1],
  ])('a waitMs %s is InvalidArgument', (_what, waitMs) => {
    const d = new Driver();
    const a = d.open();
    expect(code(d.acquire(a, 'db', { waitMs }).reply)).toBe('InvalidArgument');
    expect(d.machine.table.locks.size).toBe(0);
  });

  it('a request lockDelayMs above one hour is InvalidArgument', () => {
    const d = new Driver();
    const a = d.open();
    expect(code(d.acquire(a, 'db', { lockDelayMs: 3_600_001 }).reply)).toBe('InvalidArgument');
  });

  it('a try-lock that fails does not leave an empty lock behind', () => {
    const d = new Driver();
    const [a, b] = [d.open(), d.open()] as [string, string];
    d.acquire(a, 'db');
    d.acquire(b, 'db');
    d.release(a, 'db');
    expect(d.machine.table.locks.size).toBe(0);
  });
});

describe('idempotent acquire', () => {
  it('a repeated acquire by the holder returns the same grant and token', () => {
    const d = new Driver();
    const a = d.open();
    const first = tokenFrom(d.acquire(a, 'db'));
    expect(tokenFrom(d.acquire(a, 'db'))).toBe(first);
    expect(d.holders('db')).toEqual([`${a}:exclusive:${first}`]);
    expect(events(d, 'lock.grant')).toHaveLength(1);
  });

  it('a repeated acquire by the holder in another mode returns the mode it holds', () => {
    const d = new Driver();
    const a = d.open();
    d.acquire(a, 'db', { mode: 'shared' });
    expect(d.acquire(a, 'db', { mode: 'exclusive' }).reply).toMatchObject({ kind: 'granted', mode: 'shared' });
  });

  it('a repeated acquire by a queued waiter keeps its place and does not queue twice', () => {
    const d = new Driver();
    const [a, b, c] = [d.open(), d.open(), d.open()] as [string, string, string];
    d.acquire(a, 'db');
    d.acquire(b, 'db', { waitMs: 60_000 });
    d.acquire(c, 'db', { waitMs: 60_000 });
    expect(d.acquire(b, 'db', { waitMs: 60_000 }).reply).toMatchObject({ kind: 'queued', position: 1 });
    expect(d.waiters('db')).toEqual([b, c]);
  });
});

describe('fencing tokens', () => {
  it('a token is the index of the entry that granted the lock', () => {
    const d = new Driver(undefined, { index: 41, now: T0 });
    const a = d.open();
    expect(tokenFrom(d.acquire(a, 'db'))).toBe(43);
    expect(d.machine.table.locks.get('db')?.lastToken).toBe(43);
  });

  it('tokens strictly increase per lock across hand-offs, expiry and forced release', () => {
    const d = new Driver();
    const [a, b, c, e] = [d.open(), d.open(), d.open(), d.open()] as [string, string, string, string];
    const granted = (notices: readonly Notice[]): number[] => notices.flatMap((n) => (n.type === 'lockGranted' ? [n.token] : []));
    const tokens = [tokenFrom(d.acquire(a, 'db'))];
    for (const s of [b, c, e]) d.acquire(s, 'db', { waitMs: 600_000 });
    tokens.push(...granted(d.release(a, 'db').notices));
    d.expire(b);
    tokens.push(...granted(d.advance(10_000).clock().notices));
    tokens.push(...granted(d.forceRelease('db').notices));
    expect(tokens).toHaveLength(4);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1] as number);
  });

  it('a lock that was forgotten and taken again gets a larger token', () => {
    const d = new Driver();
    const a = d.open();
    const first = tokenFrom(d.acquire(a, 'db'));
    d.release(a, 'db');
    expect(d.machine.table.locks.has('db')).toBe(false);
    expect(tokenFrom(d.acquire(a, 'db'))).toBeGreaterThan(first);
  });
});

describe('release', () => {
  it('release by a session that neither holds nor waits is NotHolder', () => {
    const d = new Driver();
    const [a, b] = [d.open(), d.open()] as [string, string];
    d.acquire(a, 'db');
    expect(code(d.release(b, 'db').reply)).toBe('NotHolder');
    expect(d.holders('db')).toHaveLength(1);
  });

  it('release of a lock nobody holds is NotHolder', () => {
    const d = new Driver();
    const a = d.open();
    expect(code(d.release(a, 'nothing').reply)).toBe('NotHolder');
  });

  it('release by the holder returns the previous grant and frees the lock', () => {
    const d = new Driver();
    const a = d.open();
    const token = tokenFrom(d.acquire(a, 'db'));
    const { reply } = d.release(a, 'db');
    expect(reply).toMatchObject({ ok: true, kind: 'released', name: 'db', previous: [{ sessionId: a, mode: 'exclusive', token }] });
    expect(events(d, 'lock.release')).toMatchObject([{ name: 'db', sessionId: a, token }]);
    expect(d.machine.table.locks.has('db')).toBe(false);
  });

  it('release by the holder grants the next waiter in the same entry', () => {
    const d = new Driver();
    const [a, b] = [d.open(), d.open()] as [string, string];
    d.acquire(a, 'db');
    d.acquire(b, 'db', { waitMs: 60_000 });
    expect(d.release(a, 'db').notices).toEqual([{ type: 'lockGranted', sessionId: b, name: 'db', mode: 'exclusive', token: d.index }]);
  });

  it('release of a queued request withdraws it', () => {
    const d = new Driver();
    const [a, b] = [d.open(), d.open()] as [string, string];
    d.acquire(a, 'db');
    d.acquire(b, 'db', { waitMs: 60_000 });
    expect(d.release(b, 'db').reply).toEqual({ ok: true, kind: 'released', name: 'db', previous: [] });
    expect(d.waiters('db')).toEqual([]);
    expect(d.release(a, 'db').notices).toEqual([]);
  });

  it('a withdrawn waiter is not timed out later', () => {
    const d = new Driver();
    const [a, b] = [d.open(), d.open()] as [string, string];
    d.acquire(a, 'db');
    d.acquire(b, 'db', { waitMs: 1_000 });
    d.release(b, 'db');
    expect(d.advance(1_000).clock().notices).toEqual([]);
  });
});

describe('the session is re-checked when the grant is applied', () => {
  it('acquire by an unknown session is SessionNotFound', () => {
    const d = new Driver();
    expect(code(d.acquire('s999', 'db').reply)).toBe('SessionNotFound');
    expect(d.machine.table.locks.size).toBe(0);
  });

  it('acquire by a session that expired before the entry applied is SessionNotFound', () => {
    const d = new Driver();
    const a = d.open();
    d.expire(a);
    expect(code(d.acquire(a, 'db').reply)).toBe('SessionNotFound');
    expect(d.machine.table.locks.size).toBe(0);
  });

  it('acquire by a closed session is SessionNotFound', () => {
    const d = new Driver();
    const a = d.open();
    d.close(a);
    expect(code(d.acquire(a, 'db', { waitMs: 1_000 }).reply)).toBe('SessionNotFound');
  });
});

describe('forced release', () => {
  it.each([[''], ['   ']])('forceRelease with reason %j is InvalidArgument and keeps the holder', (reason) => {
    const d = new Driver();
    const a = d.open();
    d.acquire(a, 'db');
    expect(code(d.forceRelease('db', reason).reply)).toBe('InvalidArgument');
    expect(d.holders('db')).toHaveLength(1);
    expect(events(d, 'lock.forceRelease')).toEqual([]);
  });

  it('forceRelease of a lock nobody holds is NotFound', () => {
    const d = new Driver();
    expect(code(d.forceRelease('db').reply)).toBe('NotFound');
  });

  it('forceRelease frees the lock without lock-delay', () => {
    const d = new Driver();
    const [a, b] = [d.open(), d.open()] as [string, string];
    d.acquire(a, 'db');
    expect(d.forceRelease('db').reply).toMatchObject({ ok: true, kind: 'released', name: 'db' });
    expect(tokenFrom(d.acquire(b, 'db'))).toBe(d.index);
  });

  it('forceRelease records actor, reason, previous holder and token in the audit log', () => {
    const d = new Driver();
    const a = d.open();
    const token = tokenFrom(d.acquire(a, 'db'));
    d.advance(3_000);
    d.forceRelease('db', 'process hung in GC', 'admin:carol');
    expect(events(d, 'lock.forceRelease')).toEqual([
      expect.objectContaining({
        name: 'db',
        sessionId: a,
        actor: 'admin:carol',
        reason: 'process hung in GC',
        token,
        detail: { mode: 'exclusive', heldMs: 3_000, host: INFO.host, pid: INFO.pid, app: INFO.app },
      }),
    ]);
  });

  it('forceRelease tells the holder lockLost and grants the next waiter a larger token in the same entry', () => {
    const d = new Driver();
    const [a, b] = [d.open(), d.open()] as [string, string];
    const old = tokenFrom(d.acquire(a, 'db'));
    d.acquire(b, 'db', { waitMs: 60_000 });
    const { notices } = d.forceRelease('db', 'stuck', 'admin:carol');
    expect(notices).toEqual([
      { type: 'lockLost', sessionId: a, name: 'db', token: old, reason: 'forced', actor: 'admin:carol', detail: 'stuck' },
      { type: 'lockGranted', sessionId: b, name: 'db', mode: 'exclusive', token: d.index },
    ]);
    expect(d.index).toBeGreaterThan(old);
  });

  it('forceRelease of shared holders tells every holder', () => {
    const d = new Driver();
    const [a, b] = [d.open(), d.open()] as [string, string];
    d.acquire(a, 'cfg', { mode: 'shared' });
    d.acquire(b, 'cfg', { mode: 'shared' });
    const lost = noticesOf(d.forceRelease('cfg').notices, 'lockLost').map((n) => n.sessionId);
    expect(lost).toEqual([a, b]);
  });

  it('forceRelease also cancels a lock-delay left by an expired shared holder', () => {
    const d = new Driver();
    const [a, b, c] = [d.open(), d.open(), d.open()] as [string, string, string];
    d.acquire(a, 'cfg', { mode: 'shared' });
    d.acquire(b, 'cfg', { mode: 'shared' });
    d.expire(a);
    d.acquire(c, 'cfg', { waitMs: 60_000 });
    expect(d.machine.table.locks.get('cfg')?.delayUntil).toBe(T0 + 10_000);
    const { notices } = d.forceRelease('cfg');
    expect(notices).toContainEqual({ type: 'lockGranted', sessionId: c, name: 'cfg', mode: 'exclusive', token: d.index });
    expect(d.machine.table.locks.get('cfg')?.delayUntil).toBe(0);
  });

  it("the old holder's release after a forced release is NotHolder", () => {
    const d = new Driver();
    const a = d.open();
    d.acquire(a, 'db');
    d.forceRelease('db');
    expect(code(d.release(a, 'db').reply)).toBe('NotHolder');
  });

  it('a session that lost a lock by force can close without releasing it again', () => {
    const d = new Driver();
    const [a, b] = [d.open(), d.open()] as [string, string];
    d.acquire(a, 'db');
    d.forceRelease('db');
    d.acquire(b, 'db');
    d.close(a);
    expect(d.holders('db')).toHaveLength(1);
  });
});

describe('lock names', () => {
  it.each([
    ['empty', ''],
    ['too long', 'a'.repeat(257)],
    ['with a space', 'billing leader'],
    ['with a star', 'billing*'],
    ['with non-ASCII letters', 'dépôt'],
    ['with a newline', 'a\nb'],
  ])('a name %s is InvalidArgument', (_what, name) => {
    const d = new Driver();
    const a = d.open();
    expect(code(d.acquire(a, name).reply)).toBe('InvalidArgument');
    expect(d.machine.table.locks.size).toBe(0);
  });

  it.each([['a'.repeat(256)], ['svc/billing:leader@dc-1=x+y.z_w'], ['0']])('the name %s is valid', (name) => {
    const d = new Driver();
    const a = d.open();
    tokenFrom(d.acquire(a, name));
  });
});

describe('nextDeadline', () => {
  it('is Infinity when nobody waits', () => {
    const d = new Driver();
    const a = d.open();
    d.acquire(a, 'db');
    expect(d.machine.table.nextDeadline()).toBe(Infinity);
  });

  it('is the earliest waiter deadline', () => {
    const d = new Driver();
    const [a, b, c] = [d.open(), d.open(), d.open()] as [string, string, string];
    d.acquire(a, 'db');
    d.acquire(a, 'q');
    d.acquire(b, 'db', { waitMs: 5_000 });
    d.acquire(c, 'q', { waitMs: 2_000 });
    expect(d.machine.table.nextDeadline()).toBe(T0 + 2_000);
  });

  it('is the end of a lock-delay when someone waits for it', () => {
    const d = new Driver();
    const [a, b] = [d.open(), d.open()] as [string, string];
    d.acquire(a, 'db');
    d.expire(a);
    d.acquire(b, 'db', { waitMs: 60_000 });
    expect(d.machine.table.nextDeadline()).toBe(T0 + 10_000);
  });

  it('is the waiter deadline when it comes before the end of the lock-delay', () => {
    const d = new Driver();
    const [a, b] = [d.open(), d.open()] as [string, string];
    d.acquire(a, 'db');
    d.expire(a);
    d.acquire(b, 'db', { waitMs: 4_000 });
    expect(d.machine.table.nextDeadline()).toBe(T0 + 4_000);
  });

  it('a lock-delay nobody waits for is still a deadline, so a clock entry forgets the lock', () => {
    const d = new Driver();
    const a = d.open();
    d.acquire(a, 'db');
    d.expire(a);
    const due = d.machine.table.nextDeadline();
    expect(due).toBeLessThan(Infinity);
    expect(d.machine.table.locks.has('db')).toBe(true);
    d.now = due;
    d.clock();
    expect(d.machine.table.locks.has('db')).toBe(false);
    expect(d.machine.table.nextDeadline()).toBe(Infinity);
  });
});

describe('ephemeral keys', () => {
  it('keys bound to a session vanish when it closes, with watch delete events', () => {
    const d = new Driver();
    const a = d.open();
    d.put('/svc/billing/leader', 'host-a', { session: a });
    d.put('/svc/billing/members/a', 'up', { session: a });
    d.put('/config/billing/db.url', 'pg://x');
    const { events: watch } = d.close(a);
    expect(watch).toEqual([
      { type: 'delete', key: '/svc/billing/leader', value: null, revision: 4, prevValue: 'host-a' },
      { type: 'delete', key: '/svc/billing/members/a', value: null, revision: 5, prevValue: 'up' },
    ]);
    expect(d.machine.kv.get('/svc/billing/leader')).toBeNull();
    expect(d.machine.kv.get('/config/billing/db.url')?.value).toBe('pg://x');
  });

  it('keys bound to a session vanish when it expires', () => {
    const d = new Driver();
    const a = d.open();
    d.put('/svc/lease', 'x', { session: a });
    expect(d.expire(a).events).toMatchObject([{ type: 'delete', key: '/svc/lease' }]);
    expect(d.machine.kv.size).toBe(0);
  });

  it("another session's keys stay", () => {
    const d = new Driver();
    const [a, b] = [d.open(), d.open()] as [string, string];
    d.put('/a', '1', { session: a });
    d.put('/b', '2', { session: b });
    d.close(a);
    expect(d.machine.kv.list('/').map((e) => e.key)).toEqual(['/b']);
  });

  it('a key bound to an unknown session is SessionNotFound and is not written', () => {
    const d = new Driver();
    expect(code(d.put('/a', '1', { session: 's404' }).reply)).toBe('SessionNotFound');
    expect(d.machine.kv.revision).toBe(0);
  });
});

describe('event retention', () => {
  it('a clock entry keeps only the newest eventRetentionCount events', () => {
    const d = new Driver();
    d.settings({ eventRetentionCount: 10 });
    for (let i = 0; i < 20; i++) d.open();
    d.clock();
    const seqs = d.machine.table.events.map((e) => e.seq);
    expect(seqs).toEqual([12, 13, 14, 15, 16, 17, 18, 19, 20, 21]);
  });

  it('a clock entry drops events older than eventRetentionMs', () => {
    const d = new Driver();
    d.settings({ eventRetentionMs: 60_000 });
    d.open();
    d.advance(30_000);
    d.open();
    d.advance(30_001);
    d.clock();
    expect(d.machine.table.events.map((e) => e.time)).toEqual([T0 + 30_000]);
  });

  it('an event exactly eventRetentionMs old is kept', () => {
    const d = new Driver();
    d.settings({ eventRetentionMs: 60_000 });
    d.advance(60_000).clock();
    expect(d.machine.table.events).toHaveLength(1);
  });

  it('sequence numbers keep growing after trimming', () => {
    const d = new Driver();
    d.settings({ eventRetentionCount: 10 });
    for (let i = 0; i < 15; i++) d.open();
    d.clock();
    d.open();
    const last = d.machine.table.events.at(-1);
    expect(last?.seq).toBe(17);
  });

  it('events are trimmed without a clock entry once the count overshoots by 1024', () => {
    const d = new Driver();
    d.settings({ eventRetentionCount: 10 });
    for (let i = 0; i < 1_040; i++) d.open();
    expect(d.machine.table.events.length).toBeLessThanOrEqual(10 + 1_024);
  });
});

describe('cluster settings', () => {
  it('a change is applied and audited with actor and from/to per key', () => {
    const d = new Driver();
    const { reply } = d.settings({ lockDelayMs: 0, timeoutProfile: 'wan' }, 'admin:dave');
    expect(reply).toMatchObject({ ok: true, kind: 'settings', settings: { lockDelayMs: 0, timeoutProfile: 'wan' } });
    expect(d.machine.table.settings.stuckAfterMs).toBe(DEFAULT_SETTINGS.stuckAfterMs);
    expect(events(d, 'settings.change')).toMatchObject([
      { actor: 'admin:dave', detail: { lockDelayMs: { from: 10_000, to: 0 }, timeoutProfile: { from: null, to: 'wan' } } },
    ]);
  });

  it.each([
    ['an unknown key', { lockDelay: 5 }],
    ['a negative lockDelayMs', { lockDelayMs: -1 }],
    ['a lockDelayMs over an hour', { lockDelayMs: 3_600_001 }],
    ['a fractional value', { stuckAfterMs: 1_000.5 }],
    ['a string number', { maxWaitMs: '1000' }],
    ['an eventRetentionCount below 10', { eventRetentionCount: 9 }],
    ['a maxValueBytes of 0', { maxValueBytes: 0 }],
    ['minSessionTtlMs above maxSessionTtlMs', { minSessionTtlMs: 5_000, maxSessionTtlMs: 4_000 }],
    ['maxSessionTtlMs below the current minSessionTtlMs', { maxSessionTtlMs: 150 }],
    ['a timeoutProfile other than lan or wan', { timeoutProfile: 'lunar' }],
    ['stuckAfterByPrefix that is not an object', { stuckAfterByPrefix: [1] }],
    ['stuckAfterByPrefix with an empty prefix', { stuckAfterByPrefix: { '': 1_000 } }],
    ['stuckAfterByPrefix under 100 ms', { stuckAfterByPrefix: { 'batch/': 99 } }],
  ])('a patch with %s is InvalidArgument and changes nothing', (_what, patch) => {
    const d = new Driver();
    const { reply } = d.settings({ lockDelayMs: 1, ...patch });
    expect(code(reply)).toBe('InvalidArgument');
    expect(d.machine.table.settings).toEqual(DEFAULT_SETTINGS);
    expect(events(d, 'settings.change')).toEqual([]);
  });

  it('a valid patch may change several related bounds at once', () => {
    const d = new Driver();
    expect(code(d.settings({ minSessionTtlMs: 100, maxSessionTtlMs: 150 }).reply)).toBe('ok');
  });

  it('stuckAfterByPrefix replaces the whole map', () => {
    const d = new Driver();
    d.settings({ stuckAfterByPrefix: { 'a/': 1_000 } });
    d.settings({ stuckAfterByPrefix: { 'b/': 2_000 } });
    expect(d.machine.table.settings.stuckAfterByPrefix).toEqual({ 'b/': 2_000 });
  });

  it.each([['toString'], ['constructor'], ['__proto__'], ['hasOwnProperty']])('a patch key %s is InvalidArgument, not a crash', (key) => {
    const d = new Driver();
    const { reply } = d.raw(new TextEncoder().encode(`{"op":"settings.set","stamp":${T0},"actor":"admin","patch":{"${key}":5}}`));
    expect(code(reply)).toBe('InvalidArgument');
  });
});

describe('stuckAfterFor', () => {
  it('the longest matching prefix wins, otherwise stuckAfterMs', () => {
    const d = new Driver();
    d.settings({ stuckAfterMs: 300_000, stuckAfterByPrefix: { 'batch/': 3_600_000, 'batch/nightly/': 7_200_000, b: 1_000 } });
    const t = d.machine.table;
    expect(t.stuckAfterFor('batch/nightly/report')).toBe(7_200_000);
    expect(t.stuckAfterFor('batch/hourly')).toBe(3_600_000);
    expect(t.stuckAfterFor('billing')).toBe(1_000);
    expect(t.stuckAfterFor('svc/leader')).toBe(300_000);
  });

  it('the prefix order in the map does not matter', () => {
    const d = new Driver();
    d.settings({ stuckAfterByPrefix: { 'a/b/': 2_000, 'a/': 1_000 } });
    expect(d.machine.table.stuckAfterFor('a/b/c')).toBe(2_000);
  });
});

describe('table snapshot', () => {
  it('restore accepts as many events as eventRetentionCount allows', () => {
    const n = 300_000;
    const many: AuditEvent[] = Array.from({ length: n }, (_, i) => ({ seq: i + 1, time: T0, kind: 'session.open', name: null, sessionId: null, actor: null, reason: null, token: null, detail: {} }));
    const table = new LockTable();
    table.restore({ sessions: [], locks: [], settings: { ...DEFAULT_SETTINGS, eventRetentionCount: 1_000_000 }, events: many, nextSeq: n + 1 });
    expect(table.events).toHaveLength(n);
  });

  it("a table restored from its own in-memory snapshot keeps its events", () => {
    const d = new Driver();
    d.open();
    const table = d.machine.table;
    table.restore(table.snapshot());
    expect(table.events).toHaveLength(1);
  });
});
