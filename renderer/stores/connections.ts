// Effectful (through services/nodeApi.ts). The connections store: saved and launched cluster
// connections as the backend reports them, and the actions on them (save, open, close, delete,
// launch and stop local clusters, export and import), with one error slot per connection.

import { acceptHMRUpdate, defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { ApiErrorBody, ConnectionId, ConnectionSummary, LaunchLocalRequest, SaveConnectionRequest } from '../../core/api/contract.ts';
import { errorOf, nodeApi } from '../services/nodeApi.ts';

/** ConnectionAction names what is running on a connection, to disable its buttons meanwhile. */
export type ConnectionAction = 'open' | 'close' | 'delete' | 'stop';

/** ConnectionGroup is one heading of the connection list. */
export interface ConnectionGroup {
  readonly name: string;
  readonly connections: readonly ConnectionSummary[];
}

/**
 * ConnectOutcome is the result of the connect form: the save or the open may fail, and the form
 * shows which, with the backend's code (Unreachable, Unauthenticated, WrongCluster, ...).
 */
export type ConnectOutcome =
  | { readonly ok: true; readonly connection: ConnectionSummary }
  | { readonly ok: false; readonly step: 'save' | 'open'; readonly error: ApiErrorBody; readonly connection: ConnectionSummary | null };

/** LOCAL_GROUP heads the launched local clusters, which are never saved. */
export const LOCAL_GROUP = 'Local clusters';
/** UNGROUPED heads saved connections without a group. */
export const UNGROUPED = 'Ungrouped';

/** groupConnections orders the list for display: local clusters first, then groups by name. */
export function groupConnections(list: readonly ConnectionSummary[]): ConnectionGroup[] {
  const groups = new Map<string, ConnectionSummary[]>();
  for (const c of list) {
    const name = c.kind === 'local' ? LOCAL_GROUP : c.group.trim() || UNGROUPED;
    const items = groups.get(name) ?? [];
    items.push(c);
    groups.set(name, items);
  }
  const rank = (name: string): number => (name === LOCAL_GROUP ? 0 : name === UNGROUPED ? 2 : 1);
  return [...groups.entries()]
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([name, connections]) => ({ name, connections: [...connections].sort((x, y) => x.name.localeCompare(y.name)) }));
}

/**
 * useConnectionsStore mirrors the backend's connection list. The backend pushes the whole list on
 * every change (onConnectionsChanged), so actions only start things and record their errors;
 * the pushed list is the truth about states and launch progress.
 */
