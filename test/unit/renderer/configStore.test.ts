// Tests of stores/config.ts with a fake NodeApi: the namespace and selected key follow watch
// pushes, a compare-and-set that loses becomes a conflict with both versions (from the error, or
// read when the error lacks it), a deliberate overwrite is still compare-and-set, and settings.

import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { KvItem, WatchEvent } from '../../../core/api/clientProtocol.ts';
import { ApiRequestError, setNodeApi } from '../../../renderer/services/nodeApi.ts';
import { foldChanges, HISTORY_PER_KEY, mergeHistory, useConfigStore } from '../../../renderer/stores/config.ts';
import { fakeNodeApi } from './fixtures.ts';

const item = (key: string, value: string, revision: number, version = 1): KvItem => ({ key, value, revision, createRevision: revision - version + 1, version });
const put = (key: string, value: string, revision: number, prevValue: string | null = null): WatchEvent => ({ type: 'put', key, value, prevValue, revision });

beforeEach(() => {
  setActivePinia(createPinia());
});

afterEach(() => {
  setNodeApi(null);
});

describe('folding watch events', () => {
  it('puts insert or replace, deletes remove, old events are ignored', () => {
    const items = [item('/a', '1', 5), item('/c', 'x', 6)];
    const out = foldChanges(items, [put('/b', 'new', 7), put('/a', '2', 8), { type: 'delete', key: '/c', value: null, prevValue: 'x', revision: 9 }, put('/a', 'stale', 4)]);
    expect(out).toEqual([{ key: '/a', value: '2', revision: 8, createRevision: 5, version: 2 }, { key: '/b', value: 'new', revision: 7, createRevision: 7, version: 1 }]);
  });

  it('history merges by revision without duplicates and stays bounded', () => {
    const h = mergeHistory([put('/a', '1', 2)], [put('/a', '1', 2), put('/a', '2', 3)]);
    expect(h.map((e) => e.revision)).toEqual([2, 3]);
    const many = Array.from({ length: HISTORY_PER_KEY + 5 }, (_, i) => put('/a', String(i), i + 1));
    expect(mergeHistory([], many)).toHaveLength(HISTORY_PER_KEY);
  });
});

function api(overrides: Parameters<typeof fakeNodeApi>[0] = {}) {
  return fakeNodeApi({
    kvList: async () => ({ items: [item('/config/app/limits.json', '{"max": 5}', 10, 3), item('/config/db.url', 'pg://a', 4)], revision: 12, truncated: false }),
    getSettings: async () => ({ settings: { lockDelayMs: 10_000 } }),
    kvGet: async ({ key }) => ({ item: key === '/config/db.url' ? item('/config/db.url', 'pg://a', 4) : null, revision: 12 }),
    kvHistory: async () => ({ changes: [put('/config/db.url', 'pg://a', 4, 'pg://old')], since: 2 }),
    ...overrides,
  });
}

