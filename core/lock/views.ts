// Pure. Read-only views of the lock table for listings: holders with ages, client info and
// datacenter, waiters, lock-delay left, and stuck reasons, which are computed, never stored.
// `now` and the keep-alive ages come from the caller (the leader's clock and its lease keeper).
// Queries filter and sort on keys read straight from the table and build views only for the
// window asked for, so a page of a 100,000-lock table costs little more than one pass over it.

import type { LockListParams, LockSortWire, LockView, SessionView, StuckReason } from '../api/clientProtocol.ts';
import type { LockState, LockTable, Session } from './lockTable.ts';

/** KeepAliveAge answers how long ago a session renewed, or null if unknown (not the leader). */
export type KeepAliveAge = (sessionId: string) => number | null;

/** LockListOptions filter a listing (the original, name-ordered listing). */
export interface LockListOptions {
  readonly prefix?: string;
  readonly stuckOnly?: boolean;
  readonly limit?: number;
}

/** LockQueryOptions filter, sort and page a listing; see LockListParams for each field. */
export type LockQueryOptions = LockListParams;

const HELD_TOO_LONG = 1;
const HOLDER_IN_JEOPARDY = 2;
const WAITERS_STUCK = 4;

/**
 * Context is what one listing reads besides the table: the clock, memoized keep-alive ages (a
 * handful of sessions hold most locks, and the caller's lookup may not be cheap), and the
 * per-prefix stuck thresholds as an array, read once.
 */
class Context {
  readonly table: LockTable;
  readonly now: number;
  private readonly ageOf: KeepAliveAge;
  private readonly ages = new Map<string, number | null>();
  private readonly overrides: readonly (readonly [string, number])[];

  constructor(table: LockTable, now: number, ageOf: KeepAliveAge) {
    this.table = table;
    this.now = now;
    this.ageOf = ageOf;
    this.overrides = Object.entries(table.settings.stuckAfterByPrefix);
  }

  age(sessionId: string): number | null {
    let age = this.ages.get(sessionId);
    if (age === undefined) {
      age = this.ageOf(sessionId);
      this.ages.set(sessionId, age);
    }
    return age;
  }

  /** stuckAfter mirrors LockTable.stuckAfterFor (longest matching prefix) without allocating. */
  stuckAfter(name: string): number {
    let best = -1;
    let value = this.table.settings.stuckAfterMs;
    for (const [prefix, ms] of this.overrides) {
      if (prefix.length > best && name.startsWith(prefix)) {
        best = prefix.length;
        value = ms;
      }
    }
    return value;
  }

  /** stuckMask computes a lock's stuck reasons as bits, in the order reasons are listed. */
  stuckMask(lock: LockState): number {
    let mask = 0;
    const now = this.now;
    if (lock.waiters.length > 0) {
      const limit = this.stuckAfter(lock.name);
      for (const h of lock.holders) {
        if (Math.max(0, now - h.grantedAt) > limit) {
          mask |= HELD_TOO_LONG;
          break;
        }
      }
    }
    for (const h of lock.holders) {
      const age = this.age(h.sessionId);
      const ttl = this.table.sessions.get(h.sessionId)?.ttlMs;
      if (age !== null && ttl !== undefined && age > ttl / 2) {
        mask |= HOLDER_IN_JEOPARDY;
        break;
      }
    }
    const waiterLimit = this.table.settings.waiterStuckAfterMs;
    for (const w of lock.waiters) {
      if (Math.max(0, now - w.queuedAt) > waiterLimit) {
        mask |= WAITERS_STUCK;
        break;
      }
    }
    return mask;
  }
}

function reasonsOf(mask: number): StuckReason[] {
  const reasons: StuckReason[] = [];
  if (mask & HELD_TOO_LONG) reasons.push('heldTooLong');
  if (mask & HOLDER_IN_JEOPARDY) reasons.push('holderInJeopardy');
  if (mask & WAITERS_STUCK) reasons.push('waitersStuck');
  return reasons;
}

