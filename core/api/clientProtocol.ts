// Pure. The client wire protocol spoken on `/client` (WebSocket, JSON text frames): requests
// with ids, typed errors, and server-pushed events. Shared by the node's client server and the
// SDK, so both sides agree on every name and shape.

/** ErrorCode is the closed set of typed errors a client can receive. */
export type ErrorCode =
  | 'BadRequest'
  | 'UnknownMethod'
  | 'Unauthenticated'
  | 'PermissionDenied'
  | 'InvalidArgument'
  | 'NotFound'
  | 'CasConflict'
  | 'TooLarge'
  | 'NotLeader'
  | 'Unavailable'
  | 'Timeout'
  | 'Compacted'
  | 'WouldBlock'
  | 'SessionNotFound'
  | 'NotHolder'
  | 'Internal';

/** WireError is the error body: a code a program can switch on and a message a person can read. */
export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
  /** With NotLeader or Unavailable: where the leader is, if known. */
  readonly leader?: { readonly id: string; readonly clientUrl: string | null } | null;
  /** With CasConflict: the key's current state. */
  readonly current?: KvItem | null;
}

/** Role is what a bearer token allows. */
export type Role = 'client' | 'reader' | 'admin';

/** KvItem is a key as clients see it. */
export interface KvItem {
  readonly key: string;
  readonly value: string;
  readonly revision: number;
  readonly createRevision: number;
  readonly version: number;
}

/** WatchEvent is one change delivered to a watcher, in revision order. */
export interface WatchEvent {
  readonly type: 'put' | 'delete';
  readonly key: string;
  readonly value: string | null;
  readonly prevValue: string | null;
  readonly revision: number;
}

/** NodeReport is one node's own account of itself (also served at /health). */
export interface NodeReport {
  readonly id: string;
  readonly datacenter: string;
  readonly role: 'voter' | 'learner' | 'none';
  readonly state: 'leader' | 'follower' | 'candidate' | 'preCandidate' | 'down';
  readonly term: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly leaderId: string | null;
  /** Milliseconds since this node last heard from the leader (0 on the leader). */
  readonly lastContactMs: number | null;
  readonly clientUrl: string;
  readonly revision: number;
  /** Measured round-trip times of this node's peer links. */
  readonly rtt: Readonly<Record<string, { readonly ms: number; readonly measuredAt: number }>>;
  readonly electionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
}

/** TopologyView is datacenters with their nodes, the leader, and the measured RTT matrix. */
export interface TopologyView {
  readonly clusterId: string;
  readonly term: number;
  readonly leader: { readonly id: string; readonly datacenter: string } | null;
  readonly datacenters: readonly { readonly name: string; readonly preferred: boolean; readonly nodes: ClusterStatus['nodes'] }[];
  /** One entry per measured directed link. */
  readonly rtt: readonly { readonly from: string; readonly to: string; readonly ms: number; readonly measuredAt: number }[];
  readonly electionTimeoutMs: number;
  /** The largest RTT measured between two voters. */
  readonly maxVoterRttMs: number | null;
  /** Human-readable problems, such as an election timeout under ten times the voter RTT. */
  readonly warnings: readonly string[];
}

/** NetworkFaults is the injected network condition of one node (local clusters only). */
export interface NetworkFaults {
  /** Added one-way delay to peers in each datacenter, in ms. */
  readonly delayMsByDatacenter: Readonly<Record<string, number>>;
  readonly jitterMs: number;
  readonly lossPercent: number;
  /** Datacenters whose peers this node can neither reach nor hear. */
  readonly blockedDatacenters: readonly string[];
}

/** ClusterStatus is the answer to `status`, as design.md specifies for the SDK. */
export interface ClusterStatus {
  readonly clusterId: string;
  readonly term: number;
  readonly revision: number;
  readonly leader: { readonly id: string; readonly datacenter: string } | null;
  readonly nodes: readonly {
    readonly id: string;
    readonly datacenter: string;
    readonly role: 'voter' | 'learner' | 'none';
    readonly state: NodeReport['state'];
    readonly term: number;
    readonly commitIndex: number;
    readonly appliedIndex: number;
    readonly lagEntries: number;
    readonly lastContactMs: number | null;
    readonly clientUrl: string;
  }[];
}

