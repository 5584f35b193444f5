// Tests of stores/locks.ts with a fake NodeApi: the query sent for filters and sort, paging by
// the rows on screen with a page cache, answers to superseded queries dropped, push-driven
// refetches throttled, and forced release with its result and errors.

import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LockPage, LockQuery } from '../../../core/api/contract.ts';
import { ApiRequestError, setNodeApi } from '../../../renderer/services/nodeApi.ts';
import { LOCK_PAGE_SIZE, lockQuery, LOCKS_REFRESH_MS, MAX_CACHED_PAGES, NO_FILTERS, useLocksStore } from '../../../renderer/stores/locks.ts';
import { fakeNodeApi, lockPages, lockView, type FakeNodeApi } from './fixtures.ts';

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

function queries(api: FakeNodeApi): LockQuery[] {
  return vi.mocked(api.queryLocks).mock.calls.map(([q]) => q);
}

beforeEach(() => {
  setActivePinia(createPinia());
});

afterEach(() => {
  setNodeApi(null);
  vi.useRealTimers();
});

describe('lockQuery', () => {
  it('leaves out empty filters and always names the sort', () => {
    expect(lockQuery('c1', NO_FILTERS, { key: 'name', descending: false }, 0)).toEqual({ connectionId: 'c1', sort: 'name', descending: false, offset: 0, limit: LOCK_PAGE_SIZE });
    expect(lockQuery('c1', { prefix: 'billing/', holder: '  host-7 ', datacenter: 'dc-b', stuckOnly: true }, { key: 'token', descending: true }, 3)).toEqual({
      connectionId: 'c1',
      prefix: 'billing/',
      holder: 'host-7',
      datacenter: 'dc-b',
      stuckOnly: true,
      sort: 'token',
      descending: true,
      offset: 3 * LOCK_PAGE_SIZE,
      limit: LOCK_PAGE_SIZE,
    });
  });
});

describe('paging', () => {
  it('fetches the first page on open and the pages the screen needs, once each', async () => {
    const api = fakeNodeApi({ queryLocks: lockPages(100_000) });
    setNodeApi(api);
    const store = useLocksStore();
    store.open('c1');
    await flush();
    expect(queries(api)).toHaveLength(1);
    expect(store.total).toBe(100_000);
    expect(store.rowAt(0)?.lock.name).toBe('svc/000000');
    expect(store.rowAt(LOCK_PAGE_SIZE)).toBeNull();

    store.showRange(0, 40);
    await flush();
    expect(queries(api)).toHaveLength(1);
    store.showRange(50_180, 50_230);
    await flush();
    expect(queries(api).slice(1).map((q) => q.offset)).toEqual([50_000 / LOCK_PAGE_SIZE, 50_200 / LOCK_PAGE_SIZE].map((p) => p * LOCK_PAGE_SIZE));
    expect(store.rowAt(50_199)?.lock.name).toBe('svc/050199');
    expect(store.rowAt(50_200)?.lock.name).toBe('svc/050200');
  });

  it('keeps a bounded page cache, dropping the pages furthest from the screen', async () => {
    const api = fakeNodeApi({ queryLocks: lockPages(100_000) });
    setNodeApi(api);
    const store = useLocksStore();
    store.open('c1');
    for (let p = 0; p < MAX_CACHED_PAGES + 10; p++) {
      store.showRange(p * LOCK_PAGE_SIZE, p * LOCK_PAGE_SIZE + 30);
      await flush();
    }
    expect(Object.keys(store.pages).length).toBeLessThanOrEqual(MAX_CACHED_PAGES);
    expect(store.rowAt(0)).toBeNull();
    expect(store.rowAt((MAX_CACHED_PAGES + 9) * LOCK_PAGE_SIZE)).not.toBeNull();
  });

  it('a new filter or sort starts over from the top with the new query', async () => {
    const api = fakeNodeApi({ queryLocks: lockPages(1000) });
    setNodeApi(api);
    const store = useLocksStore();
    store.open('c1');
    await flush();
    const version = store.queryVersion;
    store.setFilters({ prefix: 'svc/0001', stuckOnly: true });
    await flush();
    expect(queries(api).at(-1)).toEqual({ connectionId: 'c1', prefix: 'svc/0001', stuckOnly: true, sort: 'name', descending: false, offset: 0, limit: LOCK_PAGE_SIZE });
    expect(store.queryVersion).toBe(version + 1);
    store.setSort({ key: 'age', descending: true });
    await flush();
    expect(queries(api).at(-1)).toMatchObject({ sort: 'age', descending: true, prefix: 'svc/0001', offset: 0 });
    const calls = queries(api).length;
    store.setFilters({ prefix: 'svc/0001' });
    store.setSort({ key: 'age', descending: true });
    await flush();
    expect(queries(api)).toHaveLength(calls);
  });

  it('drops the answer to a superseded query, even when it arrives last', async () => {
    const pending: ((page: LockPage) => void)[] = [];
    const api = fakeNodeApi({ queryLocks: () => new Promise<LockPage>((resolve) => pending.push(resolve)) });
    setNodeApi(api);
    const store = useLocksStore();
    store.open('c1');
    store.setFilters({ prefix: 'billing/' });
    expect(pending).toHaveLength(2);
    pending[1]?.({ locks: [lockView('billing/a')], total: 1, offset: 0, now: 1 });
    await flush();
    pending[0]?.({ locks: [lockView('zzz/old')], total: 99, offset: 0, now: 1 });
    await flush();
    expect(store.total).toBe(1);
    expect(store.rowAt(0)?.lock.name).toBe('billing/a');
  });

  it('keeps the error of a failed page with its code, and clears it on the next answer', async () => {
    let fail = true;
    const api = fakeNodeApi({
      queryLocks: async (q) => {
        if (fail) throw new ApiRequestError('Unavailable', 'no leader');
        return lockPages(10)(q);
      },
    });
    setNodeApi(api);
    const store = useLocksStore();
    store.open('c1');
    await flush();
    expect(store.error).toEqual({ code: 'Unavailable', message: 'no leader' });
    fail = false;
    store.refresh();
    await flush();
    expect(store.error).toBeNull();
    expect(store.total).toBe(10);
  });
});