export const useConnectionsStore = defineStore('connections', () => {
  const list = ref<ConnectionSummary[]>([]);
  const loaded = ref(false);
  const listError = ref<ApiErrorBody | null>(null);
  /** The last failed action per connection, shown on its row until the next attempt. */
  const actionErrors = ref<Record<ConnectionId, ApiErrorBody>>({});
  /** The action running per connection. */
  const busy = ref<Record<ConnectionId, ConnectionAction>>({});
  /** The local cluster this renderer launched last, whose progress the launch form shows. */
  const lastLaunchId = ref<ConnectionId | null>(null);
  const launching = ref(false);
  const launchError = ref<ApiErrorBody | null>(null);
  /** Outcome of the last export or import, for the list's toolbar. */
  const transferMessage = ref<string | null>(null);
  const transferError = ref<ApiErrorBody | null>(null);
  /** Counts applied lists, so a slow refresh never overwrites a newer push. */
  const listVersion = ref(0);
  /** Local connections that existed when this renderer's launch began; null when none runs. */
  let localIdsBeforeLaunch: Set<ConnectionId> | null = null;

  const byId = computed<Record<ConnectionId, ConnectionSummary>>(() => Object.fromEntries(list.value.map((c) => [c.id, c])));
  const groups = computed(() => groupConnections(list.value));
  /** Connections that are open or on their way, for the sidebar of open clusters. */
  const active = computed(() => list.value.filter((c) => c.state === 'open' || c.state === 'connecting' || c.state === 'launching'));
  const lastLaunch = computed(() => (lastLaunchId.value === null ? null : (byId.value[lastLaunchId.value] ?? null)));

  function applyList(next: readonly ConnectionSummary[]): void {
    list.value = [...next];
    loaded.value = true;
    listError.value = null;
    listVersion.value++;
    // NB: the launch request may resolve only once the cluster is ready, so the launch is found
    // in the pushed lists (the new local connection) to show its progress from the first step.
    if (localIdsBeforeLaunch !== null) {
      const fresh = next.find((c) => c.kind === 'local' && !localIdsBeforeLaunch?.has(c.id));
      if (fresh) {
        lastLaunchId.value = fresh.id;
        localIdsBeforeLaunch = null;
      }
    }
    const ids = new Set(next.map((c) => c.id));
    for (const id of Object.keys(actionErrors.value)) if (!ids.has(id)) delete actionErrors.value[id];
  }

  function upsert(summary: ConnectionSummary): void {
    const i = list.value.findIndex((c) => c.id === summary.id);
    if (i === -1) list.value.push(summary);
    else list.value.splice(i, 1, summary);
  }

  async function refresh(): Promise<void> {
    const seen = listVersion.value;
    try {
      const next = await nodeApi().listConnections(undefined);
      if (listVersion.value === seen) applyList(next);
    } catch (err) {
      listError.value = errorOf(err);
    }
  }

  async function run(id: ConnectionId, action: ConnectionAction, work: () => Promise<void>): Promise<boolean> {
    busy.value[id] = action;
    delete actionErrors.value[id];
    try {
      await work();
      return true;
    } catch (err) {
      actionErrors.value[id] = errorOf(err);
      return false;
    } finally {
      delete busy.value[id];
    }
  }

  function open(id: ConnectionId): Promise<boolean> {
    return run(id, 'open', async () => upsert(await nodeApi().openConnection({ connectionId: id })));
  }

  function close(id: ConnectionId): Promise<boolean> {
    return run(id, 'close', async () => {
      await nodeApi().closeConnection({ connectionId: id });
    });
  }

  function remove(id: ConnectionId): Promise<boolean> {
    return run(id, 'delete', async () => {
      await nodeApi().deleteConnection({ connectionId: id });
      list.value = list.value.filter((c) => c.id !== id);
    });
  }

  function stopLocal(id: ConnectionId): Promise<boolean> {
    return run(id, 'stop', async () => {
      await nodeApi().stopLocalCluster({ connectionId: id });
    });
  }

  /** connect saves a remote connection and opens it, reporting which step failed. */
  async function connect(request: SaveConnectionRequest): Promise<ConnectOutcome> {
    let saved: ConnectionSummary;
    try {
      saved = await nodeApi().saveConnection(request);
    } catch (err) {
      return { ok: false, step: 'save', error: errorOf(err), connection: null };
    }
    upsert(saved);
    const id = saved.id;
    busy.value[id] = 'open';
    try {
      const opened = await nodeApi().openConnection({ connectionId: id });
      upsert(opened);
      delete actionErrors.value[id];
      return { ok: true, connection: opened };
    } catch (err) {
      const error = errorOf(err);
      actionErrors.value[id] = error;
      return { ok: false, step: 'open', error, connection: byId.value[id] ?? saved };
    } finally {
      delete busy.value[id];
    }
  }

  /** launchLocal starts a local cluster; its progress arrives in pushed lists. */
  async function launchLocal(request: LaunchLocalRequest): Promise<boolean> {
    launching.value = true;
    launchError.value = null;
    localIdsBeforeLaunch = new Set(list.value.filter((c) => c.kind === 'local').map((c) => c.id));
    try {
      const summary = await nodeApi().launchLocalCluster(request);
      upsert(summary);
      lastLaunchId.value = summary.id;
      return true;
    } catch (err) {
      launchError.value = errorOf(err);
      return false;
    } finally {
      launching.value = false;
      localIdsBeforeLaunch = null;
    }
  }

  /** exportJson returns the saved connections as JSON (without secrets), or null on failure. */
  async function exportJson(): Promise<string | null> {
    transferError.value = null;
    try {
      const { json } = await nodeApi().exportConnections(undefined);
      transferMessage.value = 'exported saved connections (tokens and CAs are not included)';
      return json;
    } catch (err) {
      transferError.value = errorOf(err);
      return null;
    }
  }

  /** importJson adds connections from an export; the backend never overwrites existing ones. */
  async function importJson(json: string): Promise<number | null> {
    transferError.value = null;
    try {
      const { imported } = await nodeApi().importConnections({ json });
      transferMessage.value = `imported ${imported} connection${imported === 1 ? '' : 's'}; add their tokens before opening`;
      await refresh();
      return imported;
    } catch (err) {
      transferError.value = errorOf(err);
      return null;
    }
  }

  return {
    list, loaded, listError, actionErrors, busy, lastLaunchId, launching, launchError, transferMessage, transferError, listVersion,
    byId, groups, active, lastLaunch,
    applyList, refresh, open, close, remove, stopLocal, connect, launchLocal, exportJson, importJson,
  };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useConnectionsStore, import.meta.hot));
