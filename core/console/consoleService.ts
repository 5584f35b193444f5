// Effectful (child processes, sockets, disk). The console backend, written once: saved and
// launched connections; per open connection one topology poller, one metrics sampler and one
// configuration watch; local cluster launches and fault controls; locks, sessions, keys,
// settings and events through the SDK. The Electron IPC bridge and the `warden console`
// WebSocket server both call it.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AuditEventView, KvItem, LockView, Role, SessionView, TopologyView, WatchEvent } from '../api/clientProtocol.ts';
import { ApiError, errorBody } from '../api/contract.ts';
import type {
  ApiErrorBody,
  AppInfo,
  ConnectionRef,
  ConnectionState,
  ConnectionSummary,
  ConsoleBackend,
  ConsoleEventSource,
  EventMap,
  EventName,
  EventQuery,
  FaultRequest,
  ForceReleaseResult,
  LaunchLocalRequest,
  LaunchProgress,
  LockDetail,
  LockPage,
  LockQuery,
  MetricsSample,
  SaveConnectionRequest,
  TopologyUpdate,
  Unsubscribe,
} from '../api/contract.ts';
import { parseEndpoint } from '../api/validate.ts';
import { LocalCluster, datacenterName } from '../cli/localCluster.ts';
import type { NodeCommand } from '../cli/localCluster.ts';
import { connect } from '../client/index.ts';
import type { Watcher, WardenClient } from '../client/index.ts';
import { ConnectionStore } from '../storage/connectionStore.ts';
import type { StoredConnection } from '../storage/connectionStore.ts';
import { MetricsSeries } from './clusterMetrics.ts';
import { KvHistory } from './kvHistory.ts';
import { MetricsSampler } from './metricsSampler.ts';

/** ConsoleServiceOptions configure one backend; only stateDir, bridge and version are required. */
export interface ConsoleServiceOptions {
  /** Where console.db lives. */
  readonly stateDir: string;
  /** Which bridge serves the renderer, reported by getAppInfo. */
  readonly bridge: 'electron' | 'browser';
  readonly version: string;
  /** How to run node processes of local clusters (the desktop app runs itself as Node). */
  readonly nodeCommand?: NodeCommand;
  /** How often each open connection's topology is read and pushed (default 1000 ms). */
  readonly pollIntervalMs?: number;
  /** Where local clusters keep their data dirs (default: a temporary dir removed on close). */
  readonly localDataRoot?: string;
  /** How long opening a remote connection may take before it is Unreachable (default 5000 ms). */
  readonly connectTimeoutMs?: number;
  /** How long a local launch may take, nodes and election included (default 90 s). */
  readonly launchTimeoutMs?: number;
  /** How often each open connection's nodes are scraped for metrics (default 2000 ms). */
  readonly metricsIntervalMs?: number;
}

/** RemoteTarget is an unsaved remote connection, as `warden console --endpoints` makes one. */
export interface RemoteTarget {
  readonly name: string;
  readonly endpoints: readonly string[];
  readonly token: string;
  readonly ca?: string | null;
  readonly readOnly?: boolean;
}

/**
 * ConsoleService is the backend both bridges call: the contract's requests and events, plus
 * what only its owner (the CLI, the Electron main process) may do: add an unsaved connection
 * and shut everything down.
 */
export type ConsoleService = ConsoleBackend &
  ConsoleEventSource & {
    /** addRemote adds an unsaved remote connection (closed); it lives until close(). */
    addRemote(target: RemoteTarget): ConnectionSummary;
    /** close stops every local cluster this backend launched and closes every client. */
    close(): Promise<void>;
  };

/** createConsoleService opens the connection store and returns the backend. */
export function createConsoleService(options: ConsoleServiceOptions): ConsoleService {
  const impl = new Backend(options);
  return {
    getAppInfo: () => impl.getAppInfo(),
    listConnections: () => impl.listConnections(),
    saveConnection: (p) => impl.saveConnection(p),
    deleteConnection: (p) => impl.deleteConnection(p),
    exportConnections: () => impl.exportConnections(),
    importConnections: (p) => impl.importConnections(p),
    openConnection: (p) => impl.openConnection(p),
    closeConnection: (p) => impl.closeConnection(p),
    launchLocalCluster: (p) => impl.launchLocalCluster(p),
    stopLocalCluster: (p) => impl.stopLocalCluster(p),
    getTopology: (p) => impl.getTopology(p),
    clusterFault: (p) => impl.clusterFault(p),
    queryLocks: (p) => impl.queryLocks(p),
    getLockDetail: (p) => impl.getLockDetail(p),
    forceRelease: (p) => impl.forceRelease(p),
    listSessions: (p) => impl.listSessions(p),
    closeSession: (p) => impl.closeSession(p),
    kvList: (p) => impl.kvList(p),
    kvGet: (p) => impl.kvGet(p),
    kvPut: (p) => impl.kvPut(p),
    kvDelete: (p) => impl.kvDelete(p),
    kvHistory: (p) => impl.kvHistory(p),
    getSettings: (p) => impl.getSettings(p),
    setSettings: (p) => impl.setSettings(p),
    listEvents: (p) => impl.listEvents(p),
    getMetrics: (p) => impl.getMetrics(p),
    subscribe: (event, listener) => impl.subscribe(event, listener),
    addRemote: (target) => impl.addRemote(target),
    close: () => impl.close(),
  };
}

