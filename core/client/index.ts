// Effectful. The Warden TypeScript SDK: `connect({endpoints, token})` returns a client for the
// configuration namespace and cluster status (sessions and locks join as they land). It fails
// over between endpoints, follows the leader for writes, and resumes watches in order.

import { EventEmitter } from 'node:events';
import type { ClusterStatus, KvItem, PushEvent, WatchEvent } from '../api/clientProtocol.ts';
import { Connection, WardenError } from './connection.ts';

export { WardenError } from './connection.ts';
export type { ClusterStatus, KvItem, WatchEvent, ErrorCode } from '../api/clientProtocol.ts';

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
  /** watch streams changes under a prefix, from `fromRevision` if given, else from now. */
  watch(prefix: string, options?: { fromRevision?: number }): Promise<Watcher>;
}

/** WardenClient is a connected client. */
export class WardenClient {
  private readonly connection: Connection;
  private readonly watchers = new Set<Watcher>();
  readonly kv: KvApi;

  constructor(options: ConnectOptions) {
    this.connection = new Connection({
      endpoints: options.endpoints,
      token: options.token,
      ...(options.ca ? { ca: options.ca } : {}),
      ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    });
    this.connection.onPush = (event) => this.onPush(event);
    this.connection.onReconnect = () => this.resumeWatches();
    this.kv = {
      get: async (key, o) => (await this.connection.call('kv.get', { key, ...(o?.serializable ? { serializable: true } : {}) }, { idempotent: true })).item,
      put: (key, value, o) => this.connection.call('kv.put', { key, value, expectRevision: o?.expectRevision ?? null }, { idempotent: false }),
      delete: async (key, o) => (await this.connection.call('kv.delete', { key, expectRevision: o?.expectRevision ?? null }, { idempotent: false })).deleted,
      list: async (prefix, o) => (await this.connection.call('kv.list', { prefix, ...(o?.limit ? { limit: o.limit } : {}), ...(o?.serializable ? { serializable: true } : {}) }, { idempotent: true })).items,
      watch: (prefix, o) => this.watch(prefix, o?.fromRevision ?? null),
    };
  }

  /** open connects to the first reachable endpoint. */
  async open(): Promise<this> {
    await this.connection.open();
    return this;
  }

  /** endpoint is the URL of the node this client currently talks to. */
  get endpoint(): string {
    return this.connection.endpoint;
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

  /** close disconnects; open watchers end. */
  close(): void {
    for (const watcher of this.watchers) watcher.fail(new WardenError({ code: 'Unavailable', message: 'client closed' }));
    this.watchers.clear();
    this.connection.close();
  }
}

/** connect opens a client on the cluster. */
export async function connect(options: ConnectOptions): Promise<WardenClient> {
  return new WardenClient(options).open();
}
