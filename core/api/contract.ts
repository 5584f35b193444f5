// Pure. The console's one typed API: what the renderer may ask of the console backend (the
// Electron main process, or the `warden console` server) and what the backend pushes back.
// Both bridges, the preload over IPC and the browser's authenticated WebSocket, are derived from
// the two tables below, so a channel cannot exist on one side only.

import type { AuditEventView, ErrorCode, KvItem, LockView, Role, SessionView, TopologyView, WatchEvent } from './clientProtocol.ts';

/** ConnectionId names one saved or launched cluster connection in the console. */
export type ConnectionId = string;

/**
 * ApiErrorCode is the closed set of errors the console API returns. It extends the cluster's
 * wire codes with the failures only a console has: an endpoint that cannot be reached, a cluster
 * other than the one saved, a write through a read-only connection, a local-only action on a
 * remote cluster.
 */
export type ApiErrorCode = ErrorCode | 'Unreachable' | 'WrongCluster' | 'ReadOnly' | 'NotLocal' | 'Conflict';

/** ApiErrorBody is an error as it crosses a bridge: a code to switch on and a sentence to show. */
export interface ApiErrorBody {
  readonly code: ApiErrorCode;
  readonly message: string;
  /** With CasConflict: the key as it is now, so the console can show both versions. */
  readonly current?: KvItem | null;
}

/**
 * ApiReply is how every request's outcome crosses a bridge. Errors travel as data because
 * Electron's IPC and contextBridge keep only the message of a thrown error, not its code.
 */
export type ApiReply<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ApiErrorBody };

/** AppInfo tells the renderer which bridge serves it and what the backend can do. */
export interface AppInfo {
  readonly bridge: 'electron' | 'browser';
  readonly version: string;
  /** Whether this backend can launch a local cluster (it runs processes on this machine). */
  readonly canLaunchLocal: boolean;
  /** Where saved connections live, for the settings screen. */
  readonly stateDir: string;
}

/** ConnectionState is where a connection is in its life. */
export type ConnectionState = 'closed' | 'launching' | 'connecting' | 'open' | 'error';

/** LaunchStage is one step of starting a local cluster, in order. */
export type LaunchStage = 'planning' | 'starting' | 'electing' | 'ready' | 'failed' | 'stopping' | 'stopped';

/** LaunchProgress is the latest step of a local cluster's launch, for the progress display. */
export interface LaunchProgress {
  readonly stage: LaunchStage;
  readonly message: string;
  readonly nodesStarted: number;
  readonly nodesTotal: number;
}

/**
 * ConnectionSummary is a connection as the renderer sees it. It never carries a secret: the
 * token and CA stay in the backend, and the renderer only learns whether they are set.
 */
export interface ConnectionSummary {
  readonly id: ConnectionId;
  readonly name: string;
  /** Free-form group for the connection list ("prod", "staging"); empty for none. */
  readonly group: string;
  readonly kind: 'local' | 'remote';
  readonly endpoints: readonly string[];
  readonly hasToken: boolean;
  readonly hasCa: boolean;
  /** A read-only connection refuses every write the console could make through it. */
  readonly readOnly: boolean;
  /** The cluster id seen on first connect; a later connect to another cluster fails. */
  readonly clusterId: string | null;
  /** Saved connections survive a restart of the console; launched local clusters do not. */
  readonly saved: boolean;
  readonly state: ConnectionState;
  readonly error: ApiErrorBody | null;
  /** The role the token was granted, once connected. */
  readonly role: Role | null;
  readonly launch: LaunchProgress | null;
  /** For local clusters: datacenters and where their data lives. */
  readonly local: { readonly dataDir: string; readonly datacenters: readonly string[]; readonly layout: readonly number[] } | null;
}

/** SaveConnectionRequest creates (no id) or updates a saved remote connection. */
export interface SaveConnectionRequest {
  readonly id?: ConnectionId;
  readonly name: string;
  readonly group: string;
  readonly endpoints: readonly string[];
  /** Write-only. Absent on an update keeps the stored token. */
  readonly token?: string;
  /** PEM CA for wss:// endpoints with a private CA; null removes it, absent keeps it. */
  readonly ca?: string | null;
  readonly readOnly: boolean;
}

/** LaunchLocalRequest describes a local multi-datacenter cluster to start on this machine. */
export interface LaunchLocalRequest {
  readonly name?: string;
  /** Number of datacenters (named dc-a, dc-b, ...). */
  readonly dcs: number;
  /** Voters per datacenter, one number per datacenter. */
  readonly layout: readonly number[];
  /** Uniform one-way latency between datacenters in ms; absent: the default matrix. */
  readonly wanLatencyMs?: number;
}