function viewOf(ctx: Context, lock: LockState, mask: number): LockView {
  const { table, now } = ctx;
  const holders = lock.holders.map((h) => {
    const session = table.sessions.get(h.sessionId);
    return {
      sessionId: h.sessionId,
      mode: h.mode,
      token: h.token,
      heldMs: Math.max(0, now - h.grantedAt),
      keepAliveAgeMs: ctx.age(h.sessionId),
      ttlMs: session?.ttlMs ?? null,
      client: session?.info ?? null,
      datacenter: session?.datacenter ?? null,
    };
  });
  const waiters = lock.waiters.map((w) => {
    const session = table.sessions.get(w.sessionId);
    return { sessionId: w.sessionId, mode: w.mode, waitingMs: Math.max(0, now - w.queuedAt), client: session?.info ?? null, datacenter: session?.datacenter ?? null };
  });
  return {
    name: lock.name,
    mode: holders[0]?.mode ?? null,
    holders,
    waiters,
    lockDelayLeftMs: Math.max(0, lock.delayUntil - now),
    lastToken: lock.lastToken,
    stuckReasons: reasonsOf(mask),
  };
}

/** popcount3 counts the reason bits, the `stuck` sort key. */
function popcount3(mask: number): number {
  return (mask & 1) + ((mask >> 1) & 1) + ((mask >> 2) & 1);
}

/**
 * sortKey reads one lock's sort key from the table. Locks without holders sort as if their age
 * and keep-alive age were below every real one (-1).
 */
function sortKey(ctx: Context, lock: LockState, sort: LockSortWire, mask: number): number {
  switch (sort) {
    case 'name':
      return 0;
    case 'mode': {
      const first = lock.holders[0];
      return first === undefined ? 0 : first.mode === 'exclusive' ? 1 : 2;
    }
    case 'token':
      return lock.lastToken;
    case 'age': {
      let oldest = -1;
      for (const h of lock.holders) oldest = Math.max(oldest, ctx.now - h.grantedAt, 0);
      return oldest;
    }
    case 'keepAlive': {
      let oldest = -1;
      for (const h of lock.holders) oldest = Math.max(oldest, ctx.age(h.sessionId) ?? -1);
      return oldest;
    }
    case 'waiters':
      return lock.waiters.length;
    case 'lockDelay':
      return Math.max(0, lock.delayUntil - ctx.now);
    case 'stuck':
      return popcount3(mask);
  }
}

/** sessionsMatching returns the sessions a filter keeps, decided once per query. */
function sessionsMatching(table: LockTable, keep: (session: Session) => boolean): Set<string> {
  const out = new Set<string>();
  for (const session of table.sessions.values()) if (keep(session)) out.add(session.id);
  return out;
}

/**
 * queryLocks lists one window of the locks that pass the filters, in the order asked for. Every
 * order breaks ties by name (ascending), so pages are stable between calls; `descending`
 * reverses the column, and for `name` the names. `total` counts every lock that passed.
 */
