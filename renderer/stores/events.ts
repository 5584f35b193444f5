// Effectful (through services/nodeApi.ts) store, with its pure helpers exported for tests. The
// events store searches one connection's event and audit log (free text, kind, name, actor, time
// range; the cluster filters) and says which events an operator must not miss.

import { acceptHMRUpdate, defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { ApiErrorBody, ConnectionId, EventQuery, LocksChanged } from '../../core/api/contract.ts';
import type { AuditEventView } from '../../core/api/clientProtocol.ts';
import { throttle } from '../lib/rateLimit.ts';
import { errorOf, nodeApi } from '../services/nodeApi.ts';

/** Events fetched per search; the newest are kept. */
export const EVENT_LIMIT = 500;
/** Reloads caused by pushes happen at most this often. */
export const EVENTS_REFRESH_MS = 2000;

/** EVENT_KINDS are the kinds the cluster records, for the kind filter. */
export const EVENT_KINDS: readonly string[] = [
  'lock.forceRelease',
  'settings.change',
  'lock.grant',
  'lock.queue',
  'lock.release',
  'lock.waitTimeout',
  'lock.expireRelease',
  'session.open',
  'session.close',
  'session.expire',
];

/** EventFilters are the filter bar's fields; times are ms since the epoch, null for open-ended. */
export interface EventFilters {
  readonly text: string;
  readonly kind: string;
  readonly name: string;
  readonly actor: string;
  readonly since: number | null;
  readonly until: number | null;
}

/** NO_EVENT_FILTERS shows the latest events of every kind. */
export const NO_EVENT_FILTERS: EventFilters = { text: '', kind: '', name: '', actor: '', since: null, until: null };

/** Notability is why an event stands out: an operator overrode the cluster. */
export type Notability = 'forced' | 'settings' | 'adminClose' | null;

/** notability marks forced releases, settings changes and sessions closed by someone else. */
export function notability(event: AuditEventView): Notability {
  if (event.kind === 'lock.forceRelease') return 'forced';
  if (event.kind === 'settings.change') return 'settings';
  if (event.kind === 'session.close' && event.actor !== null && event.reason !== null) return 'adminClose';
  return null;
}

/** NOTABLE_LABELS are the badges of notable events. */
export const NOTABLE_LABELS: Readonly<Record<Exclude<Notability, null>, string>> = {
  forced: 'forced release',
  settings: 'settings change',
  adminClose: 'closed by admin',
};

/** eventQuery builds the request: blank fields are left out, text fields trimmed. */
export function eventQuery(connectionId: ConnectionId, filters: EventFilters, limit = EVENT_LIMIT): EventQuery {
  const query: { -readonly [K in keyof EventQuery]: EventQuery[K] } = { connectionId, limit };
  for (const field of ['text', 'kind', 'name', 'actor'] as const) {
    const value = filters[field].trim();
    if (value !== '') query[field] = value;
  }
  if (filters.since !== null) query.since = filters.since;
  if (filters.until !== null) query.until = filters.until;
  return query;
}

/** newestFirst orders events by time, then by sequence, newest on top. */
export function newestFirst(events: readonly AuditEventView[]): AuditEventView[] {
  return [...events].sort((a, b) => b.time - a.time || b.seq - a.seq);
}

/** useEventsStore holds one connection's event search (the view shows one at a time). */
export const useEventsStore = defineStore('events', () => {
  const connectionId = ref<ConnectionId | null>(null);
  const filters = ref<EventFilters>({ ...NO_EVENT_FILTERS });
  const events = ref<AuditEventView[]>([]);
  const loading = ref(false);
  const error = ref<ApiErrorBody | null>(null);
  const loadedAt = ref<number | null>(null);
  let seq = 0;
  let watchers = 0;

  const notableCount = computed(() => events.value.filter((e) => notability(e) !== null).length);
  const limited = computed(() => events.value.length >= EVENT_LIMIT);

  async function load(): Promise<void> {
    const id = connectionId.value;
    if (id === null) return;
    const mine = ++seq;
    loading.value = true;
    try {
      const answer = await nodeApi().listEvents(eventQuery(id, filters.value));
      if (mine !== seq) return;
      events.value = newestFirst(answer.events);
      error.value = null;
      loadedAt.value = Date.now();
    } catch (err) {
      if (mine === seq) error.value = errorOf(err);
    } finally {
      if (mine === seq) loading.value = false;
    }
  }

  /** open points the store at a connection and searches with the current filters. */
  function open(id: ConnectionId): Promise<void> {
    if (connectionId.value !== id) {
      connectionId.value = id;
      filters.value = { ...NO_EVENT_FILTERS };
      events.value = [];
      error.value = null;
    }
    return load();
  }

  /** search replaces the filters and asks again; an older answer arriving late is dropped. */
  function search(next: Partial<EventFilters>): Promise<void> {
    filters.value = { ...filters.value, ...next };
    return load();
  }

  const reloadSoon = throttle(() => void load(), EVENTS_REFRESH_MS);

  /** locksChanged is the push handler: lock and session changes write events. */
  function locksChanged(update: LocksChanged): void {
    if (update.connectionId === connectionId.value && watchers > 0) reloadSoon();
  }

  /** attach registers a view that shows the events; pushes reload them meanwhile. */
  function attach(): () => void {
    watchers++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      watchers--;
      if (watchers === 0) reloadSoon.cancel();
    };
  }

  return { connectionId, filters, events, loading, error, loadedAt, notableCount, limited, open, load, search, locksChanged, attach };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useEventsStore, import.meta.hot));