describe('live updates', () => {
  it('refetches the pages on screen when locks change, at most once a second, only while a view is attached', async () => {
    vi.useFakeTimers();
    const api = fakeNodeApi({ queryLocks: lockPages(1000) });
    setNodeApi(api);
    const store = useLocksStore();
    store.open('c1');
    store.showRange(190, 230);
    await flush();
    const before = queries(api).length;

    store.locksChanged({ connectionId: 'c1', at: 1 });
    await flush();
    expect(queries(api)).toHaveLength(before);

    const detach = store.attach();
    store.locksChanged({ connectionId: 'other', at: 1 });
    await flush();
    expect(queries(api)).toHaveLength(before);
    for (let i = 0; i < 5; i++) store.locksChanged({ connectionId: 'c1', at: i });
    await flush();
    expect(queries(api).slice(before).map((q) => q.offset)).toEqual([0, LOCK_PAGE_SIZE]);
    expect(store.pages[0]?.stale).toBe(false);
    vi.advanceTimersByTime(LOCKS_REFRESH_MS);
    await flush();
    expect(queries(api)).toHaveLength(before + 4);
    detach();
    store.locksChanged({ connectionId: 'c1', at: 9 });
    vi.advanceTimersByTime(10 * LOCKS_REFRESH_MS);
    await flush();
    expect(queries(api)).toHaveLength(before + 4);
  });
});

describe('detail and forced release', () => {
  it('loads a lock detail and drops it when another lock is asked for', async () => {
    const api = fakeNodeApi({
      queryLocks: lockPages(1),
      getLockDetail: async ({ name }) => ({ lock: lockView(name), sessions: [], events: [], now: 1 }),
    });
    setNodeApi(api);
    const store = useLocksStore();
    store.open('c1');
    await store.loadDetail('billing/ledger');
    expect(store.detail).toMatchObject({ name: 'billing/ledger', loading: false, error: null });
    expect(store.detail?.data?.lock?.name).toBe('billing/ledger');
  });

  it('force-releases with the trimmed reason, keeps the result and reads the table again', async () => {
    const result = { previous: [{ sessionId: 's1', token: 41 }], next: [{ sessionId: 's2', token: 57 }], lock: lockView('billing/ledger') };
    const api = fakeNodeApi({ queryLocks: lockPages(3), forceRelease: async () => result, getLockDetail: async () => ({ lock: null, sessions: [], events: [], now: 1 }) });
    setNodeApi(api);
    const store = useLocksStore();
    store.open('c1');
    await flush();
    const before = queries(api).length;
    expect(await store.forceRelease('billing/ledger', '  INC-1: worker hung  ')).toEqual(result);
    expect(api.forceRelease).toHaveBeenCalledWith({ connectionId: 'c1', name: 'billing/ledger', reason: 'INC-1: worker hung' });
    expect(store.release).toEqual({ name: 'billing/ledger', running: false, result, error: null });
    await flush();
    expect(queries(api).length).toBeGreaterThan(before);
  });

  it('keeps a refused release with its code', async () => {
    const api = fakeNodeApi({ queryLocks: lockPages(3), forceRelease: async () => Promise.reject(new ApiRequestError('PermissionDenied', 'forceRelease needs an admin token')) });
    setNodeApi(api);
    const store = useLocksStore();
    store.open('c1');
    expect(await store.forceRelease('a', 'why')).toBeNull();
    expect(store.release?.error).toEqual({ code: 'PermissionDenied', message: 'forceRelease needs an admin token' });
  });
});