/** LockModeWire is a lock's mode on the wire. */
export type LockModeWire = 'exclusive' | 'shared';

/** SessionInfoWire describes the process behind a session. */
export interface SessionInfoWire {
  readonly host: string;
  readonly pid: number;
  readonly app: string;
  readonly label: string;
}

/** StuckReason says why a lock is listed as stuck. */
export type StuckReason = 'heldTooLong' | 'holderInJeopardy' | 'waitersStuck';

/** LockView is one lock as listings show it. Ages are in milliseconds at `now`. */
export interface LockView {
  readonly name: string;
  readonly mode: LockModeWire | null;
  readonly holders: readonly {
    readonly sessionId: string;
    readonly mode: LockModeWire;
    readonly token: number;
    readonly heldMs: number;
    readonly keepAliveAgeMs: number | null;
    readonly ttlMs: number | null;
    readonly client: SessionInfoWire | null;
    /** The datacenter the holder's session was opened in (null when unknown). */
    readonly datacenter: string | null;
  }[];
  readonly waiters: readonly { readonly sessionId: string; readonly mode: LockModeWire; readonly waitingMs: number; readonly client: SessionInfoWire | null; readonly datacenter: string | null }[];
  readonly lockDelayLeftMs: number;
  readonly lastToken: number;
  readonly stuckReasons: readonly StuckReason[];
}

/** SessionView is one session as listings show it. */
export interface SessionView {
  readonly id: string;
  readonly ttlMs: number;
  readonly info: SessionInfoWire;
  readonly openedAt: number;
  /** The datacenter of the node the session was opened through (null for sessions older than that record). */
  readonly datacenter: string | null;
  readonly keepAliveAgeMs: number | null;
  readonly jeopardy: boolean;
  /** Locks held, possibly cut to the listing's `locksLimit`; `lockCount` is the whole count. */
  readonly locks: readonly { readonly name: string; readonly token: number; readonly mode: LockModeWire }[];
  /** Locks waited for, possibly cut like `locks`; `waitingCount` is the whole count. */
  readonly waiting: readonly string[];
  /** How many locks the session holds (absent from nodes older than this field). */
  readonly lockCount?: number;
  readonly waitingCount?: number;
}

/** LockSortWire is a column `locks.list` can sort by; every sort breaks ties by name. */
export type LockSortWire = 'name' | 'mode' | 'token' | 'age' | 'keepAlive' | 'waiters' | 'lockDelay' | 'stuck';

/** LOCK_SORT_KEYS lists the sort columns, for validation on both sides of the wire. */
export const LOCK_SORT_KEYS: readonly LockSortWire[] = ['name', 'mode', 'token', 'age', 'keepAlive', 'waiters', 'lockDelay', 'stuck'];

/**
 * LockListParams filter, sort and page a lock listing. Filters combine with AND; `holder` is a
 * case-insensitive substring of a holder's session id, host, app, label or pid; `datacenter`
 * keeps locks with a holder whose session was opened there.
 */
export interface LockListParams {
  readonly prefix?: string;
  readonly stuckOnly?: boolean;
  readonly holder?: string;
  readonly datacenter?: string;
  readonly sort?: LockSortWire;
  readonly descending?: boolean;
  readonly offset?: number;
  readonly limit?: number;
  /**
   * Read the leader's state as it is, without a ReadIndex round to a quorum: for dashboards that
   * refresh often, where a WAN round trip per refresh costs more than a moment's staleness.
   */
  readonly serializable?: boolean;
}

/** AuditEventView is one event of the replicated event log. */
export interface AuditEventView {
  readonly seq: number;
  readonly time: number;
  readonly kind: string;
  readonly name: string | null;
  readonly sessionId: string | null;
  readonly actor: string | null;
  readonly reason: string | null;
  readonly token: number | null;
  readonly detail: Readonly<Record<string, unknown>>;
}

