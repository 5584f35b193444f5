// Effectful. One logical connection from the SDK to a cluster: a WebSocket to one endpoint at a
// time, request ids, deadlines, failover between endpoints with backoff, and following the
// leader hint that followers give for writes.

import { WebSocket } from 'ws';
import type { ErrorCode, Method, Methods, PushEvent, WireError } from '../api/clientProtocol.ts';

/** WardenError is every error the SDK raises: a typed code, a message, and the leader if known. */
export class WardenError extends Error {
  override readonly name = 'WardenError';
  readonly code: ErrorCode;
  readonly leader: WireError['leader'];
  readonly current: WireError['current'];
  constructor(wire: WireError) {
    super(wire.message);
    this.code = wire.code;
    this.leader = wire.leader ?? null;
    this.current = wire.current ?? null;
  }
}

/** ConnectionOptions configure failover and deadlines. */
export interface ConnectionOptions {
  readonly endpoints: readonly string[];
  readonly token: string;
  /** A CA certificate (PEM) for wss:// endpoints with a private CA. */
  readonly ca?: string;
  /** Deadline for one call including retries (default 10 s). */
  readonly requestTimeoutMs?: number;
}

interface Pending {
  readonly ws: WebSocket;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: WardenError) => void;
}

/** CallOptions says whether a call may be retried after the connection drops mid-flight. */
export interface CallOptions {
  /** Idempotent calls (reads) are retried on another endpoint; writes fail with an unknown outcome. */
  readonly idempotent: boolean;
  readonly timeoutMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Connection multiplexes requests over one WebSocket and reconnects as needed. */
export class Connection {
  private readonly options: ConnectionOptions;
  private endpoints: string[];
  private current = 0;
  private ws: WebSocket | null = null;
  private opening: Promise<WebSocket> | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  /** Called with every pushed event. */
  onPush: ((event: PushEvent) => void) | null = null;
  /** Called after a new socket opened (the SDK re-establishes watches). */
  onReconnect: (() => void) | null = null;
  private everOpened = false;

  constructor(options: ConnectionOptions) {
    if (options.endpoints.length === 0) throw new WardenError({ code: 'InvalidArgument', message: 'at least one endpoint is required' });
    for (const e of options.endpoints) {
      if (!/^wss?:\/\//.test(e)) throw new WardenError({ code: 'InvalidArgument', message: `endpoint ${JSON.stringify(e)} must be a ws:// or wss:// URL` });
    }
    this.options = options;
    this.endpoints = [...options.endpoints];
  }

  /** endpoint is the URL currently in use. */
  get endpoint(): string {
    return this.endpoints[this.current] as string;
  }

  /** open connects to the first endpoint that answers; throws Unavailable if none does. */
  async open(): Promise<void> {
    await this.socket(Date.now() + (this.options.requestTimeoutMs ?? 10_000));
  }

  private async socket(deadline: number): Promise<WebSocket> {
    if (this.closed) throw new WardenError({ code: 'Unavailable', message: 'client is closed' });
    if (this.ws && this.ws.readyState === WebSocket.OPEN) return this.ws;
    if (!this.opening) {
      this.opening = this.dial(deadline).finally(() => {
        this.opening = null;
      });
    }
    return this.opening;
  }

  private async dial(deadline: number): Promise<WebSocket> {
    let delay = 50;
    let lastError = 'no endpoint answered';
    let certFailures = 0;
    for (let attempt = 0; Date.now() < deadline && !this.closed; attempt++) {
      const url = this.endpoint;
      try {
        const ws = await this.tryOpen(url, Math.max(100, Math.min(3000, deadline - Date.now())));
        this.ws = ws;
        const reconnect = this.everOpened;
        this.everOpened = true;
        if (reconnect) queueMicrotask(() => this.onReconnect?.());
        return ws;
      } catch (err) {
        if (err instanceof WardenError && (err.code === 'Unauthenticated' || err.code === 'PermissionDenied')) throw err;
        lastError = `${url}: ${(err as Error).message}`;
        // A certificate we do not trust will not become trusted by retrying: give up after a
        // whole round of endpoints refused that way.
        const code = (err as { code?: string }).code ?? '';
        certFailures = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code) ? certFailures + 1 : 0;
        if (certFailures >= this.endpoints.length) {
          throw new WardenError({ code: 'Unavailable', message: `TLS certificate not trusted (${lastError}); pass the CA that signed it` });
        }
        this.current = (this.current + 1) % this.endpoints.length;
        if ((attempt + 1) % this.endpoints.length === 0) {
          await sleep(Math.min(delay, Math.max(0, deadline - Date.now())));
          delay = Math.min(delay * 2, 1000);
        }
      }
    }
    throw new WardenError({ code: 'Unavailable', message: `cannot reach the cluster (${lastError})` });
  }

