// Effectful. The Warden TypeScript SDK: `connect({endpoints, token})` returns a client for the
// configuration namespace and cluster status (sessions and locks join as they land). It fails
// over between endpoints, follows the leader for writes, and resumes watches in order.

import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { basename } from 'node:path';
import type { AuditEventView, ClusterStatus, KvItem, LockListParams, LockView, NetworkFaults, PushEvent, Role, SessionInfoWire, SessionView, TopologyView, WatchEvent } from '../api/clientProtocol.ts';
import { Connection, WardenError } from './connection.ts';
import { Session } from './session.ts';

export { WardenError } from './connection.ts';
export { Session } from './session.ts';
export type { Lock, LockLost, SessionEnded, AcquireOptions } from './session.ts';
export type { AuditEventView, ClusterStatus, KvItem, LockListParams, LockSortWire, LockView, NetworkFaults, Role, SessionView, TopologyView, WatchEvent, ErrorCode, StuckReason } from '../api/clientProtocol.ts';

/** ConnectOptions: the cluster's client endpoints and a bearer token. */
export interface ConnectOptions {
  readonly endpoints: readonly string[];
  readonly token: string;
  /** PEM CA for wss:// endpoints signed by a private CA. */
  readonly ca?: string;
  /** Deadline for one call, retries included (default 10 s). */
  readonly requestTimeoutMs?: number;
}

/** Watcher delivers changes under a prefix in revision order, resuming after reconnects. */
export class Watcher extends EventEmitter<{ event: [WatchEvent]; error: [WardenError] }> {
  readonly prefix: string;
  /** The last revision delivered (or the revision the watch started after). */
  lastRevision: number;
  private readonly client: WardenClient;
  watchId: number | null = null;
  private closed = false;
  private readonly buffered: WatchEvent[] = [];
  private waiter: ((v: IteratorResult<WatchEvent>) => void) | null = null;

  constructor(client: WardenClient, prefix: string, lastRevision: number) {
    super();
    this.client = client;
    this.prefix = prefix;
    this.lastRevision = lastRevision;
    // Events that arrived before anyone listened (the backlog of a resumed watch) go to the
    // first 'event' listener, in order, right after it is attached.
    (this as EventEmitter).on('newListener', (name: string | symbol) => {
      if (name !== 'event' || this.buffered.length === 0) return;
      queueMicrotask(() => {
        for (const event of this.buffered.splice(0)) this.emit('event', event);
      });
    });
  }

  /** deliver is called by the client with pushed events; duplicates after a resume are dropped. */
  deliver(events: readonly WatchEvent[]): void {
    for (const event of events) {
      if (event.revision <= this.lastRevision) continue;
      this.lastRevision = event.revision;
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w({ value: event, done: false });
      } else if (this.listenerCount('event') === 0) {
        this.buffered.push(event);
      }
      this.emit('event', event);
    }
  }

  fail(err: WardenError): void {
    this.closed = true;
    if (this.listenerCount('error') > 0) this.emit('error', err);
    this.waiter?.({ value: undefined, done: true });
  }

  /** Iterate events with `for await`; ends when the watcher is closed. */
  async *[Symbol.asyncIterator](): AsyncGenerator<WatchEvent> {
    for (;;) {
      const next = this.buffered.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.closed) return;
      const result = await new Promise<IteratorResult<WatchEvent>>((resolve) => {
        this.waiter = resolve;
      });
      if (result.done) return;
      yield result.value;
    }
  }

  /** close stops the watch. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.waiter?.({ value: undefined, done: true });
    await this.client.unwatch(this);
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

/** KvApi is the configuration namespace. */
export interface KvApi {
  /** get reads a key linearizably (or serializably, from the connected node, when asked). */
  get(key: string, options?: { serializable?: boolean }): Promise<KvItem | null>;
  /** put writes a value; with expectRevision it is a compare-and-set (0 = create only). */
  put(key: string, value: string, options?: { expectRevision?: number }): Promise<{ revision: number; prev: KvItem | null }>;
  /** delete removes a key; resolves to whether it existed. */
  delete(key: string, options?: { expectRevision?: number }): Promise<boolean>;
  list(prefix: string, options?: { limit?: number; serializable?: boolean }): Promise<KvItem[]>;
  /** getWithRevision is get plus the global revision the read saw, for compare-and-set editors. */
  getWithRevision(key: string, options?: { serializable?: boolean }): Promise<{ item: KvItem | null; revision: number }>;
  /** listWithRevision is list plus the global revision the read saw (a watch can start after it). */
  listWithRevision(prefix: string, options?: { limit?: number; serializable?: boolean }): Promise<{ items: KvItem[]; revision: number }>;
  /** watch streams changes under a prefix, from `fromRevision` if given, else from now. */
  watch(prefix: string, options?: { fromRevision?: number }): Promise<Watcher>;
}