interface Entry {
  readonly id: string;
  readonly kind: 'local' | 'remote';
  saved: boolean;
  name: string;
  group: string;
  endpoints: string[];
  /** Held here only; a summary says whether it is set, never what it is. */
  token: string;
  ca: string | null;
  readOnly: boolean;
  clusterId: string | null;
  state: ConnectionState;
  error: ApiErrorBody | null;
  role: Role | null;
  launch: LaunchProgress | null;
  local: { dataDir: string; datacenters: string[]; layout: number[] } | null;
  cluster: LocalCluster | null;
  client: WardenClient | null;
  poller: TopologyPoller | null;
  /** The latest topology the poller read (nodes to scrape, RTTs), kept across a failed read. */
  topology: TopologyView | null;
  /** The leader's applied index at the last reading; a change means the locks may have moved. */
  appliedMark: number | null;
  locksPushedAt: number;
  locksTimer: NodeJS.Timeout | null;
  /** Kept across close and reopen, so a chart keeps its hour. */
  readonly metrics: MetricsSeries;
  sampler: MetricsSampler | null;
  /** Per-key history from the configuration watch; kept across close and reopen. */
  kvHistory: KvHistory | null;
  kvWatcher: Watcher | null;
  kvPending: WatchEvent[];
  kvTimer: NodeJS.Timeout | null;
  /** Bumped by every close, so that an open that finishes late knows it lost. */
  generation: number;
  opening: Promise<ConnectionSummary> | null;
  launching: Promise<unknown> | null;
  abort: AbortController | null;
  stopping: Promise<null> | null;
  readonly order: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** onLocksChanged goes out at most this often per connection. */
const LOCKS_CHANGED_MIN_INTERVAL_MS = 250;
/** Configuration changes are batched this long before onKvChanges goes out. */
const KV_PUSH_DELAY_MS = 100;
/** Keys one kvList answer carries at most; `truncated` says when there were more. */
const KV_LIST_MAX = 1000;
/** Sessions listed with at most this many of their locks (their counts stay whole). */
const SESSION_LOCKS_SHOWN = 100;
/** Events scanned on the cluster for a free-text search. */
const EVENT_SCAN_MAX = 20_000;

class Backend {
  private readonly options: ConsoleServiceOptions;
  private readonly stateDir: string;
  private readonly store: ConnectionStore;
  private readonly entries = new Map<string, Entry>();
  private readonly listeners: { [K in EventName]: Set<(payload: EventMap[K]) => void> } = {
    onConnectionsChanged: new Set(),
    onTopology: new Set(),
    onLocksChanged: new Set(),
    onKvChanges: new Set(),
    onMetrics: new Set(),
  };
  private readonly pollIntervalMs: number;
  private readonly connectTimeoutMs: number;
  private readonly launchTimeoutMs: number;
  private readonly metricsIntervalMs: number;
  private tempRoot: string | null = null;
  private nextOrder = 0;
  private closing: Promise<void> | null = null;

  constructor(options: ConsoleServiceOptions) {
    this.options = options;
    this.stateDir = resolve(options.stateDir);
    this.pollIntervalMs = Math.max(100, options.pollIntervalMs ?? 1000);
    this.connectTimeoutMs = Math.max(500, options.connectTimeoutMs ?? 5000);
    this.launchTimeoutMs = Math.max(5000, options.launchTimeoutMs ?? 90_000);
    this.metricsIntervalMs = Math.max(200, options.metricsIntervalMs ?? 2000);
    this.store = ConnectionStore.open({ stateDir: this.stateDir });
    for (const row of this.store.list()) this.addSaved(row);
  }

  async getAppInfo(): Promise<AppInfo> {
    return { bridge: this.options.bridge, version: this.options.version, canLaunchLocal: true, stateDir: this.stateDir };
  }

  async listConnections(): Promise<ConnectionSummary[]> {
    return this.summaries();
  }

  async saveConnection(request: SaveConnectionRequest): Promise<ConnectionSummary> {
    this.assertRunning();
    if (request.id === undefined) {
      if (request.token === undefined) throw new ApiError('BadRequest', 'token is required for a new connection');
      const row = this.guard(() => this.store.create({ name: request.name, group: request.group, endpoints: request.endpoints, token: request.token as string, ca: request.ca ?? null, readOnly: request.readOnly }));
      const entry = this.addSaved(row);
      this.changed();
      return summarize(entry);
    }
    const entry = this.entry(request.id);
    if (entry.kind === 'local') throw new ApiError('BadRequest', `${entry.name} is a launched local cluster; it lives only while the console runs and cannot be saved`);
    let row: StoredConnection;
    if (entry.saved) {
      row = this.guard(() =>
        this.store.update(entry.id, {
          name: request.name,
          group: request.group,
          endpoints: request.endpoints,
          readOnly: request.readOnly,
          ...(request.token === undefined ? {} : { token: request.token }),
          ...(request.ca === undefined ? {} : { ca: request.ca }),
        }),
      );
    } else {
      // Saving an unsaved connection (one given on the command line) keeps it under its id.
      row = this.guard(() =>
        this.store.create({
          id: entry.id,
          name: request.name,
          group: request.group,
          endpoints: request.endpoints,
          token: request.token ?? entry.token,
          ca: request.ca === undefined ? entry.ca : request.ca,
          readOnly: request.readOnly,
          clusterId: entry.clusterId,
        }),
      );
      entry.saved = true;
    }
    const reconnect = row.token !== entry.token || row.ca !== entry.ca || row.endpoints.join(',') !== entry.endpoints.join(',');
    Object.assign(entry, { name: row.name, group: row.group, endpoints: [...row.endpoints], token: row.token, ca: row.ca, readOnly: row.readOnly, clusterId: row.clusterId });
    // A connection whose target or credentials changed is closed: the next open uses the new ones.
    if (reconnect && entry.state !== 'closed') this.disconnect(entry, 'closed', null);
    this.changed();
    return summarize(entry);
  }

  async deleteConnection(ref: ConnectionRef): Promise<null> {
    this.assertRunning();
    const entry = this.entry(ref.connectionId);
    if (entry.kind === 'local') throw new ApiError('BadRequest', `${entry.name} is a launched local cluster; stop it instead (stopLocalCluster)`);
    this.disconnect(entry, 'closed', null);
    if (entry.saved) this.guard(() => this.store.delete(entry.id));
    this.entries.delete(entry.id);
    this.changed();
    return null;
  }

