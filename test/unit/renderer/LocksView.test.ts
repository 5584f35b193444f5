// Component tests of LocksView with real store actions against a fake NodeApi: a virtual window
// of 100,000 locks, filters and sort sent to the cluster as queryLocks, the waiter queue, and the
// forced-release dialog (reason and confirmation required, disabled for read-only connections
// and non-admin tokens, result and errors shown).

import { flushPromises, type VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConnectionSummary, LockQuery } from '../../../core/api/contract.ts';
import { ApiRequestError, setNodeApi } from '../../../renderer/services/nodeApi.ts';
import { LOCK_ROW_PX } from '../../../renderer/lib/locks.ts';
import LocksView from '../../../renderer/views/LocksView.vue';
import { connection, fakeNodeApi, lockPages, lockView, sessionView, topologyFixture, update, type FakeNodeApi } from './fixtures.ts';
import { mountWithStores } from './mountHelpers.ts';

const byId = (id: string): string => `[data-testid="${id}"]`;
const admin = connection({ id: 'c1', name: 'prod', state: 'open', role: 'admin' });
let mounted: VueWrapper[] = [];

beforeEach(() => {
  mounted = [];
});

afterEach(() => {
  for (const w of mounted) w.unmount();
  setNodeApi(null);
  vi.useRealTimers();
});

async function mountLocks(api: FakeNodeApi, conn: ConnectionSummary = admin, name?: string) {
  setNodeApi(api);
  const route = name ? `/clusters/${conn.id}/locks/${encodeURIComponent(name)}` : `/clusters/${conn.id}/locks`;
  const { wrapper, router } = await mountWithStores(
    LocksView,
    { connections: [conn], topologies: { [conn.id]: { update: update(conn.id, topologyFixture()), lastGood: topologyFixture() } } },
    { route, props: name ? { id: conn.id, name } : { id: conn.id }, realActions: true },
  );
  mounted.push(wrapper as VueWrapper);
  await flushPromises();
  return { wrapper, router };
}

function lastQuery(api: FakeNodeApi): LockQuery {
  return vi.mocked(api.queryLocks).mock.calls.at(-1)?.[0] as LockQuery;
}

