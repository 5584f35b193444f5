// Effectful. Where pushes from the console backend enter the renderer: subscribes the stores to
// connection, topology, lock, configuration and metrics pushes and to the bridge status for as
// long as the calling scope lives, and resynchronises the stores when a dropped bridge comes back.

import { onScopeDispose } from 'vue';
import type { Unsubscribe } from '../../core/api/contract.ts';
import { bridge } from '../services/nodeApi.ts';
import { useAppStore } from '../stores/app.ts';
import { useConfigStore } from '../stores/config.ts';
import { useConnectionsStore } from '../stores/connections.ts';
import { useEventsStore } from '../stores/events.ts';
import { useLocksStore } from '../stores/locks.ts';
import { useMetricsStore } from '../stores/metrics.ts';
import { useSessionsStore } from '../stores/sessions.ts';
import { useTopologyStore } from '../stores/topology.ts';

/**
 * useNodeEvents wires pushes into the stores and loads them once the bridge is open. Call it
 * once, in App.vue's setup: a second caller would apply every push twice. After a reconnect the
 * pushes missed while the link was down are gone, so the list and open topologies are read again.
 */
export function useNodeEvents(): void {
  const current = bridge();
  const app = useAppStore();
  const connections = useConnectionsStore();
  const topology = useTopologyStore();
  const locks = useLocksStore();
  const sessions = useSessionsStore();
  const events = useEventsStore();
  const config = useConfigStore();
  const metrics = useMetricsStore();

  function resync(): void {
    void app.loadInfo();
    void connections.refresh().then(() => {
      for (const c of connections.list) if (c.state === 'open') void topology.fetch(c.id);
    });
    // The views' own data: what was pushed while the link was down is lost, so read it again.
    locks.refresh();
    void config.loadList();
  }

  const subscriptions: Unsubscribe[] = [
    current.api.onConnectionsChanged((list) => connections.applyList(list)),
    current.api.onTopology((update) => topology.applyUpdate(update)),
    current.api.onLocksChanged((update) => {
      locks.locksChanged(update);
      sessions.locksChanged(update);
      events.locksChanged(update);
    }),
    current.api.onKvChanges((update) => config.applyChanges(update)),
    current.api.onMetrics((update) => metrics.append(update)),
    current.onStatus((status) => {
      const wasOpen = app.bridgeStatus.state === 'open';
      app.setBridgeStatus(status);
      if (status.state === 'open' && !wasOpen) resync();
    }),
  ];
  app.setBridgeStatus(current.status());
  // NB: a bridge still connecting loads on its first 'open' status instead, so nothing loads twice.
  if (current.status().state === 'open') resync();

  onScopeDispose(() => {
    for (const unsubscribe of subscriptions) unsubscribe();
  });
}