  async exportConnections(): Promise<{ json: string }> {
    this.assertRunning();
    return { json: this.guard(() => this.store.exportJson()) };
  }

  async importConnections(request: { json: string }): Promise<{ imported: number }> {
    this.assertRunning();
    const result = this.guard(() => this.store.importJson(request.json));
    for (const row of this.guard(() => this.store.list())) if (!this.entries.has(row.id)) this.addSaved(row);
    if (result.imported > 0) this.changed();
    return { imported: result.imported };
  }

  async openConnection(ref: ConnectionRef): Promise<ConnectionSummary> {
    this.assertRunning();
    const entry = this.entry(ref.connectionId);
    if (entry.state === 'open') return summarize(entry);
    if (entry.opening) return entry.opening;
    if (entry.state === 'launching') throw new ApiError('Unavailable', `${entry.name} is still launching; it opens by itself once a leader is elected`);
    if (entry.kind === 'local' && (entry.cluster === null || entry.stopping !== null || entry.launch?.stage === 'failed')) {
      throw new ApiError('Unavailable', `${entry.name} is not running (${entry.launch?.message ?? 'stopped'}); launch a new local cluster`);
    }
    const opening = this.connectEntry(entry).finally(() => {
      entry.opening = null;
    });
    entry.opening = opening;
    return opening;
  }

  async closeConnection(ref: ConnectionRef): Promise<null> {
    this.assertRunning();
    const entry = this.entry(ref.connectionId);
    if (entry.state === 'launching') throw new ApiError('BadRequest', `${entry.name} is still launching; stop it instead (stopLocalCluster)`);
    this.disconnect(entry, 'closed', null);
    this.changed();
    return null;
  }

  async launchLocalCluster(request: LaunchLocalRequest): Promise<ConnectionSummary> {
    this.assertRunning();
    const layout = [...request.layout];
    const total = layout.reduce((a, b) => a + b, 0);
    const entry: Entry = {
      ...blankEntry(`local-${randomBytes(6).toString('hex')}`, 'local', this.nextOrder++),
      name: request.name ?? 'local',
      state: 'launching',
      launch: { stage: 'planning', message: `planning ${total} nodes in ${request.dcs} datacenters`, nodesStarted: 0, nodesTotal: total },
      local: { dataDir: '', datacenters: layout.map((_, i) => datacenterName(i)), layout },
      abort: new AbortController(),
    };
    this.entries.set(entry.id, entry);
    this.changed();
    const launching = this.runLaunch(entry, request, layout);
    entry.launching = launching.catch(() => undefined);
    return launching;
  }

  async stopLocalCluster(ref: ConnectionRef): Promise<null> {
    this.assertRunning();
    const entry = this.entry(ref.connectionId);
    if (entry.kind !== 'local') throw new ApiError('NotLocal', `${entry.name} is a remote cluster; the console can only stop local clusters it launched`);
    if (!entry.stopping) entry.stopping = this.stopLocal(entry, true);
    return entry.stopping;
  }

  async getTopology(ref: ConnectionRef): Promise<TopologyView> {
    this.assertRunning();
    const entry = this.entry(ref.connectionId);
    const client = entry.client;
    if (entry.state !== 'open' || client === null) throw new ApiError('Unavailable', `${entry.name} is not open (${entry.state}); open it first`);
    try {
      return await client.topology();
    } catch (err) {
      throw asApiError(err);
    }
  }

  async clusterFault(request: FaultRequest): Promise<{ message: string }> {
    this.assertRunning();
    const entry = this.entry(request.connectionId);
    if (entry.readOnly) throw new ApiError('ReadOnly', `${entry.name} is a read-only connection; fault actions are refused`);
    const cluster = entry.cluster;
    if (entry.kind !== 'local' || cluster === null) {
      if (entry.kind !== 'local') throw new ApiError('NotLocal', `${entry.name} is a remote cluster; fault controls work only on local clusters the console launched`);
      throw new ApiError('Unavailable', `${entry.name} is not running`);
    }
    if (entry.state === 'launching' || entry.stopping) throw new ApiError('Unavailable', `${entry.name} is ${entry.stopping ? 'stopping' : 'still launching'}; try again when it is ready`);
    const args = faultArgs(request);
    let message: string;
    try {
      message = await cluster.fault(request.action, args);
    } catch (err) {
      throw asApiError(err);
    }
    entry.poller?.refreshNow();
    return { message };
  }

  async queryLocks(query: LockQuery): Promise<LockPage> {
    return this.onCluster(query.connectionId, async (client) => {
      const page = await client.locks.query({
        ...(query.prefix !== undefined ? { prefix: query.prefix } : {}),
        ...(query.holder !== undefined ? { holder: query.holder } : {}),
        ...(query.datacenter !== undefined ? { datacenter: query.datacenter } : {}),
        ...(query.stuckOnly ? { stuckOnly: true } : {}),
        ...(query.sort !== undefined ? { sort: query.sort } : {}),
        ...(query.descending ? { descending: true } : {}),
        offset: query.offset,
        limit: query.limit,
        // A dashboard refreshes often: the leader's state as it is, without a quorum round each time.
        serializable: true,
      });
      return { locks: page.locks, total: page.total, offset: query.offset, now: page.now };
    });
  }

  async getLockDetail(request: ConnectionRef & { readonly name: string }): Promise<LockDetail> {
    return this.onCluster(request.connectionId, async (client) => {
      const { lock, now } = await findLock(client, request.name, true);
      const ids = lock === null ? [] : [...new Set([...lock.holders.map((h) => h.sessionId), ...lock.waiters.map((w) => w.sessionId)])].slice(0, 1000);
      const [sessions, events] = await Promise.all([
        ids.length === 0 ? Promise.resolve([] as SessionView[]) : client.querySessions({ ids, locksLimit: SESSION_LOCKS_SHOWN, serializable: true }).then((r) => r.sessions),
        eventsIfAllowed(client, { name: request.name, limit: 50 }),
      ]);
      return { lock, sessions, events, now };
    });
  }