describe('LocksView: the table', () => {
  it('renders only a window of 100,000 locks, in a spacer as tall as all of them', async () => {
    const api = fakeNodeApi({ queryLocks: lockPages(100_000) });
    const { wrapper } = await mountLocks(api);
    const rows = wrapper.findAll(byId('lock-row'));
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.length).toBeLessThan(60);
    expect(rows[0]?.attributes('data-name')).toBe('svc/000000');
    expect(wrapper.get(byId('locks-total')).text()).toBe('100,000 locks');
    expect(wrapper.get(byId('locks-total')).attributes('data-total')).toBe('100000');
    const spacer = wrapper.get('.spacer');
    expect(spacer.attributes('style')).toContain(`height: ${100_000 * LOCK_ROW_PX}px`);
    expect(vi.mocked(api.queryLocks)).toHaveBeenCalledTimes(1);
    expect(lastQuery(api)).toEqual({ connectionId: 'c1', sort: 'name', descending: false, offset: 0, limit: 200 });
  });

  it('shows holder, client, datacenter, token, ages, waiters and stuck reasons of a row', async () => {
    const api = fakeNodeApi({ queryLocks: async () => ({ locks: [lockView('billing/ledger')], total: 1, offset: 0, now: 1 }) });
    const { wrapper } = await mountLocks(api);
    const row = wrapper.get(byId('lock-row'));
    expect(row.attributes('data-stuck')).toBe('true');
    const text = row.text();
    for (const part of ['billing/ledger', 'exclusive', 's1', 'billing-worker (w1) on host-7, pid 4242', 'dc-a', '41', '6m 40s']) expect(text).toContain(part);
    expect(row.get(byId('lock-stuck')).attributes('data-reasons')).toBe('heldTooLong');
    expect(row.get('[data-reason="heldTooLong"]').attributes('title')).toMatch(/held longer than the stuck threshold/);
    await row.get(byId('lock-waiters-toggle')).trigger('click');
    const queue = wrapper.get(byId('lock-waiters'));
    expect(queue.get(byId('lock-waiter')).attributes('data-session')).toBe('s2');
    expect(queue.text()).toContain('waiting 1m 35s');
    expect(queue.text()).toContain('dc-b');
  });

  it('sends each filter to the cluster in queryLocks', async () => {
    const api = fakeNodeApi({ queryLocks: lockPages(500) });
    const { wrapper } = await mountLocks(api);
    vi.useFakeTimers();
    await wrapper.get(byId('locks-filter-prefix')).setValue('billing/');
    await flushPromises();
    expect(lastQuery(api)).toEqual({ connectionId: 'c1', prefix: 'billing/', sort: 'name', descending: false, offset: 0, limit: 200 });
    vi.advanceTimersByTime(500);
    await wrapper.get(byId('locks-filter-holder')).setValue('host-7');
    await flushPromises();
    expect(lastQuery(api)).toMatchObject({ prefix: 'billing/', holder: 'host-7' });
    const dcOptions = wrapper.get(byId('locks-filter-datacenter')).findAll('option').map((o) => o.attributes('value'));
    expect(dcOptions).toEqual(['', 'dc-a', 'dc-b', 'dc-c']);
    await wrapper.get(byId('locks-filter-datacenter')).setValue('dc-b');
    await flushPromises();
    expect(lastQuery(api)).toMatchObject({ datacenter: 'dc-b' });
    await wrapper.get(byId('locks-filter-stuck')).setValue(true);
    await flushPromises();
    expect(lastQuery(api)).toEqual({ connectionId: 'c1', prefix: 'billing/', holder: 'host-7', datacenter: 'dc-b', stuckOnly: true, sort: 'name', descending: false, offset: 0, limit: 200 });
    await wrapper.get(byId('locks-filter-clear')).trigger('click');
    await flushPromises();
    expect(lastQuery(api)).toEqual({ connectionId: 'c1', sort: 'name', descending: false, offset: 0, limit: 200 });
  });

  it('answers a keystroke at once, and coalesces typing while the cluster is still answering (150 ms)', async () => {
    const answer = lockPages(500);
    const held: (() => void)[] = [];
    let hold = false;
    const api = fakeNodeApi({
      queryLocks: (q) => (hold ? new Promise((resolve) => held.push(() => void answer(q).then(resolve))) : answer(q)),
    });
    const { wrapper } = await mountLocks(api);
    vi.useFakeTimers();
    hold = true;
    const input = wrapper.get(byId('locks-filter-prefix'));
    const before = vi.mocked(api.queryLocks).mock.calls.length;
    const prefixes = () => vi.mocked(api.queryLocks).mock.calls.slice(before).map(([q]) => q.prefix);
    await input.setValue('s');
    await input.setValue('sv');
    await input.setValue('svc');
    await flushPromises();
    expect(prefixes()).toEqual(['s']);
    vi.advanceTimersByTime(150);
    await flushPromises();
    expect(prefixes()).toEqual(['s', 'svc']);
    hold = false;
    for (const release of held.splice(0)) release();
    await flushPromises();
    await input.setValue('svc/');
    await flushPromises();
    expect(prefixes()).toEqual(['s', 'svc', 'svc/']);
  });

  it('sorts by a clicked column on the cluster, with aria-sort on its header', async () => {
    const api = fakeNodeApi({ queryLocks: lockPages(500) });
    const { wrapper } = await mountLocks(api);
    expect(wrapper.get(byId('locks-sort-name')).attributes('aria-sort')).toBe('ascending');
    await wrapper.get(byId('locks-sort-token')).trigger('click');
    await flushPromises();
    expect(lastQuery(api)).toMatchObject({ sort: 'token', descending: true, offset: 0 });
    expect(wrapper.get(byId('locks-sort-token')).attributes('aria-sort')).toBe('descending');
    expect(wrapper.get(byId('locks-sort-name')).attributes('aria-sort')).toBe('none');
    await wrapper.get(byId('locks-sort-token')).trigger('click');
    await flushPromises();
    expect(lastQuery(api)).toMatchObject({ sort: 'token', descending: false });
    for (const key of ['mode', 'age', 'keepAlive', 'waiters', 'lockDelay', 'stuck']) {
      await wrapper.get(byId(`locks-sort-${key}`)).trigger('click');
      await flushPromises();
      expect(lastQuery(api).sort).toBe(key);
    }
  });

  it('says why it cannot list (code and message)', async () => {
    const api = fakeNodeApi({ queryLocks: async () => Promise.reject(new ApiRequestError('Unavailable', 'no leader elected')) });
    const { wrapper } = await mountLocks(api);
    expect(wrapper.get(byId('locks-error')).attributes('data-code')).toBe('Unavailable');
    expect(wrapper.get(byId('locks-error')).text()).toContain('no leader elected');
  });

  it('does not ask a closed connection, and says it is closed', async () => {
    const api = fakeNodeApi({ queryLocks: lockPages(5) });
    const { wrapper } = await mountLocks(api, connection({ id: 'c1', state: 'closed', role: 'admin' }));
    expect(api.queryLocks).not.toHaveBeenCalled();
    expect(wrapper.get(byId('locks-closed')).text()).toContain('closed');
  });
});

