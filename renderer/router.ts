// Effectful when installed. The console's routes, in hash mode so the same build works from
// file:// or app:// in Electron and from http:// behind `warden console`.

import { createRouter, createWebHashHistory, type RouteRecordRaw, type Router, type RouterHistory } from 'vue-router';
import ClusterView from './views/ClusterView.vue';
import ConnectionsView from './views/ConnectionsView.vue';
import EventsView from './views/EventsView.vue';
import LocksView from './views/LocksView.vue';
import SessionsView from './views/SessionsView.vue';
import TopologyView from './views/TopologyView.vue';

/**
 * routes: `#/` connections; `#/clusters/:id/<tab>` one cluster's topology, locks (with
 * `/locks/:name` for a lock's detail), sessions, config, events and metrics. The configuration
 * and metrics views load on demand: they carry the YAML parser and ECharts, which the first
 * screen does not need.
 */
export const routes: RouteRecordRaw[] = [
  { path: '/', name: 'connections', component: ConnectionsView },
  {
    path: '/clusters/:id',
    component: ClusterView,
    props: true,
    children: [
      { path: '', name: 'cluster', redirect: (to) => ({ name: 'topology', params: { id: to.params.id } }) },
      { path: 'topology', name: 'topology', component: TopologyView, props: true },
      { path: 'locks/:name?', name: 'locks', component: LocksView, props: true },
      { path: 'sessions', name: 'sessions', component: SessionsView, props: true },
      { path: 'config', name: 'config', component: () => import('./views/ConfigView.vue'), props: true },
      { path: 'events', name: 'events', component: EventsView, props: true },
      { path: 'metrics', name: 'metrics', component: () => import('./views/MetricsView.vue'), props: true },
    ],
  },
  { path: '/:unknown(.*)*', redirect: '/' },
];

/**
 * createAppRouter builds the router; tests pass a memory history.
 * NB: hash history remembers the page's path and query when created, so the access token must
 * already be gone from the address (services/nodeApi.ts removes it when the bridge is made).
 */
export function createAppRouter(history: RouterHistory = createWebHashHistory()): Router {
  return createRouter({ history, routes });
}