  async forceRelease(request: ConnectionRef & { readonly name: string; readonly reason: string }): Promise<ForceReleaseResult> {
    const entry = this.entry(request.connectionId);
    this.assertAdminWrite(entry, 'release locks by force');
    return this.onCluster(request.connectionId, async (client) => {
      const result = await client.admin.forceRelease(request.name, { reason: request.reason });
      // NB: a linearizable read after the write, so the lock shown is the one the release left.
      const { lock } = await findLock(client, request.name, false);
      this.locksChanged(entry);
      return { previous: result.previous, next: result.next, lock };
    });
  }

  async listSessions(ref: ConnectionRef): Promise<{ sessions: SessionView[]; now: number }> {
    return this.onCluster(ref.connectionId, (client) => client.querySessions({ locksLimit: SESSION_LOCKS_SHOWN, serializable: true }));
  }

  async closeSession(request: ConnectionRef & { readonly sessionId: string; readonly reason: string }): Promise<null> {
    const entry = this.entry(request.connectionId);
    this.assertAdminWrite(entry, 'close sessions');
    return this.onCluster(request.connectionId, async (client) => {
      await client.admin.closeSession(request.sessionId, { reason: request.reason });
      this.locksChanged(entry);
      return null;
    });
  }

  async kvList(request: ConnectionRef & { readonly prefix: string }): Promise<{ items: KvItem[]; revision: number; truncated: boolean }> {
    return this.onCluster(request.connectionId, async (client) => {
      const { items, revision } = await client.kv.listWithRevision(request.prefix, { limit: KV_LIST_MAX + 1 });
      return { items: items.slice(0, KV_LIST_MAX), revision, truncated: items.length > KV_LIST_MAX };
    });
  }

  async kvGet(request: ConnectionRef & { readonly key: string }): Promise<{ item: KvItem | null; revision: number }> {
    return this.onCluster(request.connectionId, (client) => client.kv.getWithRevision(request.key));
  }

  async kvPut(request: ConnectionRef & { readonly key: string; readonly value: string; readonly expectRevision: number | null }): Promise<{ item: KvItem }> {
    this.assertWritable(this.entry(request.connectionId), 'write keys');
    return this.onCluster(request.connectionId, async (client) => {
      const result = await client.kv.put(request.key, request.value, request.expectRevision === null ? {} : { expectRevision: request.expectRevision });
      const prev = result.prev;
      return { item: { key: request.key, value: request.value, revision: result.revision, createRevision: prev?.createRevision ?? result.revision, version: (prev?.version ?? 0) + 1 } };
    });
  }

  async kvDelete(request: ConnectionRef & { readonly key: string; readonly expectRevision: number | null }): Promise<null> {
    this.assertWritable(this.entry(request.connectionId), 'delete keys');
    return this.onCluster(request.connectionId, async (client) => {
      const existed = await client.kv.delete(request.key, request.expectRevision === null ? {} : { expectRevision: request.expectRevision });
      if (!existed) throw new ApiError('NotFound', `${request.key} does not exist`);
      return null;
    });
  }

  async kvHistory(request: ConnectionRef & { readonly key: string }): Promise<{ changes: WatchEvent[]; since: number }> {
    this.assertRunning();
    const history = this.entry(request.connectionId).kvHistory;
    return { changes: history?.history(request.key) ?? [], since: history?.since ?? 0 };
  }

  async getSettings(ref: ConnectionRef): Promise<{ settings: Record<string, unknown> }> {
    return this.onCluster(ref.connectionId, async (client) => ({ settings: await client.admin.getSettings() }));
  }

  async setSettings(request: ConnectionRef & { readonly patch: Record<string, unknown> }): Promise<{ settings: Record<string, unknown> }> {
    this.assertAdminWrite(this.entry(request.connectionId), 'change cluster settings');
    return this.onCluster(request.connectionId, async (client) => ({ settings: await client.admin.setSettings(request.patch) }));
  }

  async listEvents(query: EventQuery): Promise<{ events: AuditEventView[] }> {
    return this.onCluster(query.connectionId, async (client) => {
      const limit = query.limit ?? 1000;
      const filter = {
        ...(query.since !== undefined ? { since: query.since } : {}),
        ...(query.until !== undefined ? { until: query.until } : {}),
        ...(query.name !== undefined ? { name: query.name } : {}),
        ...(query.kind !== undefined ? { kind: query.kind } : {}),
        ...(query.actor !== undefined ? { actor: query.actor } : {}),
      };
      if (query.text === undefined) return { events: await client.events.list({ ...filter, limit }) };
      const events = await client.events.list({ ...filter, limit: EVENT_SCAN_MAX });
      return { events: events.filter((e) => eventMatches(e, query.text as string)).slice(-limit) };
    });
  }

  async getMetrics(ref: ConnectionRef): Promise<{ samples: MetricsSample[] }> {
    this.assertRunning();
    return { samples: this.entry(ref.connectionId).metrics.list() };
  }