  private tryOpen(url: string, timeoutMs: number): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, {
        headers: { authorization: `Bearer ${this.options.token}` },
        handshakeTimeout: timeoutMs,
        maxPayload: 64 * 1024 * 1024,
        ...(this.options.ca ? { ca: this.options.ca } : {}),
      });
      let settled = false;
      ws.once('open', () => {
        settled = true;
        ws.on('message', (data) => this.onFrame(ws, data.toString()));
        ws.on('close', () => this.onClose(ws));
        resolve(ws);
      });
      ws.once('unexpected-response', (_req, res) => {
        settled = true;
        ws.terminate();
        if (res.statusCode === 401) reject(new WardenError({ code: 'Unauthenticated', message: `the cluster at ${url} refused the token` }));
        else reject(new Error(`HTTP ${res.statusCode}`));
      });
      ws.on('error', (err) => {
        if (!settled) {
          settled = true;
          reject(err);
        }
      });
    });
  }

  private onFrame(ws: WebSocket, text: string): void {
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    if (typeof frame.event === 'string') {
      // Pushes belong to the current socket's subscriptions; one we are leaving only answers calls.
      if (ws === this.ws) this.onPush?.(frame as unknown as PushEvent);
      return;
    }
    const id = frame.id;
    if (typeof id !== 'number') return;
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    if (pending.ws !== this.ws) this.closeIfIdle(pending.ws);
    if (frame.error) pending.reject(new WardenError(frame.error as WireError));
    else pending.resolve(frame.result);
  }

  private onClose(ws: WebSocket): void {
    if (this.ws === ws) this.ws = null;
    for (const [id, p] of this.pending) {
      if (p.ws !== ws) continue;
      this.pending.delete(id);
      p.reject(new WardenError({ code: 'Unavailable', message: 'connection lost' }));
    }
    if (!this.closed && this.everOpened && this.ws === null) {
      // Re-dial in the background so that watches resume without waiting for a call.
      this.socket(Date.now() + 60_000).catch(() => undefined);
    }
  }

  private sendOnce<M extends Method>(ws: WebSocket, method: M, params: Methods[M]['params'], timeoutMs: number): Promise<Methods[M]['result']> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.pending.delete(id)) return;
        if (ws !== this.ws) this.closeIfIdle(ws);
        reject(new WardenError({ code: 'Timeout', message: `${method} timed out after ${timeoutMs} ms` }));
      }, timeoutMs);
      this.pending.set(id, {
        ws,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as Methods[M]['result']);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /**
   * call sends one request, following leader hints and retrying transient failures until the
   * deadline. Writes are retried only when the server says they were not applied.
   */
  async call<M extends Method>(method: M, params: Methods[M]['params'], options: CallOptions): Promise<Methods[M]['result']> {
    const deadline = Date.now() + (options.timeoutMs ?? this.options.requestTimeoutMs ?? 10_000);
    let delay = 25;
    for (;;) {
      // NB: skip the await when the socket is open: one fewer promise and microtask per call.
      const open = this.ws !== null && this.ws.readyState === WebSocket.OPEN && !this.closed ? this.ws : null;
      const ws = open ?? (await this.socket(deadline));
      try {
        return await this.sendOnce(ws, method, params, Math.max(1, deadline - Date.now()));
      } catch (err) {
        if (!(err instanceof WardenError)) throw err;
        const retriable =
          err.code === 'NotLeader' ||
          (err.code === 'Unavailable' && (options.idempotent || err.message !== 'connection lost'));
        if (!retriable || Date.now() >= deadline) {
          if (err.code === 'Unavailable' && err.message === 'connection lost' && !options.idempotent) {
            throw new WardenError({ code: 'Unavailable', message: 'connection lost before the answer; the outcome is unknown' });
          }
          throw err;
        }
        if (err.code === 'NotLeader' && err.leader?.clientUrl) this.switchTo(err.leader.clientUrl);
        else if (err.code === 'NotLeader' || err.message === 'connection lost') this.rotate();
        await sleep(Math.min(delay, Math.max(0, deadline - Date.now())));
        delay = Math.min(delay * 2, 500);
      }
    }
  }

  private switchTo(url: string): void {
    let at = this.endpoints.indexOf(url);
    if (at < 0) {
      this.endpoints.push(url);
      at = this.endpoints.length - 1;
    }
    if (at === this.current && this.ws) return;
    this.current = at;
    const old = this.ws;
    this.ws = null;
    if (old) this.closeIfIdle(old);
  }

  private rotate(): void {
    this.current = (this.current + 1) % this.endpoints.length;
    const old = this.ws;
    this.ws = null;
    if (old) this.closeIfIdle(old);
  }

  /**
   * closeIfIdle closes a socket we moved away from once no call waits on it. NB: calls sent on it
   * before the move (say, to a follower) still get their answers, usually NotLeader, which
   * they retry on the leader; closing at once would turn each into "outcome unknown".
   */
  private closeIfIdle(ws: WebSocket): void {
    for (const p of this.pending.values()) if (p.ws === ws) return;
    ws.close();
  }

  /** close ends the connection; pending calls fail with Unavailable. */
  close(): void {
    this.closed = true;
    const ws = this.ws;
    this.ws = null;
    ws?.close();
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new WardenError({ code: 'Unavailable', message: 'client is closed' }));
    }
  }
}