/**
 * NoticeWire is pushed to the connections attached to a session. `lockGranted` and
 * `lockWaitTimedOut` skip the connection whose waiting acquire they answer (the answer says it).
 */
export type NoticeWire =
  | { readonly type: 'lockGranted'; readonly sessionId: string; readonly name: string; readonly mode: LockModeWire; readonly token: number }
  | { readonly type: 'lockWaitTimedOut'; readonly sessionId: string; readonly name: string }
  | { readonly type: 'lockLost'; readonly sessionId: string; readonly name: string; readonly token: number; readonly reason: 'forced' | 'expired'; readonly actor: string | null; readonly detail: string | null }
  | { readonly type: 'sessionEnded'; readonly sessionId: string; readonly reason: 'expired' | 'closed'; readonly actor: string | null; readonly detail: string | null };

/** Methods maps each request method to its params and result. */
export interface Methods {
  auth: { params: { token: string }; result: { role: Role } };
  status: { params: Record<string, never>; result: ClusterStatus };
  'node.report': { params: Record<string, never>; result: NodeReport };
  'kv.get': { params: { key: string; serializable?: boolean }; result: { item: KvItem | null; revision: number } };
  'kv.list': { params: { prefix: string; limit?: number; serializable?: boolean }; result: { items: KvItem[]; revision: number } };
  'kv.put': { params: { key: string; value: string; expectRevision?: number | null }; result: { revision: number; prev: KvItem | null } };
  'kv.delete': { params: { key: string; expectRevision?: number | null }; result: { revision: number; deleted: boolean } };
  'kv.watch': { params: { prefix: string; fromRevision?: number | null }; result: { watchId: number; revision: number; events: WatchEvent[] } };
  'kv.unwatch': { params: { watchId: number }; result: { ok: true } };
  /**
   * `datacenter` is where the client is (the SDK sends the datacenter of the node it first
   * reached, since writes then move to the leader); absent, the node taking the open uses its own.
   */
  'session.open': { params: { ttlMs: number; info: SessionInfoWire; datacenter?: string }; result: { sessionId: string; ttlMs: number } };
  /** Renews the lease (leader only) and attaches this connection to the session's notices. */
  'session.keepAlive': { params: { sessionId: string }; result: { ttlMs: number; locks: { name: string; token: number; mode: LockModeWire }[] } };
  'session.close': { params: { sessionId: string; reason?: string }; result: { ok: true } };
  /**
   * `ids` narrows the listing to some sessions; `locksLimit` cuts each session's lock lists;
   * `serializable` skips the ReadIndex round, as for locks.list.
   */
  'sessions.list': { params: { ids?: string[]; locksLimit?: number; serializable?: boolean }; result: { sessions: SessionView[]; now: number } };
  'lock.acquire': { params: { sessionId: string; name: string; mode: LockModeWire; waitMs: number; lockDelayMs?: number | null }; result: { name: string; mode: LockModeWire; token: number } };
  'lock.release': { params: { sessionId: string; name: string }; result: { ok: true } };
  /** Whether a fencing token is still the current holder's (a sequencer check). */
  'lock.check': { params: { name: string; token: number }; result: { current: boolean; tokens: number[] } };
  'locks.list': { params: LockListParams; result: { locks: LockView[]; now: number; total: number } };
  'admin.forceRelease': { params: { name: string; reason: string }; result: { previous: { sessionId: string; token: number }[]; next: { sessionId: string; token: number }[] } };
  'events.list': { params: { since?: number; until?: number; name?: string; kind?: string; actor?: string; limit?: number }; result: { events: AuditEventView[] } };
  'settings.get': { params: Record<string, never>; result: { settings: Record<string, unknown> } };
  'settings.set': { params: { patch: Record<string, unknown> }; result: { settings: Record<string, unknown> } };
  topology: { params: Record<string, never>; result: TopologyView };
  /** One membership change at a time, among the nodes the cluster's configuration names. */
  'member.change': { params: { type: 'addVoter' | 'addLearner' | 'promoteLearner' | 'removeNode'; node: string }; result: { voters: string[]; learners: string[]; index: number } };
  /** Changes this node's injected network faults; only on nodes started with faults enabled. */
  'fault.network': { params: Partial<NetworkFaults>; result: NetworkFaults };
}

