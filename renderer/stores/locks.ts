// Effectful (through services/nodeApi.ts) store, with its pure query builder exported for tests.
// The locks store pages through one connection's locks as the cluster filters and sorts them:
// it fetches the pages the virtual scroller shows, caches them, drops answers to superseded
// queries, and refetches what is on screen when the cluster says locks changed. It also holds
// the open lock's detail and the outcome of a forced release.

import { acceptHMRUpdate, defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { ApiErrorBody, ConnectionId, ForceReleaseResult, LockDetail, LockPage, LockQuery, LocksChanged } from '../../core/api/contract.ts';
import type { LockView } from '../../core/api/clientProtocol.ts';
import type { LockSort } from '../lib/locks.ts';
import { throttle } from '../lib/rateLimit.ts';
import { pagesCovering } from '../lib/virtualWindow.ts';
import { errorOf, nodeApi } from '../services/nodeApi.ts';

/** Rows per queryLocks request: a few screens, so scrolling rarely waits. */
export const LOCK_PAGE_SIZE = 200;
/** Pages kept in memory; the ones furthest from the screen go first. */
export const MAX_CACHED_PAGES = 40;
/** Refetches caused by pushes happen at most this often. */
export const LOCKS_REFRESH_MS = 1000;
/**
 * Without pushes the screen is still read again this often: ages grow and a lock turns stuck
 * with no change to the lock table, so the cluster has nothing to push.
 */
export const LOCKS_POLL_MS = 5000;

/** LockFilters are the filter bar's fields. */
export interface LockFilters {
  readonly prefix: string;
  readonly holder: string;
  readonly datacenter: string;
  readonly stuckOnly: boolean;
}

/** NO_FILTERS shows every lock. */
export const NO_FILTERS: LockFilters = { prefix: '', holder: '', datacenter: '', stuckOnly: false };
/** DEFAULT_SORT is name order, the order a prefix filter reads best in. */
export const DEFAULT_SORT: LockSort = { key: 'name', descending: false };

/** CachedPage is one fetched page, with the times its ages are relative to. */
export interface CachedPage {
  readonly locks: readonly LockView[];
  /** The cluster's clock at the query. */
  readonly now: number;
  /** This renderer's clock when the page arrived, to age the figures between refetches. */
  readonly receivedAt: number;
  /** Locks changed since this page was read; it shows until its refetch arrives. */
  readonly stale: boolean;
}

/** LockRow is one row of the table as the scroller renders it. */
export interface LockRow {
  readonly lock: LockView;
  readonly receivedAt: number;
  readonly stale: boolean;
}

/** LockDetailState is the side panel's lock. */
export interface LockDetailState {
  readonly name: string;
  readonly data: LockDetail | null;
  readonly receivedAt: number;
  readonly loading: boolean;
  readonly error: ApiErrorBody | null;
}

/** ReleaseState is the release dialog's last attempt. */
export interface ReleaseState {
  readonly name: string;
  readonly running: boolean;
  readonly result: ForceReleaseResult | null;
  readonly error: ApiErrorBody | null;
}

/**
 * lockQuery is the request for one page: empty filters are left out, so the cluster sees only
 * what narrows the listing, and the sort is always explicit.
 */
export function lockQuery(connectionId: ConnectionId, filters: LockFilters, sort: LockSort, page: number, pageSize = LOCK_PAGE_SIZE): LockQuery {
  const query: { -readonly [K in keyof LockQuery]: LockQuery[K] } = { connectionId, sort: sort.key, descending: sort.descending, offset: page * pageSize, limit: pageSize };
  if (filters.prefix !== '') query.prefix = filters.prefix;
  if (filters.holder.trim() !== '') query.holder = filters.holder.trim();
  if (filters.datacenter !== '') query.datacenter = filters.datacenter;
  if (filters.stuckOnly) query.stuckOnly = true;
  return query;
}

/**
 * useLocksStore holds one lock listing at a time (the lock view shows one connection). The total
 * and the rows come from the cluster; the store never filters or sorts itself, so 100,000 locks
 * cost the renderer only the pages on screen.
 */
export const useLocksStore = defineStore('locks', () => {
  const connectionId = ref<ConnectionId | null>(null);
  const filters = ref<LockFilters>({ ...NO_FILTERS });
  const sort = ref<LockSort>({ ...DEFAULT_SORT });
  /** Locks matching the filters; null before the first answer. */
  const total = ref<number | null>(null);
  /** Fetched pages by page number. NB: shallow, pages are replaced whole and never mutated. */
  const pages = shallowRef<Readonly<Record<number, CachedPage>>>({});
  /** Bumped on every new query, so the view scrolls back to the top. */
  const queryVersion = ref(0);
  const error = ref<ApiErrorBody | null>(null);
  /** Round trip of the last page, for the toolbar. */
  const lastQueryMs = ref<number | null>(null);
  const loadingPages = ref(0);
  const detail = ref<LockDetailState | null>(null);
  const release = ref<ReleaseState | null>(null);

  /** Rows on screen (with overscan), as the scroller last reported them. */
  let visible = { start: 0, end: 0 };
  /** Answers to older queries are dropped: the generation they were asked in is gone. */
  let generation = 0;
  let requestSeq = 0;
  /** The newest request per page; an older answer never overwrites a newer one. */
  const inFlight = new Map<number, number>();
  /** How many views show the listing; pushes refetch only while one does. */
  let watchers = 0;
  let poll: ReturnType<typeof setInterval> | null = null;

  const loading = computed(() => loadingPages.value > 0);

  /** rowAt is the row at an index, or null while its page is loading. */
  const rowAt = computed(() => {
    const cached = pages.value;
    return (index: number): LockRow | null => {
      const page = cached[Math.floor(index / LOCK_PAGE_SIZE)];
      const lock = page?.locks[index % LOCK_PAGE_SIZE];
      return page && lock ? { lock, receivedAt: page.receivedAt, stale: page.stale } : null;
    };
  });

  function evict(): void {
    const keys = Object.keys(pages.value).map(Number);
    if (keys.length <= MAX_CACHED_PAGES) return;
    const centre = (visible.start + visible.end) / 2 / LOCK_PAGE_SIZE;
    const keep = new Set(keys.sort((a, b) => Math.abs(a - centre) - Math.abs(b - centre)).slice(0, MAX_CACHED_PAGES));
    const next: Record<number, CachedPage> = {};
    for (const k of keep) next[k] = pages.value[k] as CachedPage;
    pages.value = next;
  }

  async function fetchPage(page: number, force: boolean): Promise<void> {
    const id = connectionId.value;
    if (id === null) return;
    if (!force && inFlight.has(page)) return;
    const seq = ++requestSeq;
    const gen = generation;
    inFlight.set(page, seq);
    loadingPages.value++;
    const started = performance.now();
    let answer: LockPage;
    try {
      answer = await nodeApi().queryLocks(lockQuery(id, filters.value, sort.value, page));
    } catch (err) {
      if (gen === generation && inFlight.get(page) === seq) {
        inFlight.delete(page);
        error.value = errorOf(err);
      }
      return;
    } finally {
      loadingPages.value--;
    }
    if (gen !== generation || inFlight.get(page) !== seq) return;
    inFlight.delete(page);
    error.value = null;
    lastQueryMs.value = performance.now() - started;
    total.value = answer.total;
    pages.value = { ...pages.value, [page]: { locks: answer.locks, now: answer.now, receivedAt: Date.now(), stale: false } };
    evict();
  }

  /** showRange is the scroller's report of the rows on screen: fetch the pages they need. */
  function showRange(start: number, end: number): void {
    visible = { start, end: Math.max(start, end) };
    for (const page of pagesCovering(visible.start, visible.end, LOCK_PAGE_SIZE)) {
      const cached = pages.value[page];
      if (!cached || cached.stale) void fetchPage(page, false);
    }
  }

  function newQuery(): void {
    generation++;
    inFlight.clear();
    pages.value = {};
    queryVersion.value++;
    const height = Math.max(1, visible.end - visible.start);
    showRange(0, height);
  }

  /** open points the store at a connection; another connection starts from no filters. */
  function open(id: ConnectionId): void {
    if (connectionId.value === id) {
      if (Object.keys(pages.value).length === 0) newQuery();
      return;
    }
    connectionId.value = id;
    filters.value = { ...NO_FILTERS };
    sort.value = { ...DEFAULT_SORT };
    total.value = null;
    error.value = null;
    detail.value = null;
    release.value = null;
    newQuery();
  }

  function setFilters(next: Partial<LockFilters>): void {
    const merged = { ...filters.value, ...next };
    const same = (Object.keys(merged) as (keyof LockFilters)[]).every((k) => merged[k] === filters.value[k]);
    if (same) return;
    filters.value = merged;
    newQuery();
  }

  function setSort(next: LockSort): void {
    if (next.key === sort.value.key && next.descending === sort.value.descending) return;
    sort.value = { ...next };
    newQuery();
  }

  /** refresh marks every page stale and refetches the ones on screen (and the open detail). */
  function refresh(): void {
    if (connectionId.value === null) return;
    const next: Record<number, CachedPage> = {};
    for (const [k, page] of Object.entries(pages.value)) next[Number(k)] = { ...page, stale: true };
    pages.value = next;
    const onScreen = pagesCovering(visible.start, visible.end, LOCK_PAGE_SIZE);
    for (const page of onScreen.length > 0 ? onScreen : [0]) void fetchPage(page, true);
    if (detail.value !== null) void loadDetail(detail.value.name);
  }

  const refreshSoon = throttle(refresh, LOCKS_REFRESH_MS);

  /** locksChanged is the push handler: refetch what is on screen, at most once a second. */
  function locksChanged(update: LocksChanged): void {
    if (update.connectionId !== connectionId.value || watchers === 0) return;
    refreshSoon();
  }

  /**
   * attach registers a view that shows the listing: while one does, pushes refetch the screen and
   * a slow poll keeps ages and stuck reasons current. The returned function unregisters it.
   */
  function attach(): () => void {
    watchers++;
    poll ??= setInterval(refreshSoon, LOCKS_POLL_MS);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      watchers--;
      if (watchers > 0) return;
      refreshSoon.cancel();
      if (poll !== null) clearInterval(poll);
      poll = null;
    };
  }

  async function loadDetail(name: string): Promise<void> {
    const id = connectionId.value;
    if (id === null) return;
    const previous = detail.value?.name === name ? detail.value : null;
    detail.value = { name, data: previous?.data ?? null, receivedAt: previous?.receivedAt ?? 0, loading: true, error: null };
    try {
      const data = await nodeApi().getLockDetail({ connectionId: id, name });
      if (detail.value?.name === name && connectionId.value === id) detail.value = { name, data, receivedAt: Date.now(), loading: false, error: null };
    } catch (err) {
      if (detail.value?.name === name && connectionId.value === id) detail.value = { ...detail.value, loading: false, error: errorOf(err) };
    }
  }

  function closeDetail(): void {
    detail.value = null;
  }

  /**
   * forceRelease frees a lock for an admin, with the reason the audit log records. The result
   * (who lost it, who got it, the tokens) stays in `release` for the dialog; the table and the
   * detail are read again at once, not on the next push.
   */
  async function forceRelease(name: string, reason: string): Promise<ForceReleaseResult | null> {
    const id = connectionId.value;
    if (id === null) return null;
    release.value = { name, running: true, result: null, error: null };
    try {
      const result = await nodeApi().forceRelease({ connectionId: id, name, reason: reason.trim() });
      release.value = { name, running: false, result, error: null };
      refresh();
      return result;
    } catch (err) {
      release.value = { name, running: false, result: null, error: errorOf(err) };
      return null;
    }
  }

  function clearRelease(): void {
    release.value = null;
  }

  return {
    connectionId, filters, sort, total, pages, queryVersion, error, lastQueryMs, loadingPages, detail, release,
    loading, rowAt,
    open, setFilters, setSort, showRange, refresh, locksChanged, attach, loadDetail, closeDetail, forceRelease, clearRelease,
  };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useLocksStore, import.meta.hot));