export function queryLocks(table: LockTable, now: number, keepAliveAge: KeepAliveAge, options: LockQueryOptions = {}): { locks: LockView[]; total: number } {
  const ctx = new Context(table, now, keepAliveAge);
  const sort = options.sort ?? 'name';
  const prefix = options.prefix ?? '';
  const stuckOnly = options.stuckOnly === true;
  const needsMask = stuckOnly || sort === 'stuck';
  // Holder filters are decided per session (there are few), then looked up per lock.
  let holderSessions: Set<string> | null = null;
  if (options.holder !== undefined && options.holder !== '') {
    const needle = options.holder.toLowerCase();
    holderSessions = sessionsMatching(
      table,
      (s) =>
        s.id.toLowerCase().includes(needle) ||
        s.info.host.toLowerCase().includes(needle) ||
        s.info.app.toLowerCase().includes(needle) ||
        s.info.label.toLowerCase().includes(needle) ||
        String(s.info.pid).includes(needle),
    );
  }
  let dcSessions: Set<string> | null = null;
  if (options.datacenter !== undefined && options.datacenter !== '') {
    const dc = options.datacenter;
    dcSessions = sessionsMatching(table, (s) => s.datacenter === dc);
  }

  const size = table.locks.size;
  const picked: LockState[] = [];
  const masks = new Int8Array(size);
  const keys = new Float64Array(size);
  let count = 0;
  for (const lock of table.locks.values()) {
    if (prefix !== '' && !lock.name.startsWith(prefix)) continue;
    if (holderSessions !== null && !anyHolderIn(lock, holderSessions)) continue;
    if (dcSessions !== null && !anyHolderIn(lock, dcSessions)) continue;
    const mask = needsMask ? ctx.stuckMask(lock) : -1;
    if (stuckOnly && mask === 0) continue;
    keys[count] = sortKey(ctx, lock, sort, mask);
    masks[count] = mask;
    picked.push(lock);
    count++;
  }
  const total = count;
  const offset = Math.max(0, Math.min(options.offset ?? 0, total));
  const end = Math.min(total, offset + Math.max(0, options.limit ?? Number.MAX_SAFE_INTEGER));
  if (offset >= end) return { locks: [], total };

  const dir = options.descending === true ? -1 : 1;
  const nameDir = sort === 'name' ? dir : 1;
  const codes = new NameCodes(picked, total);
  const compare = (a: number, b: number): number => {
    const byKey = (keys[a] as number) - (keys[b] as number);
    if (byKey !== 0) return dir * byKey;
    const byCode = codes.of(a) - codes.of(b);
    if (byCode !== 0) return byCode < 0 ? -nameDir : nameDir;
    const na = (picked[a] as LockState).name;
    const nb = (picked[b] as LockState).name;
    return na < nb ? -nameDir : na > nb ? nameDir : 0;
  };
  let order: Int32Array;
  const first = offset;
  if (end <= TOP_K_MAX) {
    order = smallestK(total, end, compare);
  } else {
    order = new Int32Array(total);
    for (let i = 0; i < total; i++) order[i] = i;
    selectWindow(order, offset, end, compare);
  }
  const locks: LockView[] = [];
  for (let i = first; i < end; i++) {
    const at = order[i] as number;
    const lock = picked[at] as LockState;
    const mask = masks[at] as number;
    locks.push(viewOf(ctx, lock, mask >= 0 ? mask : ctx.stuckMask(lock)));
  }
  return { locks, total };
}

/** Characters packed per name code: 7 of 7 bits each stay within a double's 53-bit mantissa. */
const CODE_CHARS = 7;

/**
 * NameCodes packs, for each name, the 7 characters that follow the prefix all names share into a
 * number whose order agrees with the names' (characters above 127 count as 127 and a shorter
 * name pads with 0: the mapping never inverts an order, it can only tie). Comparing names then
 * mostly compares numbers, and strings only when codes tie. The codes are made, all at once, on
 * the first tie of sort keys, so a sort whose keys never tie makes none.
 */
class NameCodes {
  private readonly locks: readonly LockState[];
  private readonly count: number;
  private codes: Float64Array | null = null;

  constructor(locks: readonly LockState[], count: number) {
    this.locks = locks;
    this.count = count;
  }

  of(index: number): number {
    return ((this.codes ?? this.make()) as Float64Array)[index] as number;
  }

  private make(): Float64Array {
    const codes = new Float64Array(this.count);
    const common = commonPrefixLength(this.locks, this.count);
    for (let n = 0; n < this.count; n++) {
      const name = (this.locks[n] as LockState).name;
      let code = 0;
      for (let i = common; i < common + CODE_CHARS; i++) {
        const c = i < name.length ? name.charCodeAt(i) : 0;
        code = code * 128 + (c > 127 ? 127 : c);
      }
      codes[n] = code;
    }
    this.codes = codes;
    return codes;
  }
}