  subscribe<K extends EventName>(event: K, listener: (payload: EventMap[K]) => void): Unsubscribe {
    const set = this.listeners[event] as Set<(payload: EventMap[K]) => void> | undefined;
    if (!set) throw new ApiError('BadRequest', `no event ${String(event)}`);
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  addRemote(target: RemoteTarget): ConnectionSummary {
    this.assertRunning();
    if (target.endpoints.length === 0) throw new ApiError('BadRequest', 'endpoints must name at least one node');
    const endpoints = target.endpoints.map((e, i) => {
      try {
        return parseEndpoint(e, `endpoints[${i}]`);
      } catch (err) {
        throw new ApiError('BadRequest', (err as Error).message);
      }
    });
    const entry: Entry = {
      ...blankEntry(`r-${randomBytes(6).toString('hex')}`, 'remote', this.nextOrder++),
      name: target.name,
      endpoints,
      token: target.token,
      ca: target.ca ?? null,
      readOnly: target.readOnly ?? false,
    };
    this.entries.set(entry.id, entry);
    this.changed();
    return summarize(entry);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const entries = [...this.entries.values()];
    for (const entry of entries) entry.abort?.abort();
    await Promise.allSettled(entries.map((entry) => (entry.kind === 'local' ? (entry.stopping ?? this.stopLocal(entry, false)) : Promise.resolve(this.disconnect(entry, 'closed', null)))));
    if (this.tempRoot !== null) rmSync(this.tempRoot, { recursive: true, force: true });
    for (const set of Object.values(this.listeners)) set.clear();
    this.store.close();
  }

  private assertRunning(): void {
    if (this.closing) throw new ApiError('Unavailable', 'the console backend is shutting down');
  }

  /** onCluster runs a request on an open connection's client, with the API's errors. */
  private async onCluster<T>(id: string, run: (client: WardenClient) => Promise<T>): Promise<T> {
    this.assertRunning();
    const entry = this.entry(id);
    const client = entry.client;
    if (entry.state !== 'open' || client === null) throw new ApiError('Unavailable', `${entry.name} is not open (${entry.state}); open it first`);
    try {
      return await run(client);
    } catch (err) {
      throw asApiError(err);
    }
  }

  /** assertWritable refuses a write through a read-only connection before it reaches the cluster. */
  private assertWritable(entry: Entry, what: string): void {
    if (entry.readOnly) throw new ApiError('ReadOnly', `${entry.name} is a read-only connection; it cannot ${what}`);
  }

  /**
   * assertAdminWrite refuses, before anything reaches the cluster, a write that needs the admin
   * role: through a read-only connection (ReadOnly), or with a token of another role
   * (PermissionDenied). The cluster checks the role again.
   */
  private assertAdminWrite(entry: Entry, what: string): void {
    this.assertWritable(entry, what);
    if (entry.state === 'open' && entry.role !== 'admin') throw new ApiError('PermissionDenied', `${entry.name} has a ${entry.role ?? 'unknown'} token; only an admin token may ${what}`);
  }

  private entry(id: string): Entry {
    const entry = this.entries.get(id);
    if (!entry) throw new ApiError('NotFound', `no connection ${id}`);
    return entry;
  }

  /** guard runs a store call and turns its errors into the API's. */
  private guard<T>(run: () => T): T {
    try {
      return run();
    } catch (err) {
      throw asApiError(err);
    }
  }

  private addSaved(row: StoredConnection): Entry {
    const entry: Entry = {
      ...blankEntry(row.id, 'remote', this.nextOrder++),
      saved: true,
      name: row.name,
      group: row.group,
      endpoints: [...row.endpoints],
      token: row.token,
      ca: row.ca,
      readOnly: row.readOnly,
      clusterId: row.clusterId,
    };
    this.entries.set(entry.id, entry);
    return entry;
  }

  private summaries(): ConnectionSummary[] {
    const rank = (e: Entry): number => (e.kind === 'local' ? 0 : e.saved ? 2 : 1);
    return [...this.entries.values()]
      .sort((a, b) => rank(a) - rank(b) || (rank(a) === 2 ? a.group.localeCompare(b.group) || a.name.localeCompare(b.name) : 0) || a.order - b.order)
      .map(summarize);
  }

  private changed(): void {
    this.emit('onConnectionsChanged', this.summaries());
  }

  private emit<K extends EventName>(event: K, payload: EventMap[K]): void {
    for (const listener of [...(this.listeners[event] as Set<(payload: EventMap[K]) => void>)]) {
      try {
        listener(payload);
      } catch {
        // One broken subscriber (a window being torn down) must not starve the others.
      }
    }
  }

  /** connectEntry opens a client on a closed connection, checks it, and starts its poller. */
  private async connectEntry(entry: Entry): Promise<ConnectionSummary> {
    if (entry.token === '') {
      const error = new ApiError('Unauthenticated', `${entry.name} has no token (imported connections never carry one); edit it and set a token`);
      entry.state = 'error';
      entry.error = errorBody(error);
      this.changed();
      throw error;
    }
    const generation = entry.generation;
    entry.state = 'connecting';
    entry.error = null;
    this.changed();
    let client: WardenClient | null = null;
    try {
      client = await dial(entry.endpoints, entry.token, entry.ca, this.connectTimeoutMs);
      const { role } = await client.whoami();
      const topology = await client.topology();
      if (entry.clusterId !== null && topology.clusterId !== entry.clusterId) {
        throw new ApiError(
          'WrongCluster',
          `${entry.name} expects cluster ${JSON.stringify(entry.clusterId)}, but ${client.endpoint} belongs to cluster ${JSON.stringify(topology.clusterId)}; check the endpoints, or save a new connection for the other cluster`,
        );
      }
      if (this.entries.get(entry.id) !== entry || entry.generation !== generation || this.closing) {
        throw new ApiError('Unavailable', `${entry.name} was closed while it was opening`);
      }
      if (entry.clusterId === null) {
        entry.clusterId = topology.clusterId;
        if (entry.saved) this.guard(() => this.store.recordClusterId(entry.id, topology.clusterId));
      }
      entry.client = client;
      entry.role = role;
      entry.state = 'open';
      entry.error = null;
      this.changed();
      this.startWatchers(entry, client, topology);
      return summarize(entry);
    } catch (err) {
      if (client !== null && entry.client !== client) void client.close();
      const error = asApiError(err);
      if (this.entries.get(entry.id) === entry && entry.generation === generation) {
        entry.state = 'error';
        entry.error = errorBody(error);
        this.changed();
      }
      throw error;
    }
  }

  /**
   * startWatchers starts what an open connection runs: the topology poller (whose readings also
   * tell when the locks moved), the metrics sampler and the configuration watch.
   */
  private startWatchers(entry: Entry, client: WardenClient, first: TopologyView | null): void {
    entry.poller?.stop();
    entry.appliedMark = null;
    entry.topology = first;
    entry.poller = new TopologyPoller(
      () => client.topology(),
      (update) => {
        if (update.topology) {
          entry.topology = update.topology;
          this.noteApplied(entry, update.topology);
        }
        this.emit('onTopology', { connectionId: entry.id, ...update });
      },
      this.pollIntervalMs,
    );
    entry.poller.start(first);
    entry.sampler?.stop();
    entry.sampler = new MetricsSampler({
      series: entry.metrics,
      topology: () => entry.topology,
      ca: entry.ca,
      intervalMs: this.metricsIntervalMs,
      onSample: (sample) => this.emit('onMetrics', { connectionId: entry.id, sample }),
    });
    entry.sampler.start();
    this.startKvWatch(entry, client, entry.generation);
  }

  /** noteApplied pushes onLocksChanged when the leader applied entries since the last reading. */
  private noteApplied(entry: Entry, topology: TopologyView): void {
    const nodes = topology.datacenters.flatMap((dc) => dc.nodes);
    const leader = nodes.find((n) => n.id === topology.leader?.id);
    const mark = leader?.appliedIndex ?? Math.max(0, ...nodes.map((n) => n.appliedIndex));
    const moved = entry.appliedMark !== null && mark !== entry.appliedMark;
    entry.appliedMark = mark;
    if (moved) this.locksChanged(entry);
  }

  /** locksChanged pushes onLocksChanged, at most every LOCKS_CHANGED_MIN_INTERVAL_MS (the last one is never lost). */
  private locksChanged(entry: Entry): void {
    const wait = entry.locksPushedAt + LOCKS_CHANGED_MIN_INTERVAL_MS - Date.now();
    const push = (): void => {
      entry.locksPushedAt = Date.now();
      this.emit('onLocksChanged', { connectionId: entry.id, at: entry.locksPushedAt });
    };
    if (wait <= 0) return push();
    if (entry.locksTimer !== null) return;
    entry.locksTimer = setTimeout(() => {
      entry.locksTimer = null;
      if (entry.state === 'open') push();
    }, wait);
    entry.locksTimer.unref();
  }

  /**
   * startKvWatch keeps one watch on the whole namespace for the connection's history and
   * onKvChanges. It resumes after the last change it recorded; when the cluster no longer has
   * that history (Compacted), it starts again from now. A token that may not watch "/" gets no
   * history, and the editor still works.
   */
  private startKvWatch(entry: Entry, client: WardenClient, generation: number): void {
    const current = (): boolean => entry.generation === generation && entry.client === client && !this.closing;
    const run = async (resume: boolean): Promise<void> => {
      if (!current()) return;
      let watcher: Watcher;
      try {
        watcher = await client.kv.watch('/', resume && entry.kvHistory !== null ? { fromRevision: entry.kvHistory.last + 1 } : {});
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'PermissionDenied' || code === 'Unauthenticated') return;
        const compacted = code === 'Compacted';
        setTimeout(() => void run(!compacted), compacted ? 0 : 2000).unref();
        return;
      }
      if (!current()) {
        void watcher.close();
        return;
      }
      if (entry.kvHistory === null) entry.kvHistory = new KvHistory(watcher.lastRevision);
      else if (watcher.lastRevision > entry.kvHistory.last) entry.kvHistory.restart(watcher.lastRevision);
      entry.kvWatcher = watcher;
      watcher.on('event', (event) => {
        const fresh = entry.kvHistory?.record([event]) ?? [];
        if (fresh.length > 0) this.queueKv(entry, fresh);
      });
      watcher.on('error', () => {
        if (entry.kvWatcher === watcher) entry.kvWatcher = null;
        void run(false);
      });
    };
    void run(true);
  }

