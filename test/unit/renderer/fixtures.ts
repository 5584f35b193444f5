// Test fixtures for the renderer: a fake NodeApi whose requests are spies and whose pushes the
// test fires, a three-datacenter topology like the one `warden cluster local` starts, and locks
// and sessions like those of a stuck-lock incident.

import { vi } from 'vitest';
import type { ConnectionSummary, EventMap, EventName, LockPage, LockQuery, MetricsSample, NodeApi, RequestMap, RequestName, TopologyUpdate } from '../../../core/api/contract.ts';
import type { AuditEventView, LockView, SessionView, TopologyView } from '../../../core/api/clientProtocol.ts';

type Handlers = { [K in RequestName]: (payload: RequestMap[K]['payload']) => Promise<RequestMap[K]['result']> };

/** FakeNodeApi is a NodeApi with spy requests and an `emit` that fires pushes to subscribers. */
export type FakeNodeApi = NodeApi & {
  emit<K extends EventName>(event: K, payload: EventMap[K]): void;
  listenerCount(event: EventName): number;
};

function notSet(name: string): () => Promise<never> {
  return () => Promise.reject(new Error(`fake NodeApi: ${name} not set in this test`));
}

/** fakeNodeApi builds a fake whose requests answer with `handlers` (others reject loudly). */
export function fakeNodeApi(handlers: Partial<Handlers> = {}): FakeNodeApi {
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  const api: Record<string, unknown> = {};
  const names: RequestName[] = [
    'getAppInfo', 'listConnections', 'saveConnection', 'deleteConnection', 'exportConnections', 'importConnections',
    'openConnection', 'closeConnection', 'launchLocalCluster', 'stopLocalCluster', 'getTopology', 'clusterFault',
    'queryLocks', 'getLockDetail', 'forceRelease', 'listSessions', 'closeSession', 'kvList', 'kvGet', 'kvPut', 'kvDelete',
    'kvHistory', 'getSettings', 'setSettings', 'listEvents', 'getMetrics',
  ];
  for (const name of names) api[name] = vi.fn((handlers[name] as ((p: unknown) => Promise<unknown>) | undefined) ?? notSet(name));
  for (const name of ['onConnectionsChanged', 'onTopology', 'onLocksChanged', 'onKvChanges', 'onMetrics'] as EventName[]) {
    listeners.set(name, new Set());
    api[name] = (listener: (payload: unknown) => void) => {
      listeners.get(name)?.add(listener);
      return () => listeners.get(name)?.delete(listener);
    };
  }
  api.emit = (event: EventName, payload: unknown) => {
    for (const l of listeners.get(event) ?? []) l(payload);
  };
  api.listenerCount = (event: EventName) => listeners.get(event)?.size ?? 0;
  return api as FakeNodeApi;
}

/** connection builds a ConnectionSummary with sensible defaults. */
export function connection(overrides: Partial<ConnectionSummary> & { id: string }): ConnectionSummary {
  return {
    name: overrides.id,
    group: '',
    kind: 'remote',
    endpoints: ['ws://127.0.0.1:7001/client'],
    hasToken: true,
    hasCa: false,
    readOnly: false,
    clusterId: null,
    saved: true,
    state: 'closed',
    error: null,
    role: null,
    launch: null,
    local: null,
    ...overrides,
  };
}

type FixtureNode = TopologyView['datacenters'][number]['nodes'][number];

function node(id: string, datacenter: string, overrides: Partial<FixtureNode> = {}): FixtureNode {
  return {
    id,
    datacenter,
    role: 'voter',
    state: 'follower',
    term: 4,
    commitIndex: 1520,
    appliedIndex: 1520,
    lagEntries: 0,
    lastContactMs: 40,
    clientUrl: `ws://127.0.0.1:70${id.slice(1)}/client`,
    ...overrides,
  };
}

/**
 * topologyFixture is 2+2+1 voters in dc-a, dc-b, dc-c with n1 leading from dc-a, RTT samples
 * around 60 ms (a-b), 90 ms (a-c) and 70 ms (b-c), and an election-timeout warning.
 */
