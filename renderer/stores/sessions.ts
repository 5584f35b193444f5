// Effectful (through services/nodeApi.ts) store. The sessions store lists one connection's
// client sessions with their keep-alive state and the locks they hold, refetched when locks
// change, and closes a session for an admin with the reason the audit log keeps.

import { acceptHMRUpdate, defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { ApiErrorBody, ConnectionId, LocksChanged } from '../../core/api/contract.ts';
import type { SessionView } from '../../core/api/clientProtocol.ts';
import { throttle } from '../lib/rateLimit.ts';
import { errorOf, nodeApi } from '../services/nodeApi.ts';

/** Reloads caused by pushes happen at most this often. */
export const SESSIONS_REFRESH_MS = 1000;
/** Without pushes the list is still read again this often, so keep-alive ages stay honest. */
export const SESSIONS_POLL_MS = 5000;

/** CloseState is the close dialog's last attempt. */
export interface CloseState {
  readonly sessionId: string;
  readonly running: boolean;
  readonly done: boolean;
  readonly error: ApiErrorBody | null;
}

/** sessionOrder puts sessions in jeopardy first, then the ones holding most locks, then by id. */
export function sessionOrder(a: SessionView, b: SessionView): number {
  if (a.jeopardy !== b.jeopardy) return a.jeopardy ? -1 : 1;
  const la = a.lockCount ?? a.locks.length;
  const lb = b.lockCount ?? b.locks.length;
  if (la !== lb) return lb - la;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** sessionMatches is the list's text filter: id, host, app, label, pid or datacenter. */
export function sessionMatches(session: SessionView, text: string): boolean {
  const needle = text.trim().toLowerCase();
  if (needle === '') return true;
  const { info } = session;
  return [session.id, info.host, info.app, info.label, String(info.pid), session.datacenter ?? ''].some((field) => field.toLowerCase().includes(needle));
}

/** useSessionsStore holds one connection's sessions (the sessions view shows one at a time). */
export const useSessionsStore = defineStore('sessions', () => {
  const connectionId = ref<ConnectionId | null>(null);
  const sessions = ref<SessionView[]>([]);
  /** The cluster's clock at the listing, and this renderer's when it arrived. */
  const now = ref<number | null>(null);
  const receivedAt = ref<number | null>(null);
  const loading = ref(false);
  const error = ref<ApiErrorBody | null>(null);
  const closing = ref<CloseState | null>(null);
  let seq = 0;
  let watchers = 0;
  let poll: ReturnType<typeof setInterval> | null = null;

  const sorted = computed(() => [...sessions.value].sort(sessionOrder));
  const inJeopardy = computed(() => sessions.value.filter((s) => s.jeopardy).length);

  async function load(): Promise<void> {
    const id = connectionId.value;
    if (id === null) return;
    const mine = ++seq;
    loading.value = true;
    try {
      const answer = await nodeApi().listSessions({ connectionId: id });
      if (mine !== seq) return;
      sessions.value = answer.sessions;
      now.value = answer.now;
      receivedAt.value = Date.now();
      error.value = null;
    } catch (err) {
      if (mine === seq) error.value = errorOf(err);
    } finally {
      if (mine === seq) loading.value = false;
    }
  }

  /** open points the store at a connection and reads its sessions. */
  function open(id: ConnectionId): Promise<void> {
    if (connectionId.value !== id) {
      connectionId.value = id;
      sessions.value = [];
      now.value = null;
      receivedAt.value = null;
      error.value = null;
      closing.value = null;
    }
    return load();
  }

  const reloadSoon = throttle(() => void load(), SESSIONS_REFRESH_MS);

  /** locksChanged is the push handler: sessions come and go with the locks they hold. */
  function locksChanged(update: LocksChanged): void {
    if (update.connectionId === connectionId.value && watchers > 0) reloadSoon();
  }

  /** attach registers a view that shows the list; pushes and a slow poll reload it meanwhile. */
  function attach(): () => void {
    watchers++;
    poll ??= setInterval(reloadSoon, SESSIONS_POLL_MS);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      watchers--;
      if (watchers > 0) return;
      reloadSoon.cancel();
      if (poll !== null) clearInterval(poll);
      poll = null;
    };
  }

  /**
   * close ends a session for an admin: its locks are released at once (no lock-delay) and its
   * owner is told; the reason goes to the audit log.
   */
  async function close(sessionId: string, reason: string): Promise<boolean> {
    const id = connectionId.value;
    if (id === null) return false;
    closing.value = { sessionId, running: true, done: false, error: null };
    try {
      await nodeApi().closeSession({ connectionId: id, sessionId, reason: reason.trim() });
      closing.value = { sessionId, running: false, done: true, error: null };
      await load();
      return true;
    } catch (err) {
      closing.value = { sessionId, running: false, done: false, error: errorOf(err) };
      return false;
    }
  }

  function clearClosing(): void {
    closing.value = null;
  }

  return { connectionId, sessions, now, receivedAt, loading, error, closing, sorted, inJeopardy, open, load, locksChanged, attach, close, clearClosing };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useSessionsStore, import.meta.hot));
