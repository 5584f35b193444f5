// Tests of stores/events.ts and stores/metrics.ts with a fake NodeApi: the event query from the
// filters, newest first, which events stand out; metrics history merged with pushes, in time
// order and capped.

import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MetricsSample } from '../../../core/api/contract.ts';
import { setNodeApi } from '../../../renderer/services/nodeApi.ts';
import { EVENT_LIMIT, eventQuery, NO_EVENT_FILTERS, notability, useEventsStore } from '../../../renderer/stores/events.ts';
import { MAX_SAMPLES, mergeSamples, useMetricsStore } from '../../../renderer/stores/metrics.ts';
import { auditEvent, fakeNodeApi, sample } from './fixtures.ts';

beforeEach(() => {
  setActivePinia(createPinia());
});

afterEach(() => {
  setNodeApi(null);
});

describe('events store', () => {
  it('builds the query from the filters, leaving blanks out', () => {
    expect(eventQuery('c1', NO_EVENT_FILTERS)).toEqual({ connectionId: 'c1', limit: EVENT_LIMIT });
    expect(eventQuery('c1', { text: ' INC-1 ', kind: 'lock.forceRelease', name: '', actor: 'admin', since: 5, until: 9 })).toEqual({
      connectionId: 'c1',
      limit: EVENT_LIMIT,
      text: 'INC-1',
      kind: 'lock.forceRelease',
      actor: 'admin',
      since: 5,
      until: 9,
    });
  });

  it('shows events newest first and searches with merged filters', async () => {
    const api = fakeNodeApi({ listEvents: async () => ({ events: [auditEvent(1, 'lock.grant'), auditEvent(3, 'lock.forceRelease', { actor: 'admin', reason: 'hung' }), auditEvent(2, 'lock.queue')] }) });
    setNodeApi(api);
    const store = useEventsStore();
    await store.open('c1');
    expect(store.events.map((e) => e.seq)).toEqual([3, 2, 1]);
    expect(store.notableCount).toBe(1);
    await store.search({ kind: 'lock.forceRelease' });
    await store.search({ text: 'hung' });
    expect(api.listEvents).toHaveBeenLastCalledWith({ connectionId: 'c1', limit: EVENT_LIMIT, kind: 'lock.forceRelease', text: 'hung' });
  });

  it('marks forced releases, settings changes and admin closes', () => {
    expect(notability(auditEvent(1, 'lock.forceRelease'))).toBe('forced');
    expect(notability(auditEvent(1, 'settings.change'))).toBe('settings');
    expect(notability(auditEvent(1, 'session.close', { actor: 'admin', reason: 'gone' }))).toBe('adminClose');
    expect(notability(auditEvent(1, 'session.close'))).toBeNull();
    expect(notability(auditEvent(1, 'lock.grant'))).toBeNull();
  });
});

describe('metrics store', () => {
  it('appends pushes after the loaded history, in time order, without duplicates', async () => {
    setNodeApi(fakeNodeApi({ getMetrics: async () => ({ samples: [sample(1000), sample(2000)] }) }));
    const store = useMetricsStore();
    store.append({ connectionId: 'c1', sample: sample(3000) });
    await store.load('c1');
    expect(store.samples.c1?.map((s) => s.at)).toEqual([1000, 2000, 3000]);
    store.append({ connectionId: 'c1', sample: sample(4000) });
    store.append({ connectionId: 'c1', sample: sample(4000, { proposalsPerSec: 99 }) });
    expect(store.samples.c1?.map((s) => s.at)).toEqual([1000, 2000, 3000, 4000]);
    expect(store.samples.c1?.at(-1)?.proposalsPerSec).toBe(99);
    expect(store.samples.c2).toBeUndefined();
  });

  it('caps the history, dropping the oldest samples', () => {
    let samples: MetricsSample[] = [];
    for (let i = 0; i < MAX_SAMPLES + 25; i++) samples = mergeSamples(samples, [sample(i * 1000)]);
    expect(samples).toHaveLength(MAX_SAMPLES);
    expect(samples[0]?.at).toBe(25_000);
    expect(mergeSamples([sample(5), sample(9)], [sample(1), sample(7)], 3).map((s) => s.at)).toEqual([5, 7, 9]);
  });

  it('keeps a load error per connection', async () => {
    setNodeApi(fakeNodeApi());
    const store = useMetricsStore();
    await store.load('c1');
    expect(store.errors.c1?.code).toBe('Internal');
  });
});
