// Pure. Chubby-style sessions and locks: exclusive and shared locks with FIFO-fair queues,
// fencing tokens (the Raft index of the granting entry), lock-delay after a holder's session
// expires, audited forced release, cluster settings and the append-only event log. Time is the
// replicated clock carried by entries; the table never reads a clock of its own.

import type { AuditEventView, NoticeWire } from '../api/clientProtocol.ts';
import { assert } from '../util/assert.ts';
import type { LockMode, SessionInfo, SettingsPatch } from './commands.ts';

/** Settings are the cluster-wide knobs, changed only through replicated, audited entries. */
export interface Settings {
  /** Lock-delay applied when a holder's session expires (Chubby: default 10 s; 0 allowed). */
  readonly lockDelayMs: number;
  /** A lock held longer than this while others wait is stuck (default 5 min). */
  readonly stuckAfterMs: number;
  /** Per-prefix overrides of stuckAfterMs; the longest matching prefix wins. */
  readonly stuckAfterByPrefix: Readonly<Record<string, number>>;
  /** A waiter queued longer than this makes the lock stuck. */
  readonly waiterStuckAfterMs: number;
  readonly minSessionTtlMs: number;
  readonly maxSessionTtlMs: number;
  readonly maxWaitMs: number;
  readonly maxValueBytes: number;
  /** Events kept in the log (oldest dropped first). */
  readonly eventRetentionCount: number;
  /** Events older than this are dropped. */
  readonly eventRetentionMs: number;
  /** Timeout profile every node uses ('lan' or 'wan'); null leaves each node's configured one. */
  readonly timeoutProfile: 'lan' | 'wan' | null;
}

/** DEFAULT_SETTINGS are a new cluster's settings. */
export const DEFAULT_SETTINGS: Settings = {
  lockDelayMs: 10_000,
  stuckAfterMs: 5 * 60_000,
  stuckAfterByPrefix: {},
  waiterStuckAfterMs: 60_000,
  minSessionTtlMs: 200,
  maxSessionTtlMs: 3_600_000,
  maxWaitMs: 24 * 3_600_000,
  maxValueBytes: 64 * 1024,
  eventRetentionCount: 10_000,
  eventRetentionMs: 7 * 24 * 3_600_000,
  timeoutProfile: null,
};

const NAME_PATTERN = /^[A-Za-z0-9._:@/=+-]+$/;
/** LOCK_NAME_MAX_LENGTH bounds a lock name. */
export const LOCK_NAME_MAX_LENGTH = 256;

/** validateLockName returns null for a valid lock name, or why it is invalid. */
export function validateLockName(name: unknown): string | null {
  if (typeof name !== 'string') return 'lock name must be a string';
  if (name.length === 0) return 'lock name must not be empty';
  if (name.length > LOCK_NAME_MAX_LENGTH) return `lock name is longer than ${LOCK_NAME_MAX_LENGTH} characters`;
  if (!NAME_PATTERN.test(name)) return 'lock name may contain letters, digits and . _ : @ / = + -';
  return null;
}

/** Session is a client's lease. Keep-alives are not replicated; the leader tracks them. */
export interface Session {
  readonly id: string;
  readonly ttlMs: number;
  readonly info: SessionInfo;
  readonly openedAt: number;
  /** The name of the token that opened the session (empty when unknown). */
  readonly owner?: string;
  /** The datacenter of the node the session was opened through (absent when unknown). */
  readonly datacenter?: string;
}

/** Holder is a session holding a lock, with its fencing token. */
export interface Holder {
  readonly sessionId: string;
  readonly mode: LockMode;
  readonly token: number;
  readonly grantedAt: number;
  /** Lock-delay to apply if this holder's session expires (null: the cluster default). */
  readonly lockDelayMs: number | null;
}