/** FaultRequest is one fault action on a local cluster, as `warden cluster fault` takes them. */
export type FaultRequest =
  | { readonly connectionId: ConnectionId; readonly action: 'stop' | 'kill' | 'restart'; readonly node: string }
  | { readonly connectionId: ConnectionId; readonly action: 'isolate'; readonly datacenter: string }
  | { readonly connectionId: ConnectionId; readonly action: 'heal' }
  | { readonly connectionId: ConnectionId; readonly action: 'latency'; readonly from: string; readonly to: string; readonly ms: number };

/** TopologyUpdate is pushed whenever an open connection's topology changes or fails to load. */
export interface TopologyUpdate {
  readonly connectionId: ConnectionId;
  readonly topology: TopologyView | null;
  readonly error: ApiErrorBody | null;
  /** Backend wall-clock time of the reading, ms since the epoch. */
  readonly at: number;
}

/** ConnectionRef addresses one connection. */
export interface ConnectionRef {
  readonly connectionId: ConnectionId;
}

/** LockSortKey is a column the lock view can sort by; sorting happens where the locks are. */
export type LockSortKey = 'name' | 'mode' | 'token' | 'age' | 'keepAlive' | 'waiters' | 'lockDelay' | 'stuck';

/**
 * LockQuery asks for one window of a cluster's locks. Filtering, sorting and paging run on the
 * cluster, so a view of 100,000 locks moves only the rows on screen.
 */
export interface LockQuery {
  readonly connectionId: ConnectionId;
  readonly prefix?: string;
  /** Matches a holder's session id, host, app, label or pid (substring, case-insensitive). */
  readonly holder?: string;
  /** Only locks with a holder whose session was opened in this datacenter. */
  readonly datacenter?: string;
  readonly stuckOnly?: boolean;
  readonly sort?: LockSortKey;
  readonly descending?: boolean;
  readonly offset: number;
  /** At most LIMITS.lockPage rows. */
  readonly limit: number;
}

/** LockPage is one window of a lock query, with the total that matched. */
export interface LockPage {
  readonly locks: readonly LockView[];
  readonly total: number;
  readonly offset: number;
  /** The cluster's clock reading the ages are relative to. */
  readonly now: number;
}

/** LockDetail is everything the release dialog shows about one lock. */
export interface LockDetail {
  readonly lock: LockView | null;
  /** The sessions of the holders and waiters, with their keep-alive state and other locks. */
  readonly sessions: readonly SessionView[];
  /** Recent events for this lock, newest last. */
  readonly events: readonly AuditEventView[];
  readonly now: number;
}

/** ForceReleaseResult says who lost the lock and who got it, with the new fencing tokens. */
export interface ForceReleaseResult {
  readonly previous: readonly { readonly sessionId: string; readonly token: number }[];
  readonly next: readonly { readonly sessionId: string; readonly token: number }[];
  readonly lock: LockView | null;
}

/** EventQuery filters the cluster's event and audit log. */
export interface EventQuery {
  readonly connectionId: ConnectionId;
  readonly since?: number;
  readonly until?: number;
  readonly name?: string;
  readonly kind?: string;
  readonly actor?: string;
  /** Free text matched against name, actor, reason and detail. */
  readonly text?: string;
  readonly limit?: number;
}

/**
 * MetricsSample is one reading of a cluster's activity, computed by the backend from the nodes'
 * Prometheus counters between two scrapes.
 */
export interface MetricsSample {
  readonly at: number;
  readonly proposalsPerSec: number;
  /** Commit latency (proposal to apply) over the interval, null when nothing committed. */
  readonly commitLatencyMsP50: number | null;
  readonly commitLatencyMsP99: number | null;
  readonly lockAcquiresPerSec: number;
  /** Acquisitions that had to queue behind a holder, per second. */
  readonly lockWaitsPerSec: number;
  /** Cumulative counts, so a chart can mark each election and leader change. */
  readonly elections: number;
  readonly leaderChanges: number;
  readonly term: number;
  readonly leaderId: string | null;
  /** Median measured RTT between datacenter pairs, keyed "dc-a|dc-b" (sorted pair). */
  readonly rttMsByDatacenterPair: Readonly<Record<string, number>>;
}

/** MetricsUpdate is pushed after each scrape of an open connection. */
export interface MetricsUpdate {
  readonly connectionId: ConnectionId;
  readonly sample: MetricsSample;
}

/** LocksChanged tells lock and session views to refetch their window: the cluster moved on. */
export interface LocksChanged {
  readonly connectionId: ConnectionId;
  readonly at: number;
}

