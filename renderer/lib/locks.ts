// Pure. What the lock views say about a lock: stuck reasons in words, sort columns with their
// natural first direction, and whether an action may run on a connection, and if not, why.

import type { ConnectionSummary, LockSortKey } from '../../core/api/contract.ts';
import type { LockView, StuckReason } from '../../core/api/clientProtocol.ts';

/** STUCK_LABELS are the badges' short texts. */
export const STUCK_LABELS: Readonly<Record<StuckReason, string>> = {
  heldTooLong: 'held long',
  holderInJeopardy: 'jeopardy',
  waitersStuck: 'queue stuck',
};

/** STUCK_EXPLANATIONS are the badges' tooltips: what the reason means and what to check. */
export const STUCK_EXPLANATIONS: Readonly<Record<StuckReason, string>> = {
  heldTooLong: 'held longer than the stuck threshold while others wait; the holder may be hung while its session keeps renewing',
  holderInJeopardy: 'the holder has not sent a keep-alive for over half its TTL; it may have died, and its lease may lapse soon',
  waitersStuck: 'a waiter has been queued longer than the waiter threshold',
};

/** LockColumn is one column of the lock table; sortable columns carry their sort key. */
export interface LockColumn {
  readonly id: string;
  readonly label: string;
  readonly sort: LockSortKey | null;
  /** First click sorts descending: the biggest age, token or queue is the interesting end. */
  readonly descendingFirst: boolean;
}

/** LOCK_COLUMNS lays out the lock table, left to right. */
export const LOCK_COLUMNS: readonly LockColumn[] = [
  { id: 'name', label: 'Name', sort: 'name', descendingFirst: false },
  { id: 'mode', label: 'Mode', sort: 'mode', descendingFirst: false },
  { id: 'holders', label: 'Holders (session, client, datacenter)', sort: null, descendingFirst: false },
  { id: 'token', label: 'Token', sort: 'token', descendingFirst: true },
  { id: 'age', label: 'Age', sort: 'age', descendingFirst: true },
  { id: 'keepAlive', label: 'Keep-alive', sort: 'keepAlive', descendingFirst: true },
  { id: 'waiters', label: 'Waiters', sort: 'waiters', descendingFirst: true },
  { id: 'lockDelay', label: 'Lock-delay', sort: 'lockDelay', descendingFirst: true },
  { id: 'stuck', label: 'Stuck', sort: 'stuck', descendingFirst: true },
];

/** LockSort is the table's order. */
export interface LockSort {
  readonly key: LockSortKey;
  readonly descending: boolean;
}

/** nextSort is the order after a click on a column: the same column flips, another starts at its natural end. */
export function nextSort(current: LockSort, key: LockSortKey): LockSort {
  if (current.key === key) return { key, descending: !current.descending };
  const column = LOCK_COLUMNS.find((c) => c.sort === key);
  return { key, descending: column?.descendingFirst ?? false };
}

/** ariaSort is a column header's aria-sort value under the current order. */
export function ariaSort(current: LockSort, key: LockSortKey | null): 'ascending' | 'descending' | 'none' {
  if (key === null || current.key !== key) return 'none';
  return current.descending ? 'descending' : 'ascending';
}

/** WriteKind is what an action needs from the token: any write, or an admin's. */
export type WriteKind = 'write' | 'admin';

/**
 * actionBlockedReason says why an action cannot run on a connection, in the words of a tooltip,
 * or null when it can. Read-only connections refuse every write; forced release, closing another
 * process's session and settings need an admin token; a reader token writes nothing.
 */
export function actionBlockedReason(connection: ConnectionSummary | null, backendReachable: boolean, kind: WriteKind, what: string): string | null {
  if (connection === null) return 'unknown connection';
  if (connection.readOnly) return `read-only connection: ${what} is disabled`;
  if (!backendReachable) return 'the console backend is not reachable';
  if (connection.state !== 'open') return 'the connection is not open';
  if (connection.role === null) return `the token's role is not known yet; ${what} needs ${kind === 'admin' ? 'an admin' : 'a client or admin'} token`;
  if (kind === 'admin' && connection.role !== 'admin') return `this connection's token has the ${connection.role} role; ${what} needs an admin token`;
  if (kind === 'write' && connection.role === 'reader') return `this connection's token has the reader role; ${what} needs a client or admin token`;
  return null;
}

/** LOCK_ROW_PX is the lock table's fixed row height; the scroller's arithmetic depends on it. */
export const LOCK_ROW_PX = 34;
/** Waiters listed in an expanded row before its queue scrolls. */
export const WAITERS_SHOWN = 8;
const WAITER_LINE_PX = 22;
const WAITER_PANEL_CHROME_PX = 30;

/** waiterPanelPx is the exact height of an expanded row's waiter queue, which the scroller adds. */
export function waiterPanelPx(waiters: number): number {
  return WAITER_PANEL_CHROME_PX + Math.min(Math.max(waiters, 1), WAITERS_SHOWN) * WAITER_LINE_PX;
}

/** LockFigures are a row's times, aged by the time since its page arrived. */
export interface LockFigures {
  readonly token: number | null;
  readonly heldMs: number | null;
  readonly keepAliveAgeMs: number | null;
  /** The largest keep-alive age as a share of its TTL (1 = the lease may lapse now). */
  readonly keepAliveShare: number | null;
  readonly lockDelayLeftMs: number;
}

/** lockFigures derives a row's figures from its LockView and the time since it was read. */
export function lockFigures(lock: LockView, elapsedMs: number): LockFigures {
  const elapsed = Math.max(0, elapsedMs);
  let token: number | null = null;
  let heldMs: number | null = null;
  let keepAliveAgeMs: number | null = null;
  let keepAliveShare: number | null = null;
  for (const h of lock.holders) {
    token = Math.max(token ?? 0, h.token);
    heldMs = Math.max(heldMs ?? 0, h.heldMs + elapsed);
    if (h.keepAliveAgeMs !== null) {
      const age = h.keepAliveAgeMs + elapsed;
      keepAliveAgeMs = Math.max(keepAliveAgeMs ?? 0, age);
      if (h.ttlMs !== null && h.ttlMs > 0) keepAliveShare = Math.max(keepAliveShare ?? 0, age / h.ttlMs);
    }
  }
  return { token, heldMs, keepAliveAgeMs, keepAliveShare, lockDelayLeftMs: Math.max(0, lock.lockDelayLeftMs - elapsed) };
}