/** Waiter is a queued acquire. */
export interface Waiter {
  readonly sessionId: string;
  readonly mode: LockMode;
  readonly queuedAt: number;
  /** Replicated time after which the waiter gives up (Infinity never). */
  readonly deadline: number;
  readonly lockDelayMs: number | null;
}

/** LockState is one lock; a lock with no holders, waiters or delay is forgotten. */
export interface LockState {
  readonly name: string;
  holders: Holder[];
  waiters: Waiter[];
  /** No grant before this replicated time (lock-delay after an expiry). */
  delayUntil: number;
  /** The last token granted, so tokens visibly move on. */
  lastToken: number;
}

/** AuditEvent is one entry of the replicated event log (the client protocol's view, typed kinds). */
export interface AuditEvent extends AuditEventView {
  readonly kind:
    | 'session.open'
    | 'session.close'
    | 'session.expire'
    | 'lock.grant'
    | 'lock.queue'
    | 'lock.release'
    | 'lock.waitTimeout'
    | 'lock.expireRelease'
    | 'lock.forceRelease'
    | 'settings.change';
}

/** Notice is something a connected client must be told; it goes out as it is. */
export type Notice = NoticeWire;

/** LockReply is the proposer's answer. */
export type LockReply =
  | { readonly ok: true; readonly kind: 'session'; readonly sessionId: string; readonly ttlMs: number }
  | { readonly ok: true; readonly kind: 'granted'; readonly name: string; readonly mode: LockMode; readonly token: number }
  | { readonly ok: true; readonly kind: 'queued'; readonly name: string; readonly position: number }
  | { readonly ok: true; readonly kind: 'released'; readonly name: string; readonly previous: readonly Holder[] }
  | { readonly ok: true; readonly kind: 'closed' | 'expired' | 'clock' }
  | { readonly ok: true; readonly kind: 'settings'; readonly settings: Settings }
  | { readonly ok: false; readonly code: 'WouldBlock'; readonly message: string; readonly delayLeftMs: number }
  | { readonly ok: false; readonly code: 'SessionNotFound' | 'NotHolder' | 'NotFound' | 'InvalidArgument'; readonly message: string };

/** TableSnapshot is the serializable state of the table. */
export interface TableSnapshot {
  readonly sessions: readonly Session[];
  readonly locks: readonly LockState[];
  readonly settings: Settings;
  readonly events: readonly AuditEvent[];
  readonly nextSeq: number;
}

/** ApplyContext is what one entry brings: its index (the fencing token) and the replicated time. */
export interface ApplyContext {
  readonly index: number;
  readonly now: number;
  /** Planted bugs for the simulator (never set in production). */
  readonly bugs?: ReadonlySet<string>;
}

/** Outcome of one table operation. */
export interface TableResult {
  readonly reply: LockReply;
  readonly notices: Notice[];
  /** Sessions that ended in this entry (their ephemeral keys must go). */
  readonly endedSessions: string[];
}

function compatible(lock: LockState, mode: LockMode): boolean {
  if (lock.holders.length === 0) return true;
  return mode === 'shared' && lock.holders.every((h) => h.mode === 'shared');
}