  private queueKv(entry: Entry, events: readonly WatchEvent[]): void {
    entry.kvPending.push(...events);
    if (entry.kvTimer !== null) return;
    entry.kvTimer = setTimeout(() => {
      entry.kvTimer = null;
      const batch = entry.kvPending.splice(0);
      if (batch.length > 0) this.emit('onKvChanges', { connectionId: entry.id, events: batch });
    }, KV_PUSH_DELAY_MS);
    entry.kvTimer.unref();
  }

  /** disconnect stops the poller and closes the client; the connection entry stays. */
  private disconnect(entry: Entry, state: ConnectionState, error: ApiErrorBody | null): void {
    entry.generation++;
    entry.poller?.stop();
    entry.poller = null;
    entry.sampler?.stop();
    entry.sampler = null;
    const watcher = entry.kvWatcher;
    entry.kvWatcher = null;
    if (watcher) void watcher.close();
    for (const timer of [entry.locksTimer, entry.kvTimer]) if (timer !== null) clearTimeout(timer);
    entry.locksTimer = null;
    entry.kvTimer = null;
    entry.kvPending = [];
    entry.topology = null;
    entry.appliedMark = null;
    const client = entry.client;
    entry.client = null;
    if (client) void client.close();
    entry.state = state;
    entry.error = error;
    entry.role = null;
  }

  private localRoot(): string {
    if (this.options.localDataRoot !== undefined) return resolve(this.options.localDataRoot);
    this.tempRoot ??= mkdtempSync(join(tmpdir(), 'warden-console-'));
    return this.tempRoot;
  }

  private setLaunch(entry: Entry, launch: LaunchProgress): void {
    entry.launch = launch;
    this.changed();
  }