describe('config store', () => {
  it('opens with the key list, the tree and the settings', async () => {
    setNodeApi(api());
    const store = useConfigStore();
    await store.open('c1');
    expect(store.keyCount).toBe(2);
    expect(store.revision).toBe(12);
    expect(store.tree.map((n) => n.path)).toEqual(['/config']);
    expect(store.settings).toEqual({ lockDelayMs: 10_000 });
  });

  it('selects a key with its current item and history, then follows pushes for it', async () => {
    setNodeApi(api());
    const store = useConfigStore();
    await store.open('c1');
    await store.select('/config/db.url');
    expect(store.current).toEqual(item('/config/db.url', 'pg://a', 4));
    expect(store.history.map((e) => e.revision)).toEqual([4]);
    expect(store.historySince).toBe(2);
    store.applyChanges({ connectionId: 'c1', events: [put('/config/db.url', 'pg://b', 13, 'pg://a'), put('/other', 'x', 14)] });
    expect(store.current).toMatchObject({ value: 'pg://b', revision: 13, version: 2 });
    expect(store.history.map((e) => e.revision)).toEqual([4, 13]);
    expect(store.revision).toBe(14);
    store.applyChanges({ connectionId: 'elsewhere', events: [put('/config/db.url', 'no', 20)] });
    expect(store.current?.value).toBe('pg://b');
  });

  it('saves with compare-and-set and records the write', async () => {
    const fake = api({ kvPut: async ({ key, value }) => ({ item: item(key, value, 15, 2) }) });
    setNodeApi(fake);
    const store = useConfigStore();
    await store.open('c1');
    await store.select('/config/db.url');
    expect(await store.save('/config/db.url', 'pg://c', 4)).toEqual({ ok: true, item: item('/config/db.url', 'pg://c', 15, 2) });
    expect(fake.kvPut).toHaveBeenCalledWith({ connectionId: 'c1', key: '/config/db.url', value: 'pg://c', expectRevision: 4 });
    expect(store.lastWrite).toEqual({ key: '/config/db.url', revision: 15, deleted: false });
    expect(store.items.find((i) => i.key === '/config/db.url')?.value).toBe('pg://c');
  });

  it('turns a CasConflict into a conflict with both versions, then overwrites deliberately against theirs', async () => {
    const theirs = item('/config/db.url', 'pg://theirs', 14, 2);
    const fake = api({ kvPut: vi.fn(async () => Promise.reject(new ApiRequestError('CasConflict', 'revision is 14, not 4', theirs))) });
    setNodeApi(fake);
    const store = useConfigStore();
    await store.open('c1');
    await store.select('/config/db.url');
    expect(await store.save('/config/db.url', 'pg://mine', 4)).toEqual({ ok: false, conflict: true });
    expect(store.conflict).toEqual({ key: '/config/db.url', mine: 'pg://mine', expectedRevision: 4, theirs, message: 'revision is 14, not 4' });
    expect(store.current).toEqual(theirs);
    expect(store.saveError).toBeNull();

    vi.mocked(fake.kvPut).mockResolvedValueOnce({ item: item('/config/db.url', 'pg://mine', 15, 3) });
    expect(await store.overwrite()).toMatchObject({ ok: true });
    expect(fake.kvPut).toHaveBeenLastCalledWith({ connectionId: 'c1', key: '/config/db.url', value: 'pg://mine', expectRevision: 14 });
    expect(store.conflict).toBeNull();
  });

  it('reads the current version when a conflict error does not carry it', async () => {
    const fake = api({ kvDelete: async () => Promise.reject(new ApiRequestError('CasConflict', 'changed')) });
    setNodeApi(fake);
    const store = useConfigStore();
    await store.open('c1');
    await store.select('/config/db.url');
    expect(await store.remove('/config/db.url', 3)).toEqual({ ok: false, conflict: true });
    expect(store.conflict).toMatchObject({ mine: null, theirs: item('/config/db.url', 'pg://a', 4) });
  });

  it('keeps other write errors apart from conflicts', async () => {
    setNodeApi(api({ kvPut: async () => Promise.reject(new ApiRequestError('PermissionDenied', 'key outside the allowed prefixes')) }));
    const store = useConfigStore();
    await store.open('c1');
    expect(await store.save('/secret', 'x', 0)).toEqual({ ok: false, conflict: false });
    expect(store.saveError).toEqual({ code: 'PermissionDenied', message: 'key outside the allowed prefixes' });
    expect(store.conflict).toBeNull();
  });

  it('saves settings as a patch and keeps what the cluster answers', async () => {
    const fake = api({ setSettings: async ({ patch }) => ({ settings: { lockDelayMs: 10_000, ...patch } }) });
    setNodeApi(fake);
    const store = useConfigStore();
    await store.open('c1');
    expect(await store.saveSettings({ stuckAfterMs: 2000 })).toBe(true);
    expect(fake.setSettings).toHaveBeenCalledWith({ connectionId: 'c1', patch: { stuckAfterMs: 2000 } });
    expect(store.settings).toEqual({ lockDelayMs: 10_000, stuckAfterMs: 2000 });
    expect(store.settingsSavedAt).not.toBeNull();
  });
});