function commonPrefixLength(locks: readonly LockState[], count: number): number {
  if (count === 0) return 0;
  const first = (locks[0] as LockState).name;
  let common = first.length;
  for (let n = 1; n < count && common > 0; n++) {
    const name = (locks[n] as LockState).name;
    let i = 0;
    while (i < common && i < name.length && name.charCodeAt(i) === first.charCodeAt(i)) i++;
    common = i;
  }
  return common;
}

function anyHolderIn(lock: LockState, sessions: ReadonlySet<string>): boolean {
  for (const h of lock.holders) if (sessions.has(h.sessionId)) return true;
  return false;
}

/** Windows ending this early are picked with a bounded heap rather than a partial quicksort. */
const TOP_K_MAX = 4096;

/**
 * smallestK returns the k smallest of the elements 0..n-1 under `compare`, sorted: one pass with
 * a max-heap of k, so most elements cost a single comparison with the heap's top (the first
 * page of a listing, the common case, is about n comparisons).
 */
export function smallestK(n: number, k: number, compare: (a: number, b: number) => number): Int32Array {
  const size = Math.min(n, k);
  const heap = new Int32Array(size);
  if (size === 0) return heap;
  const siftDown = (start: number): void => {
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) return;
      const r = l + 1;
      const big = r < size && compare(heap[r] as number, heap[l] as number) > 0 ? r : l;
      if (compare(heap[big] as number, heap[i] as number) <= 0) return;
      const t = heap[i] as number;
      heap[i] = heap[big] as number;
      heap[big] = t;
      i = big;
    }
  };
  // NB: the table's order often follows a sort key (tokens and ages grow with insertion), and
  // in key order nearly every element would enter the heap. Visiting the elements along a
  // golden-ratio stride, coprime with n, spreads any such run over the whole pass.
  const stride = coprimeStride(n);
  let e = 0;
  for (let i = 0; i < size; i++) {
    heap[i] = e;
    e = (e + stride) % n;
  }
  for (let i = (size >> 1) - 1; i >= 0; i--) siftDown(i);
  for (let i = size; i < n; i++) {
    if (compare(e, heap[0] as number) < 0) {
      heap[0] = e;
      siftDown(0);
    }
    e = (e + stride) % n;
  }
  return Int32Array.from(Array.from(heap).sort(compare));
}

function coprimeStride(n: number): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  let stride = Math.max(1, Math.round(n * 0.6180339887));
  while (gcd(stride, n) !== 1) stride++;
  return stride;
}

/** Segments this short are finished by insertion sort. */
const SMALL = 16;

/**
 * selectWindow reorders `order` so that positions [from, to) hold, sorted, exactly the elements
 * a full sort would put there: a quicksort that never descends into a part wholly outside the
 * window, O(n + k log k) on average for a window of k. `compare` must be a strict total order
 * (the name tie-break makes it one). Pivots are the median of three; a segment that recurses too
 * deep is finished with the built-in sort, so adversarial keys cannot make it quadratic.
 */
export function selectWindow(order: Int32Array, from: number, to: number, compare: (a: number, b: number) => number): void {
  if (order.length < 2 || from >= to) return;
  const depthLimit = 2 * Math.ceil(Math.log2(order.length + 1)) + 8;
  const visit = (left: number, right: number, depth: number): void => {
    while (right - left >= SMALL) {
      if (right < from || left >= to) return;
      if (depth++ > depthLimit) {
        const sorted = Array.from(order.subarray(left, right + 1)).sort(compare);
        order.set(sorted, left);
        return;
      }
      const mid = left + ((right - left) >> 1);
      const pivot = medianOf3(order[left] as number, order[mid] as number, order[right] as number, compare);
      let i = left;
      let j = right;
      while (i <= j) {
        while (compare(order[i] as number, pivot) < 0) i++;
        while (compare(order[j] as number, pivot) > 0) j--;
        if (i <= j) {
          const t = order[i] as number;
          order[i] = order[j] as number;
          order[j] = t;
          i++;
          j--;
        }
      }
      // [left, j] precede the pivot, [i, right] follow it; recurse into the smaller side.
      if (j - left < right - i) {
        if (j >= from && left < to) visit(left, j, depth);
        left = i;
      } else {
        if (right >= from && i < to) visit(i, right, depth);
        right = j;
      }
    }
    if (right < from || left >= to) return;
    for (let k = left + 1; k <= right; k++) {
      const v = order[k] as number;
      let m = k - 1;
      while (m >= left && compare(order[m] as number, v) > 0) {
        order[m + 1] = order[m] as number;
        m--;
      }
      order[m + 1] = v;
    }
  };
  visit(0, order.length - 1, 0);
}