/** Method is a request method name. */
export type Method = keyof Methods;

/** Request is one client-to-node frame. */
export interface Request<M extends Method = Method> {
  readonly id: number;
  readonly method: M;
  readonly params: Methods[M]['params'];
}

/** Response answers the request with the same id. */
export type Response<M extends Method = Method> =
  | { readonly id: number; readonly result: Methods[M]['result'] }
  | { readonly id: number | null; readonly error: WireError };

/** PushEvent is a server-initiated frame. */
export type PushEvent =
  | { readonly event: 'watch'; readonly watchId: number; readonly events: readonly WatchEvent[] }
  | { readonly event: 'watchCanceled'; readonly watchId: number; readonly error: WireError }
  | { readonly event: 'notice'; readonly notice: NoticeWire };

/** METHOD_ROLES lists which roles may call each method. */
export const METHOD_ROLES: Readonly<Record<Method, readonly Role[]>> = {
  auth: ['client', 'reader', 'admin'],
  status: ['client', 'reader', 'admin'],
  'node.report': ['client', 'reader', 'admin'],
  'kv.get': ['client', 'reader', 'admin'],
  'kv.list': ['client', 'reader', 'admin'],
  'kv.put': ['client', 'admin'],
  'kv.delete': ['client', 'admin'],
  'kv.watch': ['client', 'reader', 'admin'],
  'kv.unwatch': ['client', 'reader', 'admin'],
  'session.open': ['client', 'admin'],
  'session.keepAlive': ['client', 'admin'],
  'session.close': ['client', 'admin'],
  'sessions.list': ['client', 'reader', 'admin'],
  'lock.acquire': ['client', 'admin'],
  'lock.release': ['client', 'admin'],
  'lock.check': ['client', 'reader', 'admin'],
  'locks.list': ['client', 'reader', 'admin'],
  'admin.forceRelease': ['admin'],
  'events.list': ['reader', 'admin'],
  'settings.get': ['client', 'reader', 'admin'],
  'settings.set': ['admin'],
  topology: ['client', 'reader', 'admin'],
  'member.change': ['admin'],
  'fault.network': ['admin'],
};

/** MAX_CLIENT_FRAME_BYTES bounds one client frame; larger frames close the connection. */
export const MAX_CLIENT_FRAME_BYTES = 256 * 1024;

/** parseRequest validates the envelope of a client frame; params are validated per method. */
export function parseRequest(text: string): { ok: true; request: Request } | { ok: false; id: number | null; error: WireError } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, id: null, error: { code: 'BadRequest', message: 'frame is not valid JSON' } };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, id: null, error: { code: 'BadRequest', message: 'frame must be a JSON object' } };
  }
  const v = value as Record<string, unknown>;
  const id = Number.isSafeInteger(v.id) && (v.id as number) >= 0 ? (v.id as number) : null;
  if (id === null) return { ok: false, id: null, error: { code: 'BadRequest', message: 'request id must be a non-negative integer' } };
  if (typeof v.method !== 'string') return { ok: false, id, error: { code: 'BadRequest', message: 'method must be a string' } };
  if (!Object.prototype.hasOwnProperty.call(METHOD_ROLES, v.method)) {
    return { ok: false, id, error: { code: 'UnknownMethod', message: `unknown method ${JSON.stringify(v.method).slice(0, 80)}` } };
  }
  const params = v.params ?? {};
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    return { ok: false, id, error: { code: 'BadRequest', message: 'params must be an object' } };
  }
  return { ok: true, request: { id, method: v.method as Method, params: params as never } };
}