/** validateSettingsPatch checks a patch against the known settings; returns the merged result or why not. */
export function mergeSettings(current: Settings, patch: SettingsPatch): { ok: true; settings: Settings } | { ok: false; message: string } {
  const next: Record<string, unknown> = { ...current };
  const ranges: Record<string, [number, number]> = {
    lockDelayMs: [0, 3_600_000],
    stuckAfterMs: [100, 30 * 24 * 3_600_000],
    waiterStuckAfterMs: [100, 30 * 24 * 3_600_000],
    minSessionTtlMs: [100, 3_600_000],
    maxSessionTtlMs: [100, 7 * 24 * 3_600_000],
    maxWaitMs: [0, 7 * 24 * 3_600_000],
    maxValueBytes: [1, 1024 * 1024],
    eventRetentionCount: [10, 1_000_000],
    eventRetentionMs: [60_000, 365 * 24 * 3_600_000],
  };
  for (const [key, value] of Object.entries(patch)) {
    if (Object.hasOwn(ranges, key)) {
      const [lo, hi] = ranges[key] as [number, number];
      if (!Number.isSafeInteger(value) || (value as number) < lo || (value as number) > hi) return { ok: false, message: `${key} must be an integer from ${lo} to ${hi}` };
      next[key] = value;
    } else if (key === 'stuckAfterByPrefix') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, message: 'stuckAfterByPrefix must map name prefixes to milliseconds' };
      for (const [prefix, ms] of Object.entries(value)) {
        if (prefix.length === 0 || prefix.length > LOCK_NAME_MAX_LENGTH) return { ok: false, message: 'stuckAfterByPrefix keys must be non-empty name prefixes' };
        if (!Number.isSafeInteger(ms) || (ms as number) < 100) return { ok: false, message: `stuckAfterByPrefix[${prefix}] must be an integer of at least 100 ms` };
      }
      next[key] = { ...value };
    } else if (key === 'timeoutProfile') {
      if (value !== 'lan' && value !== 'wan' && value !== null) return { ok: false, message: 'timeoutProfile must be "lan", "wan" or null (each node\'s own)' };
      next[key] = value;
    } else {
      return { ok: false, message: `unknown setting ${JSON.stringify(key)}` };
    }
  }
  const s = next as unknown as Settings;
  if (s.minSessionTtlMs > s.maxSessionTtlMs) return { ok: false, message: 'minSessionTtlMs must not exceed maxSessionTtlMs' };
  return { ok: true, settings: s };
}

/** LockTable holds sessions, locks, settings and events. */
export class LockTable {
  readonly sessions = new Map<string, Session>();
  readonly locks = new Map<string, LockState>();
  /** Lock names per session (held or waited on), for release on expiry or close. */
  private readonly bySession = new Map<string, Set<string>>();
  settings: Settings = DEFAULT_SETTINGS;
  readonly events: AuditEvent[] = [];
  private nextSeq = 1;

  // -------------------------------------------------------------------------------------------
  // Sessions.

  openSession(ctx: ApplyContext, ttlMs: number, info: SessionInfo, owner = '', datacenter: string | null = null): TableResult {
    const s = this.settings;
    if (!Number.isSafeInteger(ttlMs) || ttlMs < s.minSessionTtlMs || ttlMs > s.maxSessionTtlMs) {
      return this.fail('InvalidArgument', `ttlMs must be from ${s.minSessionTtlMs} to ${s.maxSessionTtlMs}`);
    }
    const id = `s${ctx.index.toString(36)}`;
    assert(!this.sessions.has(id), 'session ids come from unique log indexes');
    this.sessions.set(id, { id, ttlMs, info, openedAt: ctx.now, ...(owner ? { owner } : {}), ...(datacenter ? { datacenter } : {}) });
    this.bySession.set(id, new Set());
    this.record(ctx, 'session.open', { sessionId: id, actor: owner || null, detail: { ttlMs, host: info.host, pid: info.pid, app: info.app, label: info.label, ...(datacenter ? { datacenter } : {}) } });
    return { reply: { ok: true, kind: 'session', sessionId: id, ttlMs }, notices: [], endedSessions: [] };
  }

  /** closeSession ends a session cleanly: its locks are released at once, without lock-delay. */
  closeSession(ctx: ApplyContext, sessionId: string, actor: string | null, reason: string | null): TableResult {
    if (!this.sessions.has(sessionId)) return this.fail('SessionNotFound', `no session ${sessionId}`);
    const notices: Notice[] = [];
    this.record(ctx, 'session.close', { sessionId, actor, reason });
    this.endSession(ctx, sessionId, false, notices);
    notices.push({ type: 'sessionEnded', sessionId, reason: 'closed', actor, detail: reason });
    return { reply: { ok: true, kind: 'closed' }, notices, endedSessions: [sessionId] };
  }