/** KvChanges carries configuration changes from the backend's watch of an open connection. */
export interface KvChanges {
  readonly connectionId: ConnectionId;
  readonly events: readonly WatchEvent[];
}

/**
 * RequestMap lists every request: its payload and its result. `void` payloads take no argument.
 * Every payload is validated by `validate.ts` on the backend before anything runs.
 */
export interface RequestMap {
  getAppInfo: { payload: void; result: AppInfo };
  listConnections: { payload: void; result: ConnectionSummary[] };
  saveConnection: { payload: SaveConnectionRequest; result: ConnectionSummary };
  deleteConnection: { payload: ConnectionRef; result: null };
  /** Saved connections as JSON without tokens or CAs, to share with colleagues. */
  exportConnections: { payload: void; result: { json: string } };
  importConnections: { payload: { json: string }; result: { imported: number } };
  openConnection: { payload: ConnectionRef; result: ConnectionSummary };
  closeConnection: { payload: ConnectionRef; result: null };
  launchLocalCluster: { payload: LaunchLocalRequest; result: ConnectionSummary };
  stopLocalCluster: { payload: ConnectionRef; result: null };
  getTopology: { payload: ConnectionRef; result: TopologyView };
  clusterFault: { payload: FaultRequest; result: { message: string } };
  queryLocks: { payload: LockQuery; result: LockPage };
  getLockDetail: { payload: ConnectionRef & { readonly name: string }; result: LockDetail };
  /** Admin only, refused on read-only connections; the reason is recorded in the audit log. */
  forceRelease: { payload: ConnectionRef & { readonly name: string; readonly reason: string }; result: ForceReleaseResult };
  listSessions: { payload: ConnectionRef; result: { sessions: SessionView[]; now: number } };
  /** Admin only, refused on read-only connections; audited with the reason. */
  closeSession: { payload: ConnectionRef & { readonly sessionId: string; readonly reason: string }; result: null };
  kvList: { payload: ConnectionRef & { readonly prefix: string }; result: { items: KvItem[]; revision: number; truncated: boolean } };
  kvGet: { payload: ConnectionRef & { readonly key: string }; result: { item: KvItem | null; revision: number } };
  /** Compare-and-set: `expectRevision` 0 means "must not exist"; a mismatch is CasConflict with `current`. */
  kvPut: { payload: ConnectionRef & { readonly key: string; readonly value: string; readonly expectRevision: number | null }; result: { item: KvItem } };
  kvDelete: { payload: ConnectionRef & { readonly key: string; readonly expectRevision: number | null }; result: null };
  /** The changes to one key the backend has seen on its watch since the connection opened. */
  kvHistory: { payload: ConnectionRef & { readonly key: string }; result: { changes: WatchEvent[]; since: number } };
  getSettings: { payload: ConnectionRef; result: { settings: Record<string, unknown> } };
  /** Admin only; each change is a replicated, audited entry. */
  setSettings: { payload: ConnectionRef & { readonly patch: Record<string, unknown> }; result: { settings: Record<string, unknown> } };
  listEvents: { payload: EventQuery; result: { events: AuditEventView[] } };
  /** The samples kept for this connection (the last hour at most), oldest first. */
  getMetrics: { payload: ConnectionRef; result: { samples: MetricsSample[] } };
}

/** EventMap lists what the backend pushes, each to every subscribed renderer. */
export interface EventMap {
  onConnectionsChanged: ConnectionSummary[];
  onTopology: TopologyUpdate;
  onLocksChanged: LocksChanged;
  onKvChanges: KvChanges;
  onMetrics: MetricsUpdate;
}

/** RequestName is a request's key. */
export type RequestName = keyof RequestMap;
/** EventName is a push event's key. */
export type EventName = keyof EventMap;

/** Unsubscribe stops a push subscription. */
export type Unsubscribe = () => void;

/** NodeApi is what renderer code calls: requests reject with an ApiError-shaped error. */
export type NodeApi = {
  [K in RequestName]: (payload: RequestMap[K]['payload']) => Promise<RequestMap[K]['result']>;
} & {
  [K in EventName]: (listener: (payload: EventMap[K]) => void) => Unsubscribe;
};

/** BridgeApi is what a bridge exposes (`window.warden` in Electron): replies as data. */
export type BridgeApi = {
  [K in RequestName]: (payload: RequestMap[K]['payload']) => Promise<ApiReply<RequestMap[K]['result']>>;
} & {
  [K in EventName]: (listener: (payload: EventMap[K]) => void) => Unsubscribe;
};

/** ConsoleBackend is what the backend implements once; both bridges call into it. */
export type ConsoleBackend = {
  [K in RequestName]: (payload: RequestMap[K]['payload']) => Promise<RequestMap[K]['result']>;
};

