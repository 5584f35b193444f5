// Effectful (through services/nodeApi.ts) store, with its pure change folding exported for tests.
// The configuration store holds one connection's key namespace, the selected key with its
// history from the backend's watch, compare-and-set writes with their conflicts, and the
// cluster settings.

import { acceptHMRUpdate, defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { ApiErrorBody, ConnectionId, KvChanges } from '../../core/api/contract.ts';
import type { KvItem, WatchEvent } from '../../core/api/clientProtocol.ts';
import { buildKvTree } from '../lib/kvTree.ts';
import { ApiRequestError, errorOf, nodeApi } from '../services/nodeApi.ts';

/** Changes kept per key in the history panel (the backend keeps at most as many). */
export const HISTORY_PER_KEY = 100;

/**
 * Conflict is a compare-and-set that lost: what this editor tried to write (`mine`, null for a
 * delete) against the key as the cluster has it now (`theirs`, null when it was deleted).
 */
export interface Conflict {
  readonly key: string;
  readonly mine: string | null;
  /** The revision the editor's change was based on. */
  readonly expectedRevision: number;
  readonly theirs: KvItem | null;
  readonly message: string;
}

/** WriteOutcome is how a write ended, for the editor to move on or stay. */
export type WriteOutcome = { readonly ok: true; readonly item: KvItem | null } | { readonly ok: false; readonly conflict: boolean };

/** byKey orders items by key, in code-unit order as the cluster lists them. */
function byKey(a: KvItem, b: KvItem): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * foldChanges applies watch events to a key list (sorted by key): puts insert or replace, deletes
 * remove. Events at or below a key's known revision are old news and ignored.
 */
export function foldChanges(items: readonly KvItem[], events: readonly WatchEvent[]): KvItem[] {
  const known = new Map(items.map((item) => [item.key, item]));
  for (const event of events) {
    const prev = known.get(event.key);
    if (prev && event.revision <= prev.revision) continue;
    if (event.type === 'delete') known.delete(event.key);
    else known.set(event.key, { key: event.key, value: event.value ?? '', revision: event.revision, createRevision: prev?.createRevision ?? event.revision, version: (prev?.version ?? 0) + 1 });
  }
  return [...known.values()].sort(byKey);
}

/** mergeHistory adds events to a key's history, in revision order, without duplicates, bounded. */
export function mergeHistory(history: readonly WatchEvent[], events: readonly WatchEvent[]): WatchEvent[] {
  const byRevision = new Map(history.map((e) => [e.revision, e]));
  for (const e of events) byRevision.set(e.revision, e);
  return [...byRevision.values()].sort((a, b) => a.revision - b.revision).slice(-HISTORY_PER_KEY);
}

/** useConfigStore holds one connection's configuration (the view shows one at a time). */
export const useConfigStore = defineStore('config', () => {
  const connectionId = ref<ConnectionId | null>(null);
  const items = ref<KvItem[]>([]);
  /** The namespace's global revision at the listing, then as pushes move it. */
  const revision = ref<number | null>(null);
  const truncated = ref(false);
  const listLoading = ref(false);
  const listError = ref<ApiErrorBody | null>(null);

  const selectedKey = ref<string | null>(null);
  /** The selected key as the cluster has it now (null: it does not exist). */
  const current = ref<KvItem | null>(null);
  const currentLoading = ref(false);
  const currentError = ref<ApiErrorBody | null>(null);
  const history = ref<WatchEvent[]>([]);
  /** Changes before this revision happened before the console started watching. */
  const historySince = ref<number | null>(null);
  const historyError = ref<ApiErrorBody | null>(null);

  const saving = ref(false);
  const saveError = ref<ApiErrorBody | null>(null);
  const conflict = ref<Conflict | null>(null);
  /** The last write that went through, for the editor's confirmation line. */
  const lastWrite = ref<{ readonly key: string; readonly revision: number | null; readonly deleted: boolean } | null>(null);

  const settings = ref<Record<string, unknown> | null>(null);
  const settingsLoading = ref(false);
  const settingsError = ref<ApiErrorBody | null>(null);
  const settingsSaving = ref(false);
  const settingsSaveError = ref<ApiErrorBody | null>(null);
  const settingsSavedAt = ref<number | null>(null);

  const tree = computed(() => buildKvTree(items.value.map((i) => i.key)));
  const keyCount = computed(() => items.value.length);

  function reset(id: ConnectionId): void {
    connectionId.value = id;
    items.value = [];
    revision.value = null;
    truncated.value = false;
    listError.value = null;
    selectedKey.value = null;
    current.value = null;
    currentError.value = null;
    history.value = [];
    historySince.value = null;
    historyError.value = null;
    saveError.value = null;
    conflict.value = null;
    lastWrite.value = null;
    settings.value = null;
    settingsError.value = null;
    settingsSaveError.value = null;
    settingsSavedAt.value = null;
  }

  async function loadList(): Promise<void> {
    const id = connectionId.value;
    if (id === null) return;
    listLoading.value = true;
    try {
      const answer = await nodeApi().kvList({ connectionId: id, prefix: '/' });
      if (connectionId.value !== id) return;
      items.value = [...answer.items].sort(byKey);
      revision.value = answer.revision;
      truncated.value = answer.truncated;
      listError.value = null;
    } catch (err) {
      if (connectionId.value === id) listError.value = errorOf(err);
    } finally {
      listLoading.value = false;
    }
  }

  async function loadSettings(): Promise<void> {
    const id = connectionId.value;
    if (id === null) return;
    settingsLoading.value = true;
    try {
      const answer = await nodeApi().getSettings({ connectionId: id });
      if (connectionId.value !== id) return;
      settings.value = answer.settings;
      settingsError.value = null;
    } catch (err) {
      if (connectionId.value === id) settingsError.value = errorOf(err);
    } finally {
      settingsLoading.value = false;
    }
  }

  /** open points the store at a connection and reads its keys and settings. */
  async function open(id: ConnectionId): Promise<void> {
    if (connectionId.value !== id) reset(id);
    await Promise.all([loadList(), loadSettings()]);
  }

  async function loadHistory(key: string): Promise<void> {
    const id = connectionId.value;
    if (id === null) return;
    try {
      const answer = await nodeApi().kvHistory({ connectionId: id, key });
      if (selectedKey.value !== key) return;
      history.value = mergeHistory(history.value, answer.changes);
      historySince.value = answer.since;
      historyError.value = null;
    } catch (err) {
      if (selectedKey.value === key) historyError.value = errorOf(err);
    }
  }

  /** select shows a key: its value, revision and version as the cluster has them, and its history. */
  async function select(key: string | null): Promise<void> {
    const id = connectionId.value;
    if (selectedKey.value !== key) {
      selectedKey.value = key;
      current.value = key === null ? null : (items.value.find((i) => i.key === key) ?? null);
      history.value = [];
      historySince.value = null;
      historyError.value = null;
      conflict.value = null;
      saveError.value = null;
      lastWrite.value = null;
    }
    if (id === null || key === null) return;
    currentLoading.value = true;
    await Promise.all([
      (async () => {
        try {
          const answer = await nodeApi().kvGet({ connectionId: id, key });
          if (selectedKey.value !== key) return;
          current.value = answer.item;
          currentError.value = null;
        } catch (err) {
          if (selectedKey.value === key) currentError.value = errorOf(err);
        } finally {
          currentLoading.value = false;
        }
      })(),
      loadHistory(key),
    ]);
  }

  /** applyChanges is the push handler: the list, the selected key and its history follow the watch. */
  function applyChanges(update: KvChanges): void {
    if (update.connectionId !== connectionId.value || update.events.length === 0) return;
    items.value = foldChanges(items.value, update.events);
    const last = update.events[update.events.length - 1] as WatchEvent;
    revision.value = Math.max(revision.value ?? 0, last.revision);
    const key = selectedKey.value;
    if (key === null) return;
    const mine = update.events.filter((e) => e.key === key);
    if (mine.length === 0) return;
    history.value = mergeHistory(history.value, mine);
    const newest = mine[mine.length - 1] as WatchEvent;
    if (current.value === null || newest.revision > current.value.revision) current.value = items.value.find((i) => i.key === key) ?? null;
  }

  async function conflictFrom(err: ApiRequestError, key: string, mine: string | null, expectedRevision: number): Promise<Conflict> {
    let theirs: KvItem | null | undefined = err.current;
    const id = connectionId.value;
    if (theirs === undefined && id !== null) {
      try {
        theirs = (await nodeApi().kvGet({ connectionId: id, key })).item;
      } catch {
        theirs = null;
      }
    }
    return { key, mine, expectedRevision, theirs: theirs ?? null, message: err.message };
  }

  async function write(key: string, mine: string | null, expectRevision: number): Promise<WriteOutcome> {
    const id = connectionId.value;
    if (id === null) return { ok: false, conflict: false };
    saving.value = true;
    saveError.value = null;
    conflict.value = null;
    lastWrite.value = null;
    try {
      let item: KvItem | null = null;
      if (mine === null) await nodeApi().kvDelete({ connectionId: id, key, expectRevision });
      else item = (await nodeApi().kvPut({ connectionId: id, key, value: mine, expectRevision })).item;
      const others = items.value.filter((i) => i.key !== key);
      items.value = item === null ? others : [...others, item].sort(byKey);
      if (selectedKey.value === key) current.value = item;
      lastWrite.value = { key, revision: item?.revision ?? null, deleted: item === null };
      return { ok: true, item };
    } catch (err) {
      if (err instanceof ApiRequestError && err.code === 'CasConflict') {
        const found = await conflictFrom(err, key, mine, expectRevision);
        conflict.value = found;
        if (selectedKey.value === key) current.value = found.theirs;
        return { ok: false, conflict: true };
      }
      saveError.value = errorOf(err);
      return { ok: false, conflict: false };
    } finally {
      saving.value = false;
    }
  }

  /**
   * save writes a value only if the key is still at `expectRevision` (0: only if it does not
   * exist yet); a concurrent change becomes a Conflict with both versions.
   */
  function save(key: string, value: string, expectRevision: number): Promise<WriteOutcome> {
    return write(key, value, expectRevision);
  }

  /** remove deletes a key only if it is still at `expectRevision`. */
  function remove(key: string, expectRevision: number): Promise<WriteOutcome> {
    return write(key, null, expectRevision);
  }

  /**
   * overwrite is the deliberate answer to a conflict: write this editor's version over the one
   * the conflict showed. It is still a compare-and-set, against that version, so a third change
   * in between is another conflict rather than lost.
   */
  function overwrite(): Promise<WriteOutcome> {
    const c = conflict.value;
    if (c === null) return Promise.resolve({ ok: false, conflict: false });
    return write(c.key, c.mine, c.theirs?.revision ?? 0);
  }

  function clearConflict(): void {
    conflict.value = null;
  }

  /** saveSettings sends the changed settings; the cluster applies them as one audited entry. */
  async function saveSettings(patch: Record<string, unknown>): Promise<boolean> {
    const id = connectionId.value;
    if (id === null) return false;
    settingsSaving.value = true;
    settingsSaveError.value = null;
    try {
      const answer = await nodeApi().setSettings({ connectionId: id, patch });
      settings.value = answer.settings;
      settingsSavedAt.value = Date.now();
      return true;
    } catch (err) {
      settingsSaveError.value = errorOf(err);
      return false;
    } finally {
      settingsSaving.value = false;
    }
  }

  return {
    connectionId, items, revision, truncated, listLoading, listError,
    selectedKey, current, currentLoading, currentError, history, historySince, historyError,
    saving, saveError, conflict, lastWrite,
    settings, settingsLoading, settingsError, settingsSaving, settingsSaveError, settingsSavedAt,
    tree, keyCount,
    open, loadList, loadSettings, select, applyChanges, save, remove, overwrite, clearConflict, saveSettings,
  };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useConfigStore, import.meta.hot));
