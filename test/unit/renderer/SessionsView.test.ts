// Component tests of SessionsView with real store actions against a fake NodeApi: jeopardy
// highlighted and first, client, datacenter and locks shown, and closing a session (admin,
// reason and confirmation required; disabled on read-only connections).

import { flushPromises, type VueWrapper } from '@vue/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectionSummary } from '../../../core/api/contract.ts';
import { setNodeApi } from '../../../renderer/services/nodeApi.ts';
import SessionsView from '../../../renderer/views/SessionsView.vue';
import { connection, fakeNodeApi, sessionView, type FakeNodeApi } from './fixtures.ts';
import { mountWithStores } from './mountHelpers.ts';

const byId = (id: string): string => `[data-testid="${id}"]`;
const mounted: VueWrapper[] = [];

afterEach(() => {
  while (mounted.length > 0) mounted.pop()?.unmount();
  setNodeApi(null);
});

function sessionsApi(): FakeNodeApi {
  return fakeNodeApi({
    listSessions: async () => ({
      sessions: [
        sessionView('s1', { locks: [{ name: 'billing/ledger', token: 41, mode: 'exclusive' }], lockCount: 1 }),
        sessionView('s2', { jeopardy: true, keepAliveAgeMs: 7_000, datacenter: 'dc-b', info: { host: 'host-9', pid: 77, app: 'search', label: '' } }),
      ],
      now: 1,
    }),
    closeSession: async () => null,
  });
}

async function mountSessions(api: FakeNodeApi, conn: ConnectionSummary = connection({ id: 'c1', state: 'open', role: 'admin' })) {
  setNodeApi(api);
  const { wrapper } = await mountWithStores(SessionsView, { connections: [conn] }, { route: '/clusters/c1/sessions', props: { id: 'c1' }, realActions: true });
  mounted.push(wrapper as VueWrapper);
  await flushPromises();
  return wrapper;
}

describe('SessionsView', () => {
  it('lists sessions with jeopardy highlighted and first', async () => {
    const wrapper = await mountSessions(sessionsApi());
    const rows = wrapper.findAll(byId('session-row'));
    expect(rows.map((r) => r.attributes('data-id'))).toEqual(['s2', 's1']);
    expect(rows[0]?.attributes('data-jeopardy')).toBe('true');
    expect(rows[0]?.classes()).toContain('jeopardy');
    expect(rows[0]?.find(byId('session-jeopardy')).exists()).toBe(true);
    expect(rows[0]?.text()).toContain('search on host-9, pid 77');
    expect(rows[0]?.text()).toContain('dc-b');
    expect(rows[0]?.text()).toContain('7.0 s ago');
    expect(rows[1]?.get(byId('session-locks')).text()).toContain('billing/ledger');
    expect(wrapper.get(byId('sessions-jeopardy-count')).text()).toBe('1 in jeopardy');
    await wrapper.get(byId('sessions-filter')).setValue('billing');
    expect(wrapper.findAll(byId('session-row')).map((r) => r.attributes('data-id'))).toEqual(['s1']);
  });

  it('closes a session only with a reason and a confirmation', async () => {
    const api = sessionsApi();
    const wrapper = await mountSessions(api);
    await wrapper.findAll(byId('session-close'))[0]?.trigger('click');
    const submit = () => wrapper.get(byId('session-close-submit'));
    expect(wrapper.get(byId('session-close-dialog')).text()).toContain('released at once');
    expect(submit().attributes('disabled')).toBeDefined();
    await wrapper.get(byId('session-close-reason')).setValue('host-9 was decommissioned');
    expect(submit().attributes('disabled')).toBeDefined();
    await wrapper.get(byId('session-close-confirm')).setValue(true);
    expect(submit().attributes('disabled')).toBeUndefined();
    await submit().trigger('click');
    await flushPromises();
    expect(api.closeSession).toHaveBeenCalledWith({ connectionId: 'c1', sessionId: 's2', reason: 'host-9 was decommissioned' });
    expect(wrapper.find(byId('session-close-result')).exists()).toBe(true);
  });

  it('disables closing on a read-only connection and for a reader token, saying why', async () => {
    let wrapper = await mountSessions(sessionsApi(), connection({ id: 'c1', state: 'open', role: 'admin', readOnly: true }));
    expect(wrapper.findAll(byId('session-close'))[0]?.attributes('disabled')).toBeDefined();
    expect(wrapper.findAll(byId('session-close'))[0]?.attributes('title')).toMatch(/read-only/);
    wrapper = await mountSessions(sessionsApi(), connection({ id: 'c1', state: 'open', role: 'reader' }));
    expect(wrapper.findAll(byId('session-close'))[0]?.attributes('title')).toMatch(/reader role.*admin token/);
  });
});
