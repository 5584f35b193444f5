// Component tests of EventsView and MetricsView with real store actions against a fake NodeApi:
// events newest first with forced releases and settings changes standing out, searches sent to
// the cluster; metrics charts built from the kept samples and pushes (the chart component is
// stubbed: ECharts needs a real canvas, checked in Chromium).

import { flushPromises, type VueWrapper } from '@vue/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { setNodeApi } from '../../../renderer/services/nodeApi.ts';
import type { ChartSpec } from '../../../renderer/lib/metricsSeries.ts';
import { inWindow, leaderChanges, metricCharts } from '../../../renderer/lib/metricsSeries.ts';
import { EVENT_LIMIT } from '../../../renderer/stores/events.ts';
import { useMetricsStore } from '../../../renderer/stores/metrics.ts';
import EventsView from '../../../renderer/views/EventsView.vue';
import MetricsView from '../../../renderer/views/MetricsView.vue';
import { auditEvent, connection, fakeNodeApi, sample, type FakeNodeApi } from './fixtures.ts';
import { mountWithStores } from './mountHelpers.ts';

const byId = (id: string): string => `[data-testid="${id}"]`;
const mounted: VueWrapper[] = [];
const open = connection({ id: 'c1', state: 'open', role: 'admin' });

afterEach(() => {
  while (mounted.length > 0) mounted.pop()?.unmount();
  setNodeApi(null);
  vi.useRealTimers();
});

async function mountView(view: typeof EventsView | typeof MetricsView, api: FakeNodeApi, route: string, stubs: Record<string, unknown> = {}) {
  setNodeApi(api);
  const { wrapper } = await mountWithStores(view, { connections: [open] }, { route, props: { id: 'c1' }, realActions: true, stubs });
  mounted.push(wrapper as VueWrapper);
  await flushPromises();
  return wrapper;
}

describe('EventsView', () => {
  const events = [
    auditEvent(1, 'lock.grant', { token: 41 }),
    auditEvent(4, 'settings.change', { name: null, actor: 'admin', detail: { stuckAfterMs: 2000 } }),
    auditEvent(3, 'lock.forceRelease', { actor: 'admin', reason: 'INC-4211: worker hung', token: 41 }),
    auditEvent(2, 'lock.queue'),
  ];

  it('lists events newest first; forced releases and settings changes stand out with a badge', async () => {
    const wrapper = await mountView(EventsView, fakeNodeApi({ listEvents: async () => ({ events }) }), '/clusters/c1/events');
    const rows = wrapper.findAll(byId('event-row'));
    expect(rows.map((r) => r.attributes('data-kind'))).toEqual(['settings.change', 'lock.forceRelease', 'lock.queue', 'lock.grant']);
    expect(rows.map((r) => r.attributes('data-notable'))).toEqual(['settings', 'forced', 'none', 'none']);
    expect(rows[1]?.classes()).toContain('notable');
    expect(rows[1]?.get(byId('event-badge')).text()).toBe('forced release');
    expect(rows[1]?.text()).toContain('INC-4211: worker hung');
    expect(rows[1]?.text()).toContain('admin');
    expect(rows[0]?.get(byId('event-badge')).text()).toBe('settings change');
    expect(rows[2]?.find(byId('event-badge')).exists()).toBe(false);
    expect(wrapper.get(byId('events-notable-count')).text()).toContain('2');
  });

  it('sends the search text, kind, name, actor and time range to the cluster', async () => {
    const api = fakeNodeApi({ listEvents: async () => ({ events }) });
    const wrapper = await mountView(EventsView, api, '/clusters/c1/events');
    vi.useFakeTimers();
    await wrapper.get(byId('events-filter-text')).setValue('INC-4211');
    await flushPromises();
    expect(api.listEvents).toHaveBeenLastCalledWith({ connectionId: 'c1', limit: EVENT_LIMIT, text: 'INC-4211' });
    vi.advanceTimersByTime(300);
    await wrapper.get(byId('events-filter-kind')).setValue('lock.forceRelease');
    await flushPromises();
    expect(api.listEvents).toHaveBeenLastCalledWith({ connectionId: 'c1', limit: EVENT_LIMIT, text: 'INC-4211', kind: 'lock.forceRelease' });
    await wrapper.get(byId('events-filter-actor')).setValue('admin');
    vi.advanceTimersByTime(300);
    await flushPromises();
    await wrapper.get(byId('events-filter-name')).setValue('billing/ledger');
    vi.advanceTimersByTime(300);
    await flushPromises();
    await wrapper.get(byId('events-filter-since')).setValue('2023-11-14T22:00');
    await wrapper.get(byId('events-filter-since')).trigger('change');
    await flushPromises();
    const last = vi.mocked(api.listEvents).mock.calls.at(-1)?.[0];
    expect(last).toMatchObject({ text: 'INC-4211', kind: 'lock.forceRelease', actor: 'admin', name: 'billing/ledger', since: new Date('2023-11-14T22:00').getTime() });
  });
});

