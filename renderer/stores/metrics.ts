// Effectful (through services/nodeApi.ts) store, with its pure merge exported for tests. The
// metrics store keeps each open connection's samples (the backend's history first, then one push
// per scrape), in time order and capped, for the metrics charts.

import { acceptHMRUpdate, defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type { ApiErrorBody, ConnectionId, MetricsSample, MetricsUpdate } from '../../core/api/contract.ts';
import { errorOf, nodeApi } from '../services/nodeApi.ts';

/** Samples kept per connection: an hour at one scrape a second. */
export const MAX_SAMPLES = 3600;

/** mergeSamples merges samples by time (a later copy of the same instant wins) and keeps the newest `cap`. */
export function mergeSamples(existing: readonly MetricsSample[], incoming: readonly MetricsSample[], cap = MAX_SAMPLES): MetricsSample[] {
  const last = existing[existing.length - 1];
  // NB: the common case, one push newer than everything, must not re-sort an hour of samples.
  if (incoming.length === 1 && (last === undefined || (incoming[0] as MetricsSample).at > last.at)) {
    const next = existing.length >= cap ? existing.slice(existing.length - cap + 1) : [...existing];
    next.push(incoming[0] as MetricsSample);
    return next;
  }
  const byAt = new Map<number, MetricsSample>();
  for (const s of existing) byAt.set(s.at, s);
  for (const s of incoming) byAt.set(s.at, s);
  return [...byAt.values()].sort((a, b) => a.at - b.at).slice(-cap);
}

/** useMetricsStore holds samples per connection. */
export const useMetricsStore = defineStore('metrics', () => {
  /** NB: shallow; each connection's array is replaced on change, never mutated in place. */
  const samples = shallowRef<Readonly<Record<ConnectionId, readonly MetricsSample[]>>>({});
  const loading = ref<Record<ConnectionId, boolean>>({});
  const errors = ref<Record<ConnectionId, ApiErrorBody>>({});

  function put(id: ConnectionId, next: readonly MetricsSample[]): void {
    samples.value = { ...samples.value, [id]: next };
  }

  /** load reads the backend's kept samples and merges them with pushes that arrived meanwhile. */
  async function load(id: ConnectionId): Promise<void> {
    loading.value[id] = true;
    try {
      const answer = await nodeApi().getMetrics({ connectionId: id });
      put(id, mergeSamples(samples.value[id] ?? [], answer.samples));
      delete errors.value[id];
    } catch (err) {
      errors.value[id] = errorOf(err);
    } finally {
      delete loading.value[id];
    }
  }

  /** append is the push handler: one new sample per scrape. */
  function append(update: MetricsUpdate): void {
    put(update.connectionId, mergeSamples(samples.value[update.connectionId] ?? [], [update.sample]));
  }

  /** forget drops a connection's samples. */
  function forget(id: ConnectionId): void {
    const next = { ...samples.value };
    delete next[id];
    samples.value = next;
  }

  return { samples, loading, errors, load, append, forget };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useMetricsStore, import.meta.hot));
