// Effectful. A Chubby-style session in the SDK: keeps its lease alive with the leader, tells the
// application when it is unsure ("jeopardy", before the lease can have lapsed), acquires locks
// that carry fencing tokens, and reports a lost lock (forced release, expiry) as `lockLost`.

import { EventEmitter } from 'node:events';
import type { LockModeWire, NoticeWire } from '../api/clientProtocol.ts';
import type { Connection } from './connection.ts';
import { WardenError } from './connection.ts';

/** LockLost says which lock was lost, with which token, and why. */
export interface LockLost {
  readonly name: string;
  readonly token: number;
  readonly reason: 'forced' | 'expired' | 'closed' | 'missing';
  readonly actor: string | null;
  readonly detail: string | null;
}

/** SessionEnded says why a session is over. */
export interface SessionEnded {
  readonly reason: 'expired' | 'closed';
  readonly actor: string | null;
  readonly detail: string | null;
}

/** Lock is a held lock. `token` is the fencing token (sequencer) to pass to resources. */
export interface Lock {
  readonly name: string;
  readonly mode: LockModeWire;
  readonly token: number;
  /** release frees the lock; the next waiter is granted by the same commit. */
  release(): Promise<void>;
}

/** AcquireOptions: `waitMs` 0 is a try-lock; `lockDelayMs` overrides the lock-delay if this session expires. */
export interface AcquireOptions {
  readonly mode?: LockModeWire;
  readonly waitMs?: number;
  readonly lockDelayMs?: number;
}

type SessionEvents = {
  jeopardy: [];
  safe: [];
  lockLost: [LockLost];
  expired: [SessionEnded];
};

/** Session is an open session with its keep-alive loop. */
export class Session extends EventEmitter<SessionEvents> {
  readonly id: string;
  readonly ttlMs: number;
  private readonly connection: Connection;
  private readonly held = new Map<string, { token: number; mode: LockModeWire }>();
  private timer: NodeJS.Timeout | null = null;
  private lastAck: number;
  private inJeopardy = false;
  private ended = false;
  private keepAliveInFlight = false;
  private readonly onEnd: (s: Session) => void;

  constructor(connection: Connection, id: string, ttlMs: number, onEnd: (s: Session) => void) {
    super();
    this.connection = connection;
    this.id = id;
    this.ttlMs = ttlMs;
    this.lastAck = Date.now();
    this.onEnd = onEnd;
    const every = Math.max(20, Math.floor(ttlMs / 5));
    this.timer = setInterval(() => this.beat(), every);
    this.timer.unref?.();
  }

  /** isEnded says whether the session expired or was closed. */
  get isEnded(): boolean {
    return this.ended;
  }

  /** locks lists what this session believes it holds. */
  get locks(): { name: string; token: number; mode: LockModeWire }[] {
    return [...this.held].map(([name, h]) => ({ name, ...h }));
  }

  /** keepAliveNow renews at once (also used after a reconnect to re-attach notices). */
  keepAliveNow(): void {
    this.beat(true);
  }

  private beat(force = false): void {
    if (this.ended) return;
    const now = Date.now();
    const silentMs = now - this.lastAck;
    // Jeopardy at half the TTL: the lease cannot have lapsed yet, so the application still has
    // time to stop writing before another client could be granted its locks.
    if (!this.inJeopardy && silentMs > this.ttlMs / 2) {
      this.inJeopardy = true;
      this.emit('jeopardy');
    }
    if (this.keepAliveInFlight && !force) return;
    this.keepAliveInFlight = true;
    const started = Date.now();
    this.connection
      .call('session.keepAlive', { sessionId: this.id }, { idempotent: true, timeoutMs: Math.max(200, Math.floor(this.ttlMs / 2)) })
      .then((result) => {
        this.keepAliveInFlight = false;
        if (this.ended) return;
        this.lastAck = Math.max(this.lastAck, started);
        if (this.inJeopardy && Date.now() - this.lastAck <= this.ttlMs / 2) {
          this.inJeopardy = false;
          this.emit('safe');
        }
        // Reconcile: a lock we think we hold that the leader does not know was lost while we
        // were not listening (for example forced while disconnected).
        const known = new Set(result.locks.map((l) => `${l.name}\u0000${l.token}`));
        for (const [name, h] of [...this.held]) {
          if (!known.has(`${name}\u0000${h.token}`)) this.lose({ name, token: h.token, reason: 'missing', actor: null, detail: 'the leader no longer lists this lock for the session' });
        }
      })
      .catch((err: unknown) => {
        this.keepAliveInFlight = false;
        if (err instanceof WardenError && err.code === 'SessionNotFound') this.end({ reason: 'expired', actor: null, detail: err.message });
      });
  }

  /** notice handles a pushed notice for this session. */
  notice(n: NoticeWire): void {
    if (n.sessionId !== this.id || this.ended) return;
    if (n.type === 'lockLost') {
      this.lose({ name: n.name, token: n.token, reason: n.reason, actor: n.actor, detail: n.detail });
    } else if (n.type === 'sessionEnded') {
      this.end({ reason: n.reason, actor: n.actor, detail: n.detail });
    }
  }

  private lose(event: LockLost): void {
    const h = this.held.get(event.name);
    if (!h || h.token !== event.token) return;
    this.held.delete(event.name);
    this.emit('lockLost', event);
  }

  private end(event: SessionEnded): void {
    if (this.ended) return;
    for (const [name, h] of [...this.held]) this.lose({ name, token: h.token, reason: event.reason === 'expired' ? 'expired' : 'closed', actor: event.actor, detail: event.detail });
    this.stop();
    if (event.reason === 'expired' || event.actor !== null) this.emit('expired', event);
  }

  private stop(): void {
    this.ended = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.onEnd(this);
  }

  /**
   * acquire takes a lock: at once, after queueing up to `waitMs` (FIFO), or fails with
   * WouldBlock. The result carries the fencing token of the granting entry.
   */
  async acquire(name: string, options: AcquireOptions = {}): Promise<Lock> {
    if (this.ended) throw new WardenError({ code: 'SessionNotFound', message: `session ${this.id} has ended` });
    const mode = options.mode ?? 'exclusive';
    const waitMs = options.waitMs ?? 0;
    const result = await this.connection.call(
      'lock.acquire',
      { sessionId: this.id, name, mode, waitMs, lockDelayMs: options.lockDelayMs ?? null },
      { idempotent: true, timeoutMs: waitMs + 15_000 },
    );
    this.held.set(name, { token: result.token, mode: result.mode });
    const release = async (): Promise<void> => {
      const h = this.held.get(name);
      if (!h || h.token !== result.token) return; // already lost or released
      try {
        await this.connection.call('lock.release', { sessionId: this.id, name }, { idempotent: true });
      } catch (err) {
        if (!(err instanceof WardenError && err.code === 'NotHolder')) throw err;
      } finally {
        if (this.held.get(name)?.token === result.token) this.held.delete(name);
      }
    };
    return { name, mode: result.mode, token: result.token, release };
  }

  /** close ends the session: its locks are released at once, without lock-delay. */
  async close(): Promise<void> {
    if (this.ended) return;
    this.held.clear();
    this.stop();
    try {
      await this.connection.call('session.close', { sessionId: this.id }, { idempotent: true, timeoutMs: 5000 });
    } catch (err) {
      if (!(err instanceof WardenError && err.code === 'SessionNotFound')) throw err;
    }
  }
}
