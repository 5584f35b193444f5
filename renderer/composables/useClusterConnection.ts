// Effectful (reads stores). One cluster's connection as the cluster views need it: the summary,
// whether it is open, and, for each kind of write, why it is not allowed (read-only connection,
// the token's role, a closed connection or an unreachable backend).

import { storeToRefs } from 'pinia';
import { computed, type ComputedRef, type Ref } from 'vue';
import type { ConnectionSummary } from '../../core/api/contract.ts';
import { actionBlockedReason } from '../lib/locks.ts';
import { useAppStore } from '../stores/app.ts';
import { useConnectionsStore } from '../stores/connections.ts';

/** ClusterConnection is what a cluster view reads about its connection. */
export interface ClusterConnection {
  readonly connection: ComputedRef<ConnectionSummary | null>;
  /** The connection is open, or not known yet (the list has not loaded): worth asking the cluster. */
  readonly usable: ComputedRef<boolean>;
  readonly isOpen: ComputedRef<boolean>;
  /** blockedReason says why an action needing `kind` cannot run now, or null when it can. */
  blockedReason(kind: 'write' | 'admin', what: string): ComputedRef<string | null>;
}

/** useClusterConnection follows the connection with id `id` in the connections store. */
export function useClusterConnection(id: Ref<string>): ClusterConnection {
  const { backendReachable } = storeToRefs(useAppStore());
  const { byId, loaded } = storeToRefs(useConnectionsStore());
  const connection = computed(() => byId.value[id.value] ?? null);
  const isOpen = computed(() => connection.value?.state === 'open');
  const usable = computed(() => isOpen.value || (!loaded.value && connection.value === null));
  return {
    connection,
    usable,
    isOpen,
    blockedReason: (kind, what) => computed(() => actionBlockedReason(connection.value, backendReachable.value, kind, what)),
  };
}