export function topologyFixture(overrides: Partial<TopologyView> = {}): TopologyView {
  const rtt = (from: string, to: string, ms: number) => ({ from, to, ms, measuredAt: 1_700_000_000_000 });
  return {
    clusterId: 'local-test',
    term: 4,
    leader: { id: 'n1', datacenter: 'dc-a' },
    datacenters: [
      { name: 'dc-a', preferred: true, nodes: [node('n1', 'dc-a', { state: 'leader', lastContactMs: 0 }), node('n2', 'dc-a')] },
      { name: 'dc-b', preferred: false, nodes: [node('n3', 'dc-b'), node('n4', 'dc-b', { lagEntries: 3, appliedIndex: 1517 })] },
      { name: 'dc-c', preferred: false, nodes: [node('n5', 'dc-c', { role: 'learner' })] },
    ],
    rtt: [
      rtt('n1', 'n3', 58), rtt('n3', 'n1', 62), rtt('n1', 'n4', 61), rtt('n2', 'n3', 59), rtt('n4', 'n2', 200),
      rtt('n1', 'n5', 90), rtt('n5', 'n1', 91), rtt('n2', 'n5', 89),
      rtt('n3', 'n5', 70), rtt('n4', 'n5', 72),
      rtt('n1', 'n2', 0.6),
    ],
    electionTimeoutMs: 1000,
    maxVoterRttMs: 200,
    warnings: ['election timeout 1000 ms is under ten times the largest voter RTT (200.0 ms); use the wan timeout profile or a longer election timeout'],
    ...overrides,
  };
}

/** update wraps a topology into a push. */
export function update(connectionId: string, topology: TopologyView | null, at = 1_700_000_000_000, error: TopologyUpdate['error'] = null): TopologyUpdate {
  return { connectionId, topology, error, at };
}

/** lockView builds a lock held exclusively by session s1 (billing-worker on host-7, dc-a). */
export function lockView(name: string, overrides: Partial<LockView> = {}): LockView {
  return {
    name,
    mode: 'exclusive',
    holders: [
      {
        sessionId: 's1',
        mode: 'exclusive',
        token: 41,
        heldMs: 400_000,
        keepAliveAgeMs: 300,
        ttlMs: 10_000,
        client: { host: 'host-7', pid: 4242, app: 'billing-worker', label: 'w1' },
        datacenter: 'dc-a',
      },
    ],
    waiters: [{ sessionId: 's2', mode: 'exclusive', waitingMs: 95_000, client: { host: 'host-9', pid: 77, app: 'billing-worker', label: 'w2' }, datacenter: 'dc-b' }],
    lockDelayLeftMs: 0,
    lastToken: 41,
    stuckReasons: ['heldTooLong'],
    ...overrides,
  };
}

/** sessionView builds a session of billing-worker on host-7 holding `locks`. */
export function sessionView(id: string, overrides: Partial<SessionView> = {}): SessionView {
  return {
    id,
    ttlMs: 10_000,
    info: { host: 'host-7', pid: 4242, app: 'billing-worker', label: 'w1' },
    openedAt: 1_700_000_000_000,
    datacenter: 'dc-a',
    keepAliveAgeMs: 300,
    jeopardy: false,
    locks: [],
    waiting: [],
    ...overrides,
  };
}

/**
 * lockPages answers queryLocks for a listing of `total` generated locks (`svc/000123`), so a
 * test can page through 100,000 locks without building them all.
 */
export function lockPages(total: number, now = 1_700_000_000_000): (query: LockQuery) => Promise<LockPage> {
  return async (query) => {
    const end = Math.min(total, query.offset + query.limit);
    const locks: LockView[] = [];
    for (let i = query.offset; i < end; i++) locks.push(lockView(`svc/${String(i).padStart(6, '0')}`, { stuckReasons: [], waiters: [] }));
    return { locks, total, offset: query.offset, now };
  };
}

/** auditEvent builds an event of the cluster's log about billing/ledger, one second apart by seq. */
export function auditEvent(seq: number, kind: string, overrides: Partial<AuditEventView> = {}): AuditEventView {
  return { seq, time: 1_700_000_000_000 + seq * 1000, kind, name: 'billing/ledger', sessionId: 's1', actor: null, reason: null, token: null, detail: {}, ...overrides };
}

/** sample builds one metrics reading of a calm cluster led by n1. */
export function sample(at: number, overrides: Partial<MetricsSample> = {}): MetricsSample {
  return {
    at,
    proposalsPerSec: 10,
    commitLatencyMsP50: 4,
    commitLatencyMsP99: 30,
    lockAcquiresPerSec: 3,
    lockWaitsPerSec: 1,
    elections: 1,
    leaderChanges: 1,
    term: 2,
    leaderId: 'n1',
    rttMsByDatacenterPair: { 'dc-a|dc-b': 60 },
    ...overrides,
  };
}
