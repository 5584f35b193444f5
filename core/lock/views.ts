// Pure. Read-only views of the lock table for listings: holders with ages and client info,
// waiters, lock-delay left, and stuck reasons, which are computed, never stored. `now` and the
// keep-alive ages come from the caller (the leader's clock and its lease keeper).

import type { LockView, SessionView, StuckReason } from '../api/clientProtocol.ts';
import type { LockTable } from './lockTable.ts';

/** KeepAliveAge answers how long ago a session renewed, or null if unknown (not the leader). */
export type KeepAliveAge = (sessionId: string) => number | null;

/** LockListOptions filter a listing. */
export interface LockListOptions {
  readonly prefix?: string;
  readonly stuckOnly?: boolean;
  readonly limit?: number;
}

/** lockViews lists locks in name order with their stuck reasons. */
export function lockViews(table: LockTable, now: number, keepAliveAge: KeepAliveAge, options: LockListOptions = {}): { locks: LockView[]; total: number } {
  const out: LockView[] = [];
  let total = 0;
  const names = [...table.locks.keys()].filter((n) => !options.prefix || n.startsWith(options.prefix)).sort();
  for (const name of names) {
    const lock = table.locks.get(name);
    if (!lock) continue;
    const holders = lock.holders.map((h) => {
      const session = table.sessions.get(h.sessionId);
      return {
        sessionId: h.sessionId,
        mode: h.mode,
        token: h.token,
        heldMs: Math.max(0, now - h.grantedAt),
        keepAliveAgeMs: keepAliveAge(h.sessionId),
        ttlMs: session?.ttlMs ?? null,
        client: session?.info ?? null,
      };
    });
    const waiters = lock.waiters.map((w) => ({ sessionId: w.sessionId, mode: w.mode, waitingMs: Math.max(0, now - w.queuedAt), client: table.sessions.get(w.sessionId)?.info ?? null }));
    const reasons: StuckReason[] = [];
    if (waiters.length > 0 && holders.some((h) => h.heldMs > table.stuckAfterFor(name))) reasons.push('heldTooLong');
    if (holders.some((h) => h.keepAliveAgeMs !== null && h.ttlMs !== null && h.keepAliveAgeMs > h.ttlMs / 2)) reasons.push('holderInJeopardy');
    if (waiters.some((w) => w.waitingMs > table.settings.waiterStuckAfterMs)) reasons.push('waitersStuck');
    if (options.stuckOnly && reasons.length === 0) continue;
    total++;
    if (out.length >= (options.limit ?? Number.MAX_SAFE_INTEGER)) continue;
    out.push({
      name,
      mode: holders[0]?.mode ?? null,
      holders,
      waiters,
      lockDelayLeftMs: Math.max(0, lock.delayUntil - now),
      lastToken: lock.lastToken,
      stuckReasons: reasons,
    });
  }
  return { locks: out, total };
}

/** sessionViews lists sessions with keep-alive age, jeopardy and the locks they hold or wait for. */
export function sessionViews(table: LockTable, keepAliveAge: KeepAliveAge): SessionView[] {
  const held = new Map<string, { name: string; token: number; mode: 'exclusive' | 'shared' }[]>();
  const waiting = new Map<string, string[]>();
  for (const lock of table.locks.values()) {
    for (const h of lock.holders) held.set(h.sessionId, [...(held.get(h.sessionId) ?? []), { name: lock.name, token: h.token, mode: h.mode }]);
    for (const w of lock.waiters) waiting.set(w.sessionId, [...(waiting.get(w.sessionId) ?? []), lock.name]);
  }
  return [...table.sessions.values()]
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((s) => {
      const age = keepAliveAge(s.id);
      return { id: s.id, ttlMs: s.ttlMs, info: s.info, openedAt: s.openedAt, keepAliveAgeMs: age, jeopardy: age !== null && age > s.ttlMs / 2, locks: held.get(s.id) ?? [], waiting: waiting.get(s.id) ?? [] };
    });
}