describe('metrics series', () => {
  it('cuts the window, marks leader changes, and builds one RTT line per datacenter pair', () => {
    const samples = [
      sample(0, { rttMsByDatacenterPair: { 'dc-a|dc-b': 60 } }),
      sample(60_000, { rttMsByDatacenterPair: { 'dc-a|dc-b': 61, 'dc-a|dc-c': 90 } }),
      sample(120_000, { leaderChanges: 2, elections: 2, leaderId: 'n3', term: 3 }),
    ];
    expect(inWindow(samples, 60_000).map((s) => s.at)).toEqual([60_000, 120_000]);
    expect(leaderChanges(samples)).toEqual([{ at: 120_000, label: 'n3 leads (term 3)' }]);
    const charts = metricCharts(samples);
    expect(charts.map((c) => c.id)).toEqual(['proposals', 'latency', 'locks', 'elections', 'rtt']);
    const rtt = charts.find((c) => c.id === 'rtt');
    expect(rtt?.series.map((s) => s.name)).toEqual(['dc-a ↔ dc-b', 'dc-a ↔ dc-c']);
    expect(rtt?.series[1]?.points).toEqual([[0, null], [60_000, 90], [120_000, null]]);
    expect(charts.find((c) => c.id === 'elections')?.series.every((s) => s.step)).toBe(true);
  });
});

describe('MetricsView', () => {
  const ChartStub = { name: 'MetricsChart', props: ['spec'], template: '<div class="chart-stub" :data-series="spec.series.length" />' };

  it('draws the five charts from the kept samples and follows pushes', async () => {
    const api = fakeNodeApi({ getMetrics: async () => ({ samples: [sample(1_000), sample(2_000)] }) });
    const wrapper = await mountView(MetricsView, api, '/clusters/c1/metrics', { MetricsChart: ChartStub });
    for (const id of ['proposals', 'latency', 'locks', 'elections', 'rtt']) expect(wrapper.find(byId(`metrics-chart-${id}`)).exists()).toBe(true);
    expect(wrapper.get(byId('metrics-samples')).text()).toBe('2 samples');
    const specOf = (id: string): ChartSpec => wrapper.findAllComponents(ChartStub).map((c) => c.props('spec') as ChartSpec).find((s) => s.id === id) as ChartSpec;
    expect(specOf('latency').series.map((s) => s.name)).toEqual(['p50', 'p99']);
    useMetricsStore().append({ connectionId: 'c1', sample: sample(3_000, { proposalsPerSec: 42, leaderChanges: 2, leaderId: 'n2' }) });
    await flushPromises();
    expect(wrapper.get(byId('metrics-samples')).text()).toBe('3 samples');
    expect(specOf('proposals').series[0]?.points.at(-1)).toEqual([3_000, 42]);
    expect(specOf('elections').series[1]?.markers).toEqual([{ at: 3_000, label: 'n2 leads (term 2)' }]);
    expect(wrapper.get(byId('metrics-now-proposals')).text()).toContain('42.0 /s');
  });

  it('says when there are no samples yet', async () => {
    const wrapper = await mountView(MetricsView, fakeNodeApi({ getMetrics: async () => ({ samples: [] }) }), '/clusters/c1/metrics', { MetricsChart: ChartStub });
    expect(wrapper.get(byId('metrics-empty')).text()).toContain('No samples yet');
    expect(wrapper.find(byId('metrics-chart-proposals')).exists()).toBe(false);
  });
});