describe('LocksView: detail and forced release', () => {
  const held = lockView('billing/ledger');
  const detail = { lock: held, sessions: [sessionView('s1', { jeopardy: true, locks: [{ name: 'billing/ledger', token: 41, mode: 'exclusive' }, { name: 'billing/audit', token: 39, mode: 'exclusive' }], lockCount: 2 }), sessionView('s2')], events: [], now: 1 };

  function releaseApi(overrides: Parameters<typeof fakeNodeApi>[0] = {}) {
    return fakeNodeApi({
      queryLocks: async () => ({ locks: [held], total: 1, offset: 0, now: 1 }),
      getLockDetail: async () => detail,
      forceRelease: async () => ({ previous: [{ sessionId: 's1', token: 41 }], next: [{ sessionId: 's2', token: 57 }], lock: lockView('billing/ledger', { lastToken: 57 }) }),
      ...overrides,
    });
  }

  it('shows the holder session, its other locks, jeopardy and the waiters', async () => {
    const { wrapper } = await mountLocks(releaseApi(), admin, 'billing/ledger');
    const panel = wrapper.get(byId('lock-detail'));
    expect(panel.attributes('data-name')).toBe('billing/ledger');
    const holder = panel.get(byId('lock-holder'));
    expect(holder.attributes('data-session')).toBe('s1');
    expect(holder.find(byId('lock-holder-jeopardy')).exists()).toBe(true);
    expect(holder.text()).toContain('billing/audit');
    expect(holder.text()).toContain('10.0 s');
    expect(panel.get(byId('lock-detail-waiter')).attributes('data-session')).toBe('s2');
  });

  it('requires a reason and a confirmation, then shows the new holder and token', async () => {
    const api = releaseApi();
    const { wrapper } = await mountLocks(api, admin, 'billing/ledger');
    await wrapper.get(byId('lock-release')).trigger('click');
    const dialog = wrapper.get(byId('release-dialog'));
    const effects = dialog.get(byId('release-effects')).text();
    expect(effects).toContain('lockLost');
    expect(effects).toContain('token above 41');
    expect(effects).toContain('No lock-delay');
    expect(effects).toMatch(/first waiter gets it.*s2/s);
    const submit = () => wrapper.get(byId('release-submit'));
    expect(submit().attributes('disabled')).toBeDefined();
    await wrapper.get(byId('release-reason')).setValue('   ');
    await wrapper.get(byId('release-confirm')).setValue(true);
    expect(submit().attributes('disabled')).toBeDefined();
    await wrapper.get(byId('release-confirm')).setValue(false);
    await wrapper.get(byId('release-reason')).setValue('INC-4211: worker hung');
    expect(submit().attributes('disabled')).toBeDefined();
    await wrapper.get(byId('release-confirm')).setValue(true);
    expect(submit().attributes('disabled')).toBeUndefined();
    await submit().trigger('click');
    await flushPromises();
    expect(api.forceRelease).toHaveBeenCalledWith({ connectionId: 'c1', name: 'billing/ledger', reason: 'INC-4211: worker hung' });
    const result = wrapper.get(byId('release-result'));
    expect(result.get(byId('release-previous')).text()).toContain('s1');
    expect(result.get(byId('release-previous')).text()).toContain('41');
    expect(result.get(byId('release-next')).text()).toContain('s2');
    expect(result.get(byId('release-next-token')).text()).toBe('57');
    expect(wrapper.find(byId('release-submit')).exists()).toBe(false);
  });

  it('shows a refused release with its code', async () => {
    const api = releaseApi({ forceRelease: async () => Promise.reject(new ApiRequestError('NotFound', 'lock billing/ledger has no holder')) });
    const { wrapper } = await mountLocks(api, admin, 'billing/ledger');
    await wrapper.get(byId('lock-release')).trigger('click');
    await wrapper.get(byId('release-reason')).setValue('x');
    await wrapper.get(byId('release-confirm')).setValue(true);
    await wrapper.get(byId('release-submit')).trigger('click');
    await flushPromises();
    expect(wrapper.get(byId('release-error')).attributes('data-code')).toBe('NotFound');
    expect(wrapper.find(byId('release-result')).exists()).toBe(false);
  });

  it('is disabled, with the reason as tooltip, on a read-only connection', async () => {
    const { wrapper } = await mountLocks(releaseApi(), connection({ id: 'c1', state: 'open', role: 'admin', readOnly: true }), 'billing/ledger');
    const button = wrapper.get(byId('lock-release'));
    expect(button.attributes('disabled')).toBeDefined();
    expect(button.attributes('title')).toBe('read-only connection: forced release is disabled');
    expect(wrapper.get(byId('lock-row-release')).attributes('disabled')).toBeDefined();
    expect(wrapper.get(byId('lock-row-release')).attributes('title')).toMatch(/read-only/);
  });

  it('is disabled, with the reason as tooltip, for a non-admin token', async () => {
    const { wrapper } = await mountLocks(releaseApi(), connection({ id: 'c1', state: 'open', role: 'client' }), 'billing/ledger');
    const button = wrapper.get(byId('lock-release'));
    expect(button.attributes('disabled')).toBeDefined();
    expect(button.attributes('title')).toMatch(/client role; forced release needs an admin token/);
    expect(wrapper.get(byId('lock-release-why')).text()).toMatch(/admin token/);
  });

  it('opens the dialog from a row and routes to the lock', async () => {
    const { wrapper, router } = await mountLocks(releaseApi());
    await wrapper.get(byId('lock-row-release')).trigger('click');
    await flushPromises();
    expect(router.currentRoute.value.name).toBe('locks');
    expect(router.currentRoute.value.params.name).toBe('billing/ledger');
    expect(wrapper.find(byId('release-dialog')).exists()).toBe(true);
    await wrapper.get(byId('release-close')).trigger('click');
    expect(wrapper.find(byId('release-dialog')).exists()).toBe(false);
  });
});
