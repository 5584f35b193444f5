// Helpers for component tests: a testing Pinia (actions stubbed, or real against a fake NodeApi)
// and the app's routes on a memory history, so views render exactly as in the app without a
// backend.

import { createTestingPinia } from '@pinia/testing';
import { mount, type ComponentMountingOptions } from '@vue/test-utils';
import { vi } from 'vitest';
import type { Component } from 'vue';
import { createMemoryHistory, type Router } from 'vue-router';
import type { AppInfo, ConnectionSummary, TopologyUpdate } from '../../../core/api/contract.ts';
import { createAppRouter } from '../../../renderer/router.ts';
import type { BridgeStatus } from '../../../renderer/services/nodeApi.ts';
import type { FaultResult } from '../../../renderer/stores/topology.ts';
import type { TopologyView } from '../../../core/api/clientProtocol.ts';

/** StateSeed is the part of each store's state a test sets up. */
export interface StateSeed {
  readonly info?: AppInfo | null;
  readonly bridgeStatus?: BridgeStatus;
  readonly connections?: readonly ConnectionSummary[];
  readonly lastLaunchId?: string | null;
  readonly topologies?: Readonly<Record<string, { update: TopologyUpdate; lastGood: TopologyView | null }>>;
  readonly faultLog?: Readonly<Record<string, FaultResult[]>>;
  readonly faultBusy?: Readonly<Record<string, string>>;
  /** Initial state of other stores, by store id (locks, sessions, config, events, metrics). */
  readonly stores?: Readonly<Record<string, Record<string, unknown>>>;
}

const openBridge: BridgeStatus = { kind: 'custom', state: 'open', detail: null };
const browserInfo: AppInfo = { bridge: 'browser', version: '0.1.0', canLaunchLocal: true, stateDir: 'state' };

/** mountWithStores mounts a component at a route with seeded stores; actions are spies. */
export async function mountWithStores<C extends Component>(
  component: C,
  seed: StateSeed,
  options: { route?: string; props?: Record<string, unknown>; realActions?: boolean; stubs?: Record<string, unknown> } = {},
): Promise<{ wrapper: ReturnType<typeof mount>; router: Router }> {
  const router = createAppRouter(createMemoryHistory());
  await router.push(options.route ?? '/');
  await router.isReady();
  const pinia = createTestingPinia({
    createSpy: vi.fn,
    stubActions: options.realActions !== true,
    initialState: {
      ...(seed.stores ?? {}),
      app: { info: seed.info === undefined ? browserInfo : seed.info, bridgeStatus: seed.bridgeStatus ?? openBridge },
      connections: { list: [...(seed.connections ?? [])], loaded: true, lastLaunchId: seed.lastLaunchId ?? null },
      topology: { entries: { ...(seed.topologies ?? {}) }, faultLog: { ...(seed.faultLog ?? {}) }, faultBusy: { ...(seed.faultBusy ?? {}) } },
    },
  });
  const mountOptions = { props: options.props ?? {}, global: { plugins: [pinia, router], stubs: options.stubs ?? {} } } as unknown as ComponentMountingOptions<C>;
  const wrapper = mount(component, mountOptions) as unknown as ReturnType<typeof mount>;
  return { wrapper, router };
}