function medianOf3(a: number, b: number, c: number, compare: (x: number, y: number) => number): number {
  if (compare(a, b) < 0) {
    if (compare(b, c) < 0) return b;
    return compare(a, c) < 0 ? c : a;
  }
  if (compare(a, c) < 0) return a;
  return compare(b, c) < 0 ? c : b;
}

/** lockViews lists locks in name order with their stuck reasons (the first `limit` of them). */
export function lockViews(table: LockTable, now: number, keepAliveAge: KeepAliveAge, options: LockListOptions = {}): { locks: LockView[]; total: number } {
  return queryLocks(table, now, keepAliveAge, {
    ...(options.prefix ? { prefix: options.prefix } : {}),
    ...(options.stuckOnly ? { stuckOnly: true } : {}),
    ...(options.limit !== undefined ? { limit: options.limit } : {}),
  });
}

/** SessionListOptions narrow a session listing. */
export interface SessionListOptions {
  /** Only these sessions (the lock detail view asks for a lock's holders and waiters). */
  readonly ids?: readonly string[];
  /** At most this many entries in each session's `locks` and `waiting`; the counts stay whole. */
  readonly locksLimit?: number;
}

/** sessionViews lists sessions with keep-alive age, jeopardy and the locks they hold or wait for. */
export function sessionViews(table: LockTable, keepAliveAge: KeepAliveAge, options: SessionListOptions = {}): SessionView[] {
  const wanted = options.ids === undefined ? null : new Set(options.ids);
  const cap = options.locksLimit ?? Number.MAX_SAFE_INTEGER;
  const held = new Map<string, { name: string; token: number; mode: 'exclusive' | 'shared' }[]>();
  const waiting = new Map<string, string[]>();
  const heldCount = new Map<string, number>();
  const waitingCount = new Map<string, number>();
  for (const lock of table.locks.values()) {
    for (const h of lock.holders) {
      if (wanted !== null && !wanted.has(h.sessionId)) continue;
      heldCount.set(h.sessionId, (heldCount.get(h.sessionId) ?? 0) + 1);
      let list = held.get(h.sessionId);
      if (list === undefined) {
        list = [];
        held.set(h.sessionId, list);
      }
      if (list.length < cap) list.push({ name: lock.name, token: h.token, mode: h.mode });
    }
    for (const w of lock.waiters) {
      if (wanted !== null && !wanted.has(w.sessionId)) continue;
      waitingCount.set(w.sessionId, (waitingCount.get(w.sessionId) ?? 0) + 1);
      let list = waiting.get(w.sessionId);
      if (list === undefined) {
        list = [];
        waiting.set(w.sessionId, list);
      }
      if (list.length < cap) list.push(lock.name);
    }
  }
  return [...table.sessions.values()]
    .filter((s) => wanted === null || wanted.has(s.id))
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((s) => {
      const age = keepAliveAge(s.id);
      return {
        id: s.id,
        ttlMs: s.ttlMs,
        info: s.info,
        openedAt: s.openedAt,
        datacenter: s.datacenter ?? null,
        keepAliveAgeMs: age,
        jeopardy: age !== null && age > s.ttlMs / 2,
        locks: held.get(s.id) ?? [],
        waiting: waiting.get(s.id) ?? [],
        lockCount: heldCount.get(s.id) ?? 0,
        waitingCount: waitingCount.get(s.id) ?? 0,
      };
    });
}