  /**
   * runLaunch plans the cluster, starts its nodes, waits for a leader and opens a client with
   * the admin token, reporting each stage. It resolves once the connection is open, or rejects
   * with the reason (the entry then shows stage `failed` until it is stopped).
   */
  private async runLaunch(entry: Entry, request: LaunchLocalRequest, layout: number[]): Promise<ConnectionSummary> {
    const signal = (entry.abort as AbortController).signal;
    const total = layout.reduce((a, b) => a + b, 0);
    try {
      const cluster = await LocalCluster.open({
        dcs: request.dcs,
        layout,
        basePort: null,
        dataDir: join(this.localRoot(), entry.id),
        host: '127.0.0.1',
        latency: request.wanLatencyMs === undefined ? null : { uniform: request.wanLatencyMs },
        ...(this.options.nodeCommand ? { nodeCommand: this.options.nodeCommand } : {}),
      });
      entry.cluster = cluster;
      entry.endpoints = cluster.endpoints();
      entry.token = cluster.spec.adminToken;
      entry.clusterId = cluster.spec.clusterId;
      entry.local = { dataDir: cluster.dataDir, datacenters: [...new Set(cluster.spec.nodes.map((n) => n.datacenter))], layout };
      if (signal.aborted) throw new Error('the launch was stopped');
      await cluster.startControl();
      await cluster.launch({
        timeoutMs: this.launchTimeoutMs,
        signal,
        onProgress: (step) => {
          if (step.stage === 'ready') return;
          const message = step.stage === 'starting' ? `starting nodes (${step.nodesStarted} of ${step.nodesTotal} answering)` : 'electing a leader';
          this.setLaunch(entry, { stage: step.stage, message, nodesStarted: step.nodesStarted, nodesTotal: step.nodesTotal });
        },
      });
      const client = await connect({ endpoints: cluster.endpoints(), token: cluster.spec.adminToken, requestTimeoutMs: this.connectTimeoutMs });
      if (signal.aborted) {
        void client.close();
        throw new Error('the launch was stopped');
      }
      const [{ role }, topology] = await Promise.all([client.whoami(), client.topology()]);
      entry.client = client;
      entry.role = role;
      entry.state = 'open';
      entry.error = null;
      entry.launch = { stage: 'ready', message: topology.leader ? `ready: leader ${topology.leader.id} in ${topology.leader.datacenter}` : 'ready', nodesStarted: total, nodesTotal: total };
      this.changed();
      this.startWatchers(entry, client, topology);
      return summarize(entry);
    } catch (err) {
      const reason = (err as Error).message ?? String(err);
      if (signal.aborted) throw new ApiError('Unavailable', `the launch of ${entry.name} was stopped`);
      // Leave the data dir (its node.log files explain the failure) until the cluster is stopped.
      await entry.cluster?.stopAll().catch(() => undefined);
      entry.cluster?.stopControl();
      entry.state = 'error';
      entry.error = { code: 'Unavailable', message: `the local cluster did not start: ${reason}` };
      this.setLaunch(entry, { stage: 'failed', message: reason, nodesStarted: entry.launch?.nodesStarted ?? 0, nodesTotal: total });
      throw new ApiError('Unavailable', `the local cluster did not start: ${reason}`);
    }
  }

  /** stopLocal stops a local cluster's nodes, removes its data dir and forgets it. */
  private async stopLocal(entry: Entry, announce: boolean): Promise<null> {
    entry.abort?.abort();
    const nodes = entry.cluster?.spec.nodes.length ?? entry.launch?.nodesTotal ?? 0;
    this.disconnect(entry, 'closed', null);
    if (announce) this.setLaunch(entry, { stage: 'stopping', message: `stopping ${nodes} nodes`, nodesStarted: entry.launch?.nodesStarted ?? 0, nodesTotal: nodes });
    // NB: wait for a launch in flight to notice the abort first, or it could spawn after the stop.
    await entry.launching;
    const cluster = entry.cluster;
    if (cluster) {
      cluster.stopControl();
      await cluster.stopAll();
      rmSync(cluster.dataDir, { recursive: true, force: true });
    }
    if (announce) this.setLaunch(entry, { stage: 'stopped', message: 'stopped', nodesStarted: 0, nodesTotal: nodes });
    this.entries.delete(entry.id);
    if (announce) this.changed();
    return null;
  }
}

function blankEntry(id: string, kind: 'local' | 'remote', order: number): Entry {
  return {
    id,
    kind,
    saved: false,
    name: id,
    group: '',
    endpoints: [],
    token: '',
    ca: null,
    readOnly: false,
    clusterId: null,
    state: 'closed',
    error: null,
    role: null,
    launch: null,
    local: null,
    cluster: null,
    client: null,
    poller: null,
    topology: null,
    appliedMark: null,
    locksPushedAt: 0,
    locksTimer: null,
    metrics: new MetricsSeries(),
    sampler: null,
    kvHistory: null,
    kvWatcher: null,
    kvPending: [],
    kvTimer: null,
    generation: 0,
    opening: null,
    launching: null,
    abort: null,
    stopping: null,
    order,
  };
}

/** summarize is a connection as the renderer may see it: no token, no CA. */
function summarize(entry: Entry): ConnectionSummary {
  return {
    id: entry.id,
    name: entry.name,
    group: entry.group,
    kind: entry.kind,
    endpoints: [...entry.endpoints],
    hasToken: entry.token !== '',
    hasCa: entry.ca !== null,
    readOnly: entry.readOnly,
    clusterId: entry.clusterId,
    saved: entry.saved,
    state: entry.state,
    error: entry.error,
    role: entry.role,
    launch: entry.launch,
    local: entry.local === null ? null : { dataDir: entry.local.dataDir, datacenters: [...entry.local.datacenters], layout: [...entry.local.layout] },
  };
}

/**
 * findLock reads one lock by name: the first name at or after it in name order is the lock itself
 * when it exists, so a window of one answers, however many names share the prefix.
 */
async function findLock(client: WardenClient, name: string, serializable: boolean): Promise<{ lock: LockView | null; now: number }> {
  const page = await client.locks.query({ prefix: name, sort: 'name', limit: 1, ...(serializable ? { serializable: true } : {}) });
  const first = page.locks[0];
  return { lock: first !== undefined && first.name === name ? first : null, now: page.now };
}

/** eventsIfAllowed lists events, or none for a token whose role may not read the audit log. */
async function eventsIfAllowed(client: WardenClient, query: { name: string; limit: number }): Promise<AuditEventView[]> {
  try {
    return await client.events.list(query);
  } catch (err) {
    if ((err as { code?: string }).code === 'PermissionDenied') return [];
    throw err;
  }
}

/** eventMatches is the free-text search of the events view: any field, case-insensitive. */
export function eventMatches(event: AuditEventView, text: string): boolean {
  const needle = text.toLowerCase();
  const fields = [event.kind, event.name, event.sessionId, event.actor, event.reason, event.token === null ? null : String(event.token), JSON.stringify(event.detail)];
  return fields.some((f) => f !== null && f.toLowerCase().includes(needle));
}

function faultArgs(request: FaultRequest): string[] {
  switch (request.action) {
    case 'stop':
    case 'kill':
    case 'restart':
      return [request.node];
    case 'isolate':
      return [request.datacenter];
    case 'heal':
      return [];
    case 'latency':
      return [request.from, request.to, String(request.ms)];
  }
}

/**
 * asApiError keeps the code of errors that have one the API knows (the SDK's, the store's) and
 * turns a launcher's usage mistake (an unknown node or datacenter) into InvalidArgument.
 */
function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof Error && err.name === 'UsageError') return new ApiError('InvalidArgument', err.message);
  const body = errorBody(err);
  const out = new ApiError(body.code, body.message);
  // A compare-and-set conflict keeps the key as it is now, so the editor can show both versions.
  if (body.current !== undefined) Object.assign(out, { current: body.current });
  return out;
}

