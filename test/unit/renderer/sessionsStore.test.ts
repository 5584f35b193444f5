// Tests of stores/sessions.ts with a fake NodeApi: sessions in jeopardy first, the text filter,
// reloads on lock pushes while a view is attached, and closing a session with a reason.

import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiRequestError, setNodeApi } from '../../../renderer/services/nodeApi.ts';
import { sessionMatches, SESSIONS_REFRESH_MS, useSessionsStore } from '../../../renderer/stores/sessions.ts';
import { fakeNodeApi, sessionView } from './fixtures.ts';

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

beforeEach(() => {
  setActivePinia(createPinia());
});

afterEach(() => {
  setNodeApi(null);
  vi.useRealTimers();
});

const list = [
  sessionView('s1', { locks: [{ name: 'a', token: 3, mode: 'exclusive' }], lockCount: 1 }),
  sessionView('s2', { jeopardy: true, keepAliveAgeMs: 7_000 }),
  sessionView('s3', { locks: [{ name: 'b', token: 4, mode: 'shared' }, { name: 'c', token: 5, mode: 'shared' }], lockCount: 2, datacenter: 'dc-c', info: { host: 'h9', pid: 12, app: 'search', label: '' } }),
];

describe('sessions store', () => {
  it('lists sessions in jeopardy first, then by locks held', async () => {
    setNodeApi(fakeNodeApi({ listSessions: async () => ({ sessions: list, now: 5 }) }));
    const store = useSessionsStore();
    await store.open('c1');
    expect(store.sorted.map((s) => s.id)).toEqual(['s2', 's3', 's1']);
    expect(store.inJeopardy).toBe(1);
    expect(store.now).toBe(5);
  });

  it('filters by id, host, app, label, pid or datacenter', () => {
    const s3 = list[2] as (typeof list)[number];
    for (const needle of ['s3', 'H9', 'search', '12', 'dc-c']) expect(sessionMatches(s3, needle)).toBe(true);
    expect(sessionMatches(s3, 'billing')).toBe(false);
    expect(sessionMatches(s3, '  ')).toBe(true);
  });

  it('reloads on lock pushes for its connection, throttled, while attached', async () => {
    vi.useFakeTimers();
    const api = fakeNodeApi({ listSessions: async () => ({ sessions: list, now: 5 }) });
    setNodeApi(api);
    const store = useSessionsStore();
    await store.open('c1');
    const detach = store.attach();
    store.locksChanged({ connectionId: 'c1', at: 1 });
    store.locksChanged({ connectionId: 'c1', at: 2 });
    store.locksChanged({ connectionId: 'c2', at: 2 });
    await flush();
    expect(api.listSessions).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(SESSIONS_REFRESH_MS);
    await flush();
    expect(api.listSessions).toHaveBeenCalledTimes(3);
    detach();
  });

  it('closes a session with the trimmed reason and reads the list again; a refusal keeps its code', async () => {
    const api = fakeNodeApi({ listSessions: async () => ({ sessions: list, now: 5 }), closeSession: async () => null });
    setNodeApi(api);
    const store = useSessionsStore();
    await store.open('c1');
    expect(await store.close('s2', ' host-7 is gone ')).toBe(true);
    expect(api.closeSession).toHaveBeenCalledWith({ connectionId: 'c1', sessionId: 's2', reason: 'host-7 is gone' });
    expect(store.closing).toEqual({ sessionId: 's2', running: false, done: true, error: null });
    expect(api.listSessions).toHaveBeenCalledTimes(2);

    vi.mocked(api.closeSession).mockRejectedValueOnce(new ApiRequestError('ReadOnly', 'this connection is read-only'));
    expect(await store.close('s1', 'x')).toBe(false);
    expect(store.closing?.error).toEqual({ code: 'ReadOnly', message: 'this connection is read-only' });
  });
});
