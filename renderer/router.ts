// Effectful when installed. The console's routes, in hash mode so the same build works from
// file:// or app:// in Electron and from http:// behind `warden console`.

import { createRouter, createWebHashHistory, type RouteRecordRaw, type Router, type RouterHistory } from 'vue-router';
import ConnectionsView from './views/ConnectionsView.vue';
import TopologyView from './views/TopologyView.vue';

/** routes: `#/` connections, `#/clusters/:id/topology` one cluster's topology. */
export const routes: RouteRecordRaw[] = [
  { path: '/', name: 'connections', component: ConnectionsView },
  { path: '/clusters/:id/topology', name: 'topology', component: TopologyView, props: true },
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