/**
 * dial connects to whichever endpoint answers first. Each endpoint is tried on its own, in
 * parallel, so that a failure can say what went wrong with every one of them; the client kept
 * knows all endpoints (the one that answered first) and fails over between them later.
 */
async function dial(endpoints: readonly string[], token: string, ca: string | null, timeoutMs: number): Promise<WardenClient> {
  const caOption = ca === null ? {} : { ca };
  const reasons = new Map<string, string>();
  let settled = false;
  const winner = await new Promise<string>((resolveWinner, reject) => {
    let failed = 0;
    for (const endpoint of endpoints) {
      connect({ endpoints: [endpoint], token, requestTimeoutMs: timeoutMs, ...caOption }).then(
        (probe) => {
          void probe.close();
          if (settled) return;
          settled = true;
          resolveWinner(endpoint);
        },
        (err: unknown) => {
          const error = err as Error & { code?: string };
          if (!settled && error.code === 'Unauthenticated') {
            settled = true;
            reject(new ApiError('Unauthenticated', `the cluster refused the token (${endpoint}); check the connection's token`));
            return;
          }
          reasons.set(endpoint, reasonOf(endpoint, error.message));
          if (++failed === endpoints.length && !settled) {
            settled = true;
            const list = endpoints.map((e) => `${e} (${reasons.get(e) ?? 'no answer'})`).join('; ');
            reject(new ApiError('Unreachable', `no endpoint answered within ${(timeoutMs / 1000).toFixed(0)} s; tried ${list}`));
          }
        },
      );
    }
  });
  const ordered = [winner, ...endpoints.filter((e) => e !== winner)];
  // The winner answered a moment ago; a short pause and one retry cover a node that is restarting.
  try {
    return await connect({ endpoints: ordered, token, requestTimeoutMs: timeoutMs, ...caOption });
  } catch (err) {
    if ((err as { code?: string }).code === 'Unauthenticated') throw new ApiError('Unauthenticated', `the cluster refused the token (${winner}); check the connection's token`);
    await sleep(100);
    return connect({ endpoints: ordered, token, requestTimeoutMs: timeoutMs, ...caOption });
  }
}

function reasonOf(endpoint: string, message: string): string {
  const inner = /^cannot reach the cluster \((.*)\)$/s.exec(message)?.[1] ?? message;
  return inner.startsWith(`${endpoint}: `) ? inner.slice(endpoint.length + 2) : inner;
}

/**
 * TopologyPoller reads one connection's topology every interval and pushes each reading, or the
 * error of a failed one, and keeps going. There is one per open connection, however many
 * renderers listen. Reads never overlap: the next one is scheduled when the last one ends.
 */
class TopologyPoller {
  private readonly read: () => Promise<TopologyView>;
  private readonly push: (update: Omit<TopologyUpdate, 'connectionId'>) => void;
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | null = null;
  private inFlight = false;
  private again = false;
  private stopped = false;

  constructor(read: () => Promise<TopologyView>, push: (update: Omit<TopologyUpdate, 'connectionId'>) => void, intervalMs: number) {
    this.read = read;
    this.push = push;
    this.intervalMs = intervalMs;
  }

  /** start pushes a reading taken already (if any) and schedules the next. */
  start(first: TopologyView | null): void {
    if (first) this.push({ topology: first, error: null, at: Date.now() });
    this.schedule(first ? this.intervalMs : 0);
  }

  /** refreshNow reads at once (after a fault action), or right after a read in flight. */
  refreshNow(): void {
    if (this.stopped) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = null;
    if (this.stopped) return;
    this.inFlight = true;
    let update: Omit<TopologyUpdate, 'connectionId'>;
    try {
      update = { topology: await this.read(), error: null, at: Date.now() };
    } catch (err) {
      update = { topology: null, error: errorBody(err), at: Date.now() };
    }
    this.inFlight = false;
    if (this.stopped) return;
    this.push(update);
    const soon = this.again;
    this.again = false;
    this.schedule(soon ? 0 : this.intervalMs);
  }
}