/** LocksApi lists locks and checks sequencers. */
export interface LocksApi {
  /** list shows holders, waiters, tokens, ages, keep-alive ages, lock-delay left and stuck reasons. */
  list(options?: { prefix?: string; stuckOnly?: boolean; limit?: number }): Promise<LockView[]>;
  /**
   * query filters, sorts and pages on the cluster, for views of very many locks: only the window
   * asked for travels, with the number of locks that matched and the clock the ages are read at.
   */
  query(query?: LockListParams): Promise<{ locks: LockView[]; total: number; now: number }>;
}

/** AdminApi holds operations that need the admin role. */
export interface AdminApi {
  /** forceRelease frees a stuck lock: audited, no lock-delay, the old holder told, the token moves on. */
  forceRelease(name: string, options: { reason: string }): Promise<{ previous: { sessionId: string; token: number }[]; next: { sessionId: string; token: number }[] }>;
  /** closeSession ends another client's session (audited). */
  closeSession(sessionId: string, options: { reason: string }): Promise<void>;
  getSettings(): Promise<Record<string, unknown>>;
  setSettings(patch: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/** EventsApi queries the replicated event and audit log. */
export interface EventsApi {
  list(query?: { since?: number; until?: number; name?: string; kind?: string; actor?: string; limit?: number }): Promise<AuditEventView[]>;
}

/** WardenClient is a connected client. */
export class WardenClient {
  private readonly connection: Connection;
  private readonly watchers = new Set<Watcher>();
  private readonly sessions = new Set<Session>();
  private readonly token: string;
  private homeDatacenter: string | null = null;
  readonly kv: KvApi;
  readonly locks: LocksApi;
  readonly admin: AdminApi;
  readonly events: EventsApi;

  constructor(options: ConnectOptions) {
    this.token = options.token;
    this.connection = new Connection({
      endpoints: options.endpoints,
      token: options.token,
      ...(options.ca ? { ca: options.ca } : {}),
      ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    });
    this.connection.onPush = (event) => this.onPush(event);
    this.connection.onReconnect = () => {
      this.resumeWatches();
      for (const session of this.sessions) session.keepAliveNow();
    };
    const call = this.connection.call.bind(this.connection);
    this.locks = {
      list: async (o) => (await call('locks.list', { ...(o?.prefix ? { prefix: o.prefix } : {}), ...(o?.stuckOnly ? { stuckOnly: true } : {}), ...(o?.limit ? { limit: o.limit } : {}) }, { idempotent: true })).locks,
      query: async (q) => {
        const { locks, total, now } = await call('locks.list', { ...q }, { idempotent: true });
        return { locks, total, now };
      },
    };
    this.admin = {
      forceRelease: (name, o) => call('admin.forceRelease', { name, reason: o?.reason ?? '' }, { idempotent: false }),
      closeSession: async (sessionId, o) => {
        await call('session.close', { sessionId, reason: o?.reason ?? '' }, { idempotent: true });
      },
      getSettings: async () => (await call('settings.get', {}, { idempotent: true })).settings,
      setSettings: async (patch) => (await call('settings.set', { patch }, { idempotent: false })).settings,
    };
    this.events = {
      list: async (q) => (await call('events.list', { ...q }, { idempotent: true })).events,
    };
    this.kv = {
      get: async (key, o) => (await this.connection.call('kv.get', { key, ...(o?.serializable ? { serializable: true } : {}) }, { idempotent: true })).item,
      put: (key, value, o) => this.connection.call('kv.put', { key, value, expectRevision: o?.expectRevision ?? null }, { idempotent: false }),
      delete: async (key, o) => (await this.connection.call('kv.delete', { key, expectRevision: o?.expectRevision ?? null }, { idempotent: false })).deleted,
      list: async (prefix, o) => (await this.connection.call('kv.list', { prefix, ...(o?.limit ? { limit: o.limit } : {}), ...(o?.serializable ? { serializable: true } : {}) }, { idempotent: true })).items,
      watch: (prefix, o) => this.watch(prefix, o?.fromRevision ?? null),
      getWithRevision: (key, o) => this.connection.call('kv.get', { key, ...(o?.serializable ? { serializable: true } : {}) }, { idempotent: true }),
      listWithRevision: (prefix, o) => this.connection.call('kv.list', { prefix, ...(o?.limit ? { limit: o.limit } : {}), ...(o?.serializable ? { serializable: true } : {}) }, { idempotent: true }),
    };
  }

  /** open connects to the first reachable endpoint. */
  async open(): Promise<this> {
    await this.connection.open();
    // Best effort: sessions say which datacenter their client is in, that of the node it reached
    // first (later writes move to the leader, wherever it is).
    try {
      this.homeDatacenter = (await this.connection.call('node.report', {}, { idempotent: true, timeoutMs: 2000 })).datacenter;
    } catch {
      this.homeDatacenter = null;
    }
    return this;
  }

  /** datacenter is the datacenter of the node this client reached first, once connected. */
  get datacenter(): string | null {
    return this.homeDatacenter;
  }

  /** endpoint is the URL of the node this client currently talks to. */
  get endpoint(): string {
    return this.connection.endpoint;
  }

  /**
   * openSession opens a lease-backed session. The SDK keeps it alive; listen for 'jeopardy',
   * 'lockLost' and 'expired'. `info` describes this process for operators (defaults filled in);
   * `datacenter` says where it runs (default: the datacenter of the node this client reached first).
   */
  async openSession(options: { ttlMs?: number; info?: Partial<SessionInfoWire>; datacenter?: string } = {}): Promise<Session> {
    const info: SessionInfoWire = {
      host: options.info?.host ?? hostname(),
      pid: options.info?.pid ?? process.pid,
      app: options.info?.app ?? basename(process.argv[1] ?? 'node'),
      label: options.info?.label ?? '',
    };
    const datacenter = options.datacenter ?? this.homeDatacenter;
    const result = await this.connection.call('session.open', { ttlMs: options.ttlMs ?? 10_000, info, ...(datacenter ? { datacenter } : {}) }, { idempotent: false });
    const session = new Session(this.connection, result.sessionId, result.ttlMs, (s) => this.sessions.delete(s));
    this.sessions.add(session);
    return session;
  }

  /**
   * whoami asks the cluster which role this client's token grants, so that a tool (the console)
   * can show it and refuse what the role would refuse anyway, before the user tries.
   */
  async whoami(): Promise<{ role: Role }> {
    return this.connection.call('auth', { token: this.token }, { idempotent: true });
  }

  /** checkSequencer says whether `token` is still the current holder's token for `name`. */
  async checkSequencer(name: string, token: number): Promise<boolean> {
    return (await this.connection.call('lock.check', { name, token }, { idempotent: true })).current;
  }

  /**
   * listSessions lists sessions with TTL, keep-alive age, jeopardy and locks; `ids` narrows it to
   * some sessions and `locksLimit` cuts each session's lock lists (the counts stay whole).
   */
  async listSessions(options: { ids?: readonly string[]; locksLimit?: number } = {}): Promise<SessionView[]> {
    return (await this.querySessions(options)).sessions;
  }

  /** querySessions is listSessions with the cluster clock the keep-alive ages were read at. */
  async querySessions(options: { ids?: readonly string[]; locksLimit?: number; serializable?: boolean } = {}): Promise<{ sessions: SessionView[]; now: number }> {
    const params = {
      ...(options.ids !== undefined ? { ids: [...options.ids] } : {}),
      ...(options.locksLimit !== undefined ? { locksLimit: options.locksLimit } : {}),
      ...(options.serializable ? { serializable: true } : {}),
    };
    const { sessions, now } = await this.connection.call('sessions.list', params, { idempotent: true });
    return { sessions, now };
  }

  /** topology groups nodes by datacenter with the leader, lag and the measured RTT matrix. */
  topology(): Promise<TopologyView> {
    return this.connection.call('topology', {}, { idempotent: true });
  }

  /** changeMember makes one membership change (admin): add a voter or learner, promote, remove. */
  changeMember(type: 'addVoter' | 'addLearner' | 'promoteLearner' | 'removeNode', node: string): Promise<{ voters: string[]; learners: string[]; index: number }> {
    return this.connection.call('member.change', { type, node }, { idempotent: false, timeoutMs: 30_000 });
  }

  /** setNetworkFaults changes the connected node's injected faults (local clusters, admin). */
  setNetworkFaults(faults: Partial<NetworkFaults>): Promise<NetworkFaults> {
    return this.connection.call('fault.network', faults, { idempotent: true });
  }

  /** status reports the cluster: leader, term, revision, and every node's state and lag. */
  status(): Promise<ClusterStatus> {
    return this.connection.call('status', {}, { idempotent: true });
  }

  private async watch(prefix: string, fromRevision: number | null): Promise<Watcher> {
    const result = await this.connection.call('kv.watch', { prefix, fromRevision }, { idempotent: true });
    const watcher = new Watcher(this, prefix, fromRevision === null ? result.revision : fromRevision - 1);
    watcher.watchId = result.watchId;
    this.watchers.add(watcher);
    watcher.deliver(result.events);
    return watcher;
  }

  /** unwatch is called by Watcher.close. */
  async unwatch(watcher: Watcher): Promise<void> {
    this.watchers.delete(watcher);
    if (watcher.watchId === null) return;
    try {
      await this.connection.call('kv.unwatch', { watchId: watcher.watchId }, { idempotent: true, timeoutMs: 2000 });
    } catch {
      // The connection may be gone; the server drops its watches with it.
    }
  }

  private onPush(event: PushEvent): void {
    if (event.event === 'notice') {
      for (const session of this.sessions) session.notice(event.notice);
      return;
    }
    for (const watcher of this.watchers) {
      if (watcher.watchId !== event.watchId) continue;
      if (event.event === 'watch') watcher.deliver(event.events);
      else {
        // Resume from the last delivered revision on a fresh watch.
        watcher.watchId = null;
        void this.rewatch(watcher);
      }
    }
  }

  private resumeWatches(): void {
    for (const watcher of this.watchers) {
      watcher.watchId = null;
      void this.rewatch(watcher);
    }
  }

  private async rewatch(watcher: Watcher): Promise<void> {
    if (watcher.isClosed) return;
    try {
      const result = await this.connection.call('kv.watch', { prefix: watcher.prefix, fromRevision: watcher.lastRevision + 1 }, { idempotent: true, timeoutMs: 30_000 });
      watcher.watchId = result.watchId;
      watcher.deliver(result.events);
    } catch (err) {
      if (err instanceof WardenError && err.code === 'Compacted') {
        this.watchers.delete(watcher);
        watcher.fail(err);
      } else if (!watcher.isClosed && this.watchers.has(watcher)) {
        setTimeout(() => void this.rewatch(watcher), 200);
      }
    }
  }

  /**
   * close ends open sessions (releasing their locks at once), ends watchers and disconnects.
   * It waits at most a couple of seconds for the sessions to close.
   */
  async close(): Promise<void> {
    const sessions = [...this.sessions];
    if (sessions.length > 0) {
      await Promise.race([Promise.allSettled(sessions.map((s) => s.close())), new Promise((r) => setTimeout(r, 2000).unref?.())]);
    }
    for (const watcher of this.watchers) watcher.fail(new WardenError({ code: 'Unavailable', message: 'client closed' }));
    this.watchers.clear();
    this.connection.close();
  }
}

/** connect opens a client on the cluster. */
export async function connect(options: ConnectOptions): Promise<WardenClient> {
  return new WardenClient(options).open();
}