/**
 * ConsoleEventSource is how the backend's pushes reach a bridge: each bridge subscribes once per
 * renderer (a window or a WebSocket) and forwards what it hears.
 */
export interface ConsoleEventSource {
  subscribe<K extends EventName>(event: K, listener: (payload: EventMap[K]) => void): Unsubscribe;
}

/** ApiError is what backend code throws for an expected failure; bridges turn it into data. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: ApiErrorCode;
  constructor(code: ApiErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

const knownCodes: ReadonlySet<string> = new Set<ApiErrorCode>([
  'BadRequest', 'UnknownMethod', 'Unauthenticated', 'PermissionDenied', 'InvalidArgument', 'NotFound', 'CasConflict',
  'TooLarge', 'NotLeader', 'Unavailable', 'Timeout', 'Compacted', 'WouldBlock', 'SessionNotFound', 'NotHolder', 'Internal',
  'Unreachable', 'WrongCluster', 'ReadOnly', 'NotLocal', 'Conflict',
]);

/**
 * errorBody turns anything thrown behind a bridge into an ApiErrorBody. Errors that carry a
 * known code (ApiError, the SDK's WardenError) keep it; anything else is Internal, so the
 * renderer always gets a code and a sentence, never a stack.
 */
export function errorBody(err: unknown): ApiErrorBody {
  if (typeof err === 'object' && err !== null) {
    const { code, message } = err as { code?: unknown; message?: unknown };
    const text = typeof message === 'string' && message !== '' ? message : 'unexpected error';
    if (typeof code === 'string' && knownCodes.has(code)) {
      const current = (err as { current?: KvItem | null }).current;
      return current === undefined || code !== 'CasConflict' ? { code: code as ApiErrorCode, message: text } : { code: code as ApiErrorCode, message: text, current };
    }
    return { code: 'Internal', message: text };
  }
  return { code: 'Internal', message: String(err) };
}

/** requestChannels names each request's IPC channel; `warden:` prefixes every channel. */
export const requestChannels = {
  getAppInfo: 'warden:app.info',
  listConnections: 'warden:connections.list',
  saveConnection: 'warden:connections.save',
  deleteConnection: 'warden:connections.delete',
  exportConnections: 'warden:connections.export',
  importConnections: 'warden:connections.import',
  openConnection: 'warden:connection.open',
  closeConnection: 'warden:connection.close',
  launchLocalCluster: 'warden:local.launch',
  stopLocalCluster: 'warden:local.stop',
  getTopology: 'warden:topology.get',
  clusterFault: 'warden:cluster.fault',
  queryLocks: 'warden:locks.query',
  getLockDetail: 'warden:locks.detail',
  forceRelease: 'warden:locks.forceRelease',
  listSessions: 'warden:sessions.list',
  closeSession: 'warden:sessions.close',
  kvList: 'warden:kv.list',
  kvGet: 'warden:kv.get',
  kvPut: 'warden:kv.put',
  kvDelete: 'warden:kv.delete',
  kvHistory: 'warden:kv.history',
  getSettings: 'warden:settings.get',
  setSettings: 'warden:settings.set',
  listEvents: 'warden:events.list',
  getMetrics: 'warden:metrics.get',
} as const satisfies Record<RequestName, `warden:${string}`>;

/** eventChannels names each push event's IPC channel. */
export const eventChannels = {
  onConnectionsChanged: 'warden:connections.changed',
  onTopology: 'warden:topology.changed',
  onLocksChanged: 'warden:locks.changed',
  onKvChanges: 'warden:kv.changes',
  onMetrics: 'warden:metrics.sample',
} as const satisfies Record<EventName, `warden:${string}`>;

/** requestNames lists the requests, for bridges that build one function per channel. */
export const requestNames = Object.keys(requestChannels) as RequestName[];
/** eventNames lists the push events. */
export const eventNames = Object.keys(eventChannels) as EventName[];

/** WsRequestFrame is one request over the browser bridge's WebSocket. */
export interface WsRequestFrame {
  readonly id: number;
  readonly request: RequestName;
  readonly payload?: unknown;
}

/** WsServerFrame is a reply to a request (by id) or a pushed event. */
export type WsServerFrame =
  | { readonly id: number; readonly reply: ApiReply<unknown> }
  | { readonly event: EventName; readonly payload: unknown };

/** CONSOLE_WS_PATH is where `warden console` accepts the browser bridge's WebSocket. */
export const CONSOLE_WS_PATH = '/api';

/** MAX_CONSOLE_FRAME_BYTES bounds one frame from the renderer on either bridge. */
export const MAX_CONSOLE_FRAME_BYTES = 1024 * 1024;