  /** expireSession ends a session that missed its TTL: its locks enter lock-delay. */
  expireSession(ctx: ApplyContext, sessionId: string): TableResult {
    if (!this.sessions.has(sessionId)) return this.fail('SessionNotFound', `no session ${sessionId}`);
    const notices: Notice[] = [];
    this.record(ctx, 'session.expire', { sessionId });
    this.endSession(ctx, sessionId, true, notices);
    notices.push({ type: 'sessionEnded', sessionId, reason: 'expired', actor: null, detail: null });
    return { reply: { ok: true, kind: 'expired' }, notices, endedSessions: [sessionId] };
  }

  private endSession(ctx: ApplyContext, sessionId: string, expired: boolean, notices: Notice[]): void {
    const names = [...(this.bySession.get(sessionId) ?? [])].sort();
    this.sessions.delete(sessionId);
    this.bySession.delete(sessionId);
    for (const name of names) {
      const lock = this.locks.get(name);
      if (!lock) continue;
      lock.waiters = lock.waiters.filter((w) => w.sessionId !== sessionId);
      const held = lock.holders.filter((h) => h.sessionId === sessionId);
      if (held.length > 0) {
        lock.holders = lock.holders.filter((h) => h.sessionId !== sessionId);
        for (const h of held) {
          if (expired) {
            const delay = ctx.bugs?.has('skip-lock-delay') ? 0 : (h.lockDelayMs ?? this.settings.lockDelayMs);
            lock.delayUntil = Math.max(lock.delayUntil, ctx.now + delay);
            this.record(ctx, 'lock.expireRelease', { name, sessionId, token: h.token, detail: { lockDelayMs: delay } });
            notices.push({ type: 'lockLost', sessionId, name, token: h.token, reason: 'expired', actor: null, detail: null });
          } else {
            this.record(ctx, 'lock.release', { name, sessionId, token: h.token });
          }
        }
      }
      this.grantWaiters(ctx, lock, notices);
      this.forgetIfIdle(lock);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Locks.

  acquire(ctx: ApplyContext, sessionId: string, name: string, mode: LockMode, waitMs: number, lockDelayMs: number | null): TableResult {
    const nameError = validateLockName(name);
    if (nameError) return this.fail('InvalidArgument', nameError);
    if (!Number.isSafeInteger(waitMs) || waitMs < 0 || waitMs > this.settings.maxWaitMs) return this.fail('InvalidArgument', `waitMs must be from 0 to ${this.settings.maxWaitMs}`);
    if (lockDelayMs !== null && (!Number.isSafeInteger(lockDelayMs) || lockDelayMs < 0 || lockDelayMs > 3_600_000)) return this.fail('InvalidArgument', 'lockDelayMs must be from 0 to 3600000');
    // The holder's session is re-checked when the grant is applied, not when it was requested:
    // a grant to a session that expired in between would hand a lease-less client the lock.
    if (!this.sessions.has(sessionId) && !ctx.bugs?.has('grant-expired-session')) return this.fail('SessionNotFound', `no session ${sessionId} (it expired or was closed)`);
    let lock = this.locks.get(name);
    if (!lock) {
      lock = { name, holders: [], waiters: [], delayUntil: 0, lastToken: 0 };
      this.locks.set(name, lock);
    }
    const holding = lock.holders.find((h) => h.sessionId === sessionId);
    if (holding) {
      // Idempotent: a retried acquire of a lock this session holds returns the same grant.
      return { reply: { ok: true, kind: 'granted', name, mode: holding.mode, token: holding.token }, notices: [], endedSessions: [] };
    }
    const queuedAt = lock.waiters.findIndex((w) => w.sessionId === sessionId);
    if (queuedAt >= 0) return { reply: { ok: true, kind: 'queued', name, position: queuedAt + 1 }, notices: [], endedSessions: [] };
    const delayLeft = Math.max(0, lock.delayUntil - ctx.now);
    if (lock.waiters.length === 0 && delayLeft === 0 && compatible(lock, mode)) {
      const token = this.grant(ctx, lock, { sessionId, mode, queuedAt: ctx.now, deadline: Infinity, lockDelayMs });
      return { reply: { ok: true, kind: 'granted', name, mode, token }, notices: [], endedSessions: [] };
    }
    if (waitMs === 0) {
      this.forgetIfIdle(lock);
      const why = delayLeft > 0 ? `lock-delay: the previous holder's session expired; grantable in ${delayLeft} ms` : `held by ${lock.holders.map((h) => h.sessionId).join(', ') || 'queued waiters'}`;
      return { reply: { ok: false, code: 'WouldBlock', message: why, delayLeftMs: delayLeft }, notices: [], endedSessions: [] };
    }
    lock.waiters.push({ sessionId, mode, queuedAt: ctx.now, deadline: ctx.now + waitMs, lockDelayMs });
    this.bySession.get(sessionId)?.add(name);
    this.record(ctx, 'lock.queue', { name, sessionId, detail: { mode, waitMs, position: lock.waiters.length } });
    return { reply: { ok: true, kind: 'queued', name, position: lock.waiters.length }, notices: [], endedSessions: [] };
  }

  /** release frees a lock held by the session; the same entry grants the next waiters. */
  release(ctx: ApplyContext, sessionId: string, name: string): TableResult {
    const lock = this.locks.get(name);
    const held = lock?.holders.filter((h) => h.sessionId === sessionId) ?? [];
    if (!lock || held.length === 0) {
      const waiting = lock?.waiters.some((w) => w.sessionId === sessionId) ?? false;
      if (lock && waiting) {
        // Releasing a queued request withdraws it.
        lock.waiters = lock.waiters.filter((w) => w.sessionId !== sessionId);
        this.bySession.get(sessionId)?.delete(name);
        const notices: Notice[] = [];
        this.grantWaiters(ctx, lock, notices);
        this.forgetIfIdle(lock);
        return { reply: { ok: true, kind: 'released', name, previous: [] }, notices, endedSessions: [] };
      }
      return this.fail('NotHolder', `session ${sessionId} does not hold ${name}`);
    }
    lock.holders = lock.holders.filter((h) => h.sessionId !== sessionId);
    this.bySession.get(sessionId)?.delete(name);
    for (const h of held) this.record(ctx, 'lock.release', { name, sessionId, token: h.token });
    const notices: Notice[] = [];
    this.grantWaiters(ctx, lock, notices);
    this.forgetIfIdle(lock);
    return { reply: { ok: true, kind: 'released', name, previous: held }, notices, endedSessions: [] };
  }

  /**
   * forceRelease frees a lock for an operator: no lock-delay, an audit record with actor and
   * reason, a lockLost notice for each previous holder, and waiters granted by this same entry,
   * so the next token (this entry's index) is larger than the old one.
   */
  forceRelease(ctx: ApplyContext, name: string, reason: string, actor: string): TableResult {
    if (reason.trim().length === 0) return this.fail('InvalidArgument', 'a reason is required');
    const lock = this.locks.get(name);
    if (!lock || (lock.holders.length === 0 && lock.delayUntil <= ctx.now)) return this.fail('NotFound', `${name} is not held`);
    const previous = lock.holders;
    if (previous.length === 0) {
      // Only a lock-delay stands in the way: an operator may lift it.
      this.record(ctx, 'lock.forceRelease', { name, actor, reason, detail: { lockDelayLeftMs: lock.delayUntil - ctx.now } });
    }
    lock.holders = [];
    lock.delayUntil = 0;
    const notices: Notice[] = [];
    for (const h of previous) {
      this.bySession.get(h.sessionId)?.delete(name);
      const session = this.sessions.get(h.sessionId);
      this.record(ctx, 'lock.forceRelease', {
        name,
        sessionId: h.sessionId,
        actor,
        reason,
        token: h.token,
        detail: { mode: h.mode, heldMs: ctx.now - h.grantedAt, host: session?.info.host ?? null, pid: session?.info.pid ?? null, app: session?.info.app ?? null },
      });
      notices.push({ type: 'lockLost', sessionId: h.sessionId, name, token: h.token, reason: 'forced', actor, detail: reason });
    }
    this.grantWaiters(ctx, lock, notices);
    this.forgetIfIdle(lock);
    return { reply: { ok: true, kind: 'released', name, previous }, notices, endedSessions: [] };
  }

  /** clock runs timed work: waiters past their deadline give up, locks out of lock-delay grant. */
  clock(ctx: ApplyContext): TableResult {
    const notices: Notice[] = [];
    for (const lock of [...this.locks.values()]) {
      this.grantWaiters(ctx, lock, notices);
      this.forgetIfIdle(lock, ctx.now);
    }
    this.trimEvents(ctx.now);
    return { reply: { ok: true, kind: 'clock' }, notices, endedSessions: [] };
  }

  /** nextDeadline is the earliest replicated time at which clock() would change something. */
  nextDeadline(): number {
    let next = Infinity;
    for (const lock of this.locks.values()) {
      // A lock-delay ending matters with waiters (grant them) and without (forget the lock).
      if (lock.delayUntil > 0) next = Math.min(next, lock.delayUntil);
      for (const w of lock.waiters) next = Math.min(next, w.deadline);
    }
    return next;
  }

  setSettings(ctx: ApplyContext, patch: SettingsPatch, actor: string): TableResult {
    const merged = mergeSettings(this.settings, patch);
    if (!merged.ok) return this.fail('InvalidArgument', merged.message);
    const before = this.settings;
    this.settings = merged.settings;
    const changed: Record<string, { from: unknown; to: unknown }> = {};
    for (const key of Object.keys(patch)) changed[key] = { from: (before as unknown as Record<string, unknown>)[key], to: (merged.settings as unknown as Record<string, unknown>)[key] };
    this.record(ctx, 'settings.change', { actor, detail: changed });
    return { reply: { ok: true, kind: 'settings', settings: this.settings }, notices: [], endedSessions: [] };
  }

  // -------------------------------------------------------------------------------------------
  // Internals.

  private grant(ctx: ApplyContext, lock: LockState, w: Waiter): number {
    const token = ctx.index;
    // Shared waiters granted by one entry share that entry's index as their token.
    const sharedBatch = token === lock.lastToken && w.mode === 'shared' && lock.holders.every((h) => h.mode === 'shared');
    assert(token > lock.lastToken || sharedBatch, `fencing tokens must grow: ${token} after ${lock.lastToken} on ${lock.name}`);
    lock.holders.push({ sessionId: w.sessionId, mode: w.mode, token, grantedAt: ctx.now, lockDelayMs: w.lockDelayMs });
    lock.lastToken = token;
    this.bySession.get(w.sessionId)?.add(lock.name);
    this.record(ctx, 'lock.grant', { name: lock.name, sessionId: w.sessionId, token, detail: { mode: w.mode, waitedMs: ctx.now - w.queuedAt } });
    return token;
  }

  /** grantWaiters grants from the head of the queue, in order: FIFO and fair. */
  private grantWaiters(ctx: ApplyContext, lock: LockState, notices: Notice[]): void {
    // A waiter whose wait ran out gives up now, even if no clock entry came yet: it was
    // promised a refusal after waitMs, not a late grant it no longer expects.
    const expired = lock.waiters.filter((w) => w.deadline <= ctx.now);
    if (expired.length > 0) {
      lock.waiters = lock.waiters.filter((w) => w.deadline > ctx.now);
      for (const w of expired) {
        this.bySession.get(w.sessionId)?.delete(lock.name);
        this.record(ctx, 'lock.waitTimeout', { name: lock.name, sessionId: w.sessionId, detail: { waitedMs: ctx.now - w.queuedAt } });
        notices.push({ type: 'lockWaitTimedOut', sessionId: w.sessionId, name: lock.name });
      }
    }
    if (lock.delayUntil > ctx.now) return;
    lock.delayUntil = 0;
    while (lock.waiters.length > 0) {
      const head = lock.waiters[0] as Waiter;
      if (!this.sessions.has(head.sessionId)) {
        lock.waiters.shift();
        continue;
      }
      if (!compatible(lock, head.mode)) break;
      lock.waiters.shift();
      const token = this.grant(ctx, lock, head);
      notices.push({ type: 'lockGranted', sessionId: head.sessionId, name: lock.name, mode: head.mode, token });
    }
  }

  private forgetIfIdle(lock: LockState, now = -Infinity): void {
    if (lock.holders.length === 0 && lock.waiters.length === 0 && lock.delayUntil <= Math.max(0, now)) this.locks.delete(lock.name);
  }

  private fail(code: Extract<LockReply, { ok: false; code: 'SessionNotFound' | 'NotHolder' | 'NotFound' | 'InvalidArgument' }>['code'], message: string): TableResult {
    return { reply: { ok: false, code, message }, notices: [], endedSessions: [] };
  }

  private record(ctx: ApplyContext, kind: AuditEvent['kind'], fields: Partial<Omit<AuditEvent, 'seq' | 'time' | 'kind'>>): void {
    this.events.push({
      seq: this.nextSeq++,
      time: ctx.now,
      kind,
      name: fields.name ?? null,
      sessionId: fields.sessionId ?? null,
      actor: fields.actor ?? null,
      reason: fields.reason ?? null,
      token: fields.token ?? null,
      detail: fields.detail ?? {},
    });
    if (this.events.length > this.settings.eventRetentionCount + 1024) this.trimEvents(ctx.now);
  }

  private trimEvents(now: number): void {
    const minTime = now - this.settings.eventRetentionMs;
    let drop = Math.max(0, this.events.length - this.settings.eventRetentionCount);
    while (drop < this.events.length && (this.events[drop] as AuditEvent).time < minTime) drop++;
    if (drop > 0) this.events.splice(0, drop);
  }

  /** stuckAfterFor returns the stuck threshold for a lock name (longest matching prefix). */
  stuckAfterFor(name: string): number {
    let best = -1;
    let value = this.settings.stuckAfterMs;
    for (const [prefix, ms] of Object.entries(this.settings.stuckAfterByPrefix)) {
      if (name.startsWith(prefix) && prefix.length > best) {
        best = prefix.length;
        value = ms;
      }
    }
    return value;
  }

  snapshot(): TableSnapshot {
    return { sessions: [...this.sessions.values()], locks: [...this.locks.values()], settings: this.settings, events: [...this.events], nextSeq: this.nextSeq };
  }

  restore(snap: TableSnapshot): void {
    this.sessions.clear();
    this.locks.clear();
    this.bySession.clear();
    for (const s of snap.sessions) {
      this.sessions.set(s.id, s);
      this.bySession.set(s.id, new Set());
    }
    for (const l of snap.locks) {
      const lock: LockState = { name: l.name, holders: [...l.holders], waiters: l.waiters.map((w) => ({ ...w, deadline: w.deadline ?? Infinity })), delayUntil: l.delayUntil, lastToken: l.lastToken };
      this.locks.set(l.name, lock);
      for (const h of lock.holders) this.bySession.get(h.sessionId)?.add(l.name);
      for (const w of lock.waiters) this.bySession.get(w.sessionId)?.add(l.name);
    }
    this.settings = { ...DEFAULT_SETTINGS, ...snap.settings };
    this.events.length = 0;
    for (const e of snap.events.slice()) this.events.push(e);
    this.nextSeq = snap.nextSeq;
  }
}
