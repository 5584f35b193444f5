// Effectful only in virtual time. LockWorkload is the simulated lock clients and their operator.
// Each client opens a session, keeps it alive on the node it believes leads (like the SDK: every
// TTL/5, one keep-alive in flight), and cycles through acquire (exclusive or shared, try-lock or
// waiting), hold and release; sometimes it closes its session, and sometimes it lets it lapse on
// purpose: it stops its keep-alives and either sits on the lock it holds or keeps acquiring with
// the dead session. The operator sets the lock-delay and now and then force-releases a lock.
// Requests cross the same lossy, delayed client link as the KV workload's.

import { assert } from '../../../core/util/assert.ts';
import type { Prng } from '../../../core/util/prng.ts';
import type { LockMode } from '../../../core/lock/commands.ts';
import type { Reply } from '../../../core/lock/lockMachine.ts';
import type { NodeId } from '../../../core/raft/types.ts';
import type { KeepAliveResult, LockCluster, LockNodes, NodeAnswer } from './lockApp.ts';
import { EventKind, type SimClock, type SimEvent } from './simClock.ts';

/** LockWorkloadConfig shapes the lock clients; the swarm derives it from the seed. */
export interface LockWorkloadConfig {
  readonly clients: number;
  readonly locks: readonly string[];
  /** Session TTL asked for by every client. */
  readonly ttlMs: number;
  /** Cluster lock-delay the operator sets at the start (and moves among `lockDelayChoicesMs`). */
  readonly lockDelayMs: number;
  readonly lockDelayChoicesMs: readonly number[];
  /** A client waits uniformly in [0, thinkMs) between operations. */
  readonly thinkMs: number;
  /** A client holds a lock uniformly in [0, holdMs). */
  readonly holdMs: number;
  /** A request without an answer after this long has an unknown outcome. */
  readonly timeoutMs: number;
  readonly linkDelayMs: number;
  readonly linkJitterMs: number;
  readonly linkLossRate: number;
  /** Fraction of acquires in shared mode. */
  readonly sharedRatio: number;
  /** Fraction of acquires that wait (up to 2 TTLs) instead of trying once. */
  readonly waitRatio: number;
  /** Fraction of acquires that carry their own lock-delay. */
  readonly overrideRatio: number;
  /** Per operation: probability that the client stops its keep-alives. */
  readonly lapseRate: number;
  /** Per operation: probability that the client closes its session. */
  readonly closeRate: number;
  /** Mean time between forced releases (0: never). */
  readonly forceMeanMs: number;
  /** Mean time between lock-delay changes (0: never). */
  readonly settingsMeanMs: number;
}

/** ClientObserver is told what each client believes it holds (the lock checker's client view). */
export interface ClientObserver {
  believes(client: number, name: string, sessionId: string, token: number, mode: LockMode): void;
  forgets(client: number, name: string): void;
  /** A node answered SessionNotFound to a keep-alive of this session. */
  sessionNotFound(client: number, sessionId: string): void;
  /**
   * A keep-alive sent at `sentAt` was acknowledged: like the SDK, the client now counts itself
   * safe (out of jeopardy) until `sentAt + ttlMs / 2`.
   */
  renewed(client: number, sessionId: string, sentAt: number, ttlMs: number): void;
}

/** LockWorkloadStats counts outcomes, for the report and the trace hash. */
export interface LockWorkloadStats {
  requests: number;
  unknown: number;
  sessionsOpened: number;
  sessionsClosed: number;
  sessionsLost: number;
  lapses: number;
  grants: number;
  wouldBlock: number;
  released: number;
  notHolder: number;
  forced: number;
  keepAliveAcks: number;
  lostByReconcile: number;
  settingsChanged: number;
}

interface ClientSession {
  readonly id: string;
  readonly ttlMs: number;
  lastAckSend: number;
  /** When the last keep-alive answer arrived (virtual time). */
  lastAckAt: number;
  lapsing: boolean;
  /** While lapsing: hold on to the next lock granted instead of releasing it. */
  sitOnGrant: boolean;
  ended: boolean;
  keepAliveEvent: SimEvent | null;
  keepAliveInFlight: boolean;
}

interface LockClient {
  readonly index: number;
  target: number;
  session: ClientSession | null;
  /** The lock this client believes it holds, if any (one at a time). */
  belief: { readonly name: string; readonly token: number; readonly sessionId: string } | null;
}

interface AcquireRequest {
  readonly name: string;
  readonly mode: LockMode;
  readonly waitMs: number;
  readonly lockDelayMs: number | null;
}

/** RETRIES bounds retries of one request with an unclear outcome before the client cleans up by closing its session. */
const RETRIES = 6;

/**
 * LockWorkload drives the lock clients and the operator. It judges nothing: it reports beliefs
 * to the observer, and the lock checker compares them with what the replicas applied.
 */
export class LockWorkload {
  readonly stats: LockWorkloadStats = {
    requests: 0,
    unknown: 0,
    sessionsOpened: 0,
    sessionsClosed: 0,
    sessionsLost: 0,
    lapses: 0,
    grants: 0,
    wouldBlock: 0,
    released: 0,
    notHolder: 0,
    forced: 0,
    keepAliveAcks: 0,
    lostByReconcile: 0,
    settingsChanged: 0,
  };
  private readonly clock: SimClock;
  private readonly prng: Prng;
  private readonly cluster: LockCluster;
  private readonly nodes: LockNodes;
  private readonly config: LockWorkloadConfig;
  private readonly observer: ClientObserver;
  private readonly clients: LockClient[] = [];
  private adminTarget = 0;
  private inflight = 0;
  private running = false;
  private finished = false;

  constructor(clock: SimClock, prng: Prng, cluster: LockCluster, nodes: LockNodes, config: LockWorkloadConfig, observer: ClientObserver) {
    assert(config.clients > 0 && config.locks.length > 0, 'a lock workload needs clients and locks');
    this.clock = clock;
    this.prng = prng;
    this.cluster = cluster;
    this.nodes = nodes;
    this.config = config;
    this.observer = observer;
  }

  /** timeoutMs is how long a client waits for an answer. */
  get timeoutMs(): number {
    return this.config.timeoutMs;
  }

  /** busy says whether any request still waits for an answer. */
  get busy(): boolean {
    return this.inflight > 0;
  }

  /** start launches the clients and the operator. */
  start(): void {
    this.running = true;
    this.adminTarget = this.prng.int(this.cluster.nodes.length);
    for (let index = 0; index < this.config.clients; index++) {
      const client: LockClient = { index, target: this.prng.int(this.cluster.nodes.length), session: null, belief: null };
      this.clients.push(client);
      this.later(this.prng.next() * this.config.thinkMs, () => this.next(client));
    }
    this.setLockDelay(this.config.lockDelayMs, true);
    if (this.config.forceMeanMs > 0) this.scheduleForce();
    if (this.config.settingsMeanMs > 0) this.scheduleSettings();
  }

  /** stop starts no new cycles; requests in flight finish, sessions keep being renewed. */
  stop(): void {
    this.running = false;
  }

  /** finish stops every keep-alive: the run is over. */
  finish(): void {
    this.running = false;
    this.finished = true;
    for (const client of this.clients) if (client.session) this.stopKeepAlive(client.session);
  }

  /**
   * probe is the liveness phase's check that locks still work: a fresh client opens a session,
   * takes and releases a lock nobody else uses, and closes the session, retrying each step
   * until it gets a definite answer or the deadline passes; and every regular client whose
   * session is live (not lapsing on purpose) gets a keep-alive answered after `since`.
   * `deadline()` is asked each time (the liveness phase may extend it); `done` gets null or what failed.
   */
  probe(since: number, deadline: () => number, done: (failure: string | null) => void): void {
    this.probeSequence(deadline, (failure) => {
      if (failure !== null) {
        done(failure);
        return;
      }
      const poll = (): void => {
        const stuck = this.clients.filter((c) => c.session && !c.session.ended && !c.session.lapsing && c.session.lastAckAt < since);
        if (stuck.length === 0) done(null);
        else if (this.clock.now >= deadline()) done(`session(s) ${stuck.map((c) => `${c.session?.id} of client ${c.index}`).join(', ')} got no keep-alive answer after healing`);
        else this.later(50, poll);
      };
      poll();
    });
  }

  private probeSequence(deadline: () => number, done: (failure: string | null) => void): void {
    const client: LockClient = { index: this.clients.length, target: this.prng.int(this.cluster.nodes.length), session: null, belief: null };
    const name = 'probe';
    const retry = (step: string, again: () => void): void => {
      if (this.clock.now >= deadline()) done(`probe could not ${step} by the deadline`);
      else this.later(this.config.linkDelayMs + this.prng.next() * 50, again);
    };
    const open = (): void =>
      this.call<Reply>(client, (node, answer) => this.nodes.openSession(node, this.config.ttlMs, this.info(client), answer), (a) => {
        if (a.kind === 'ok' && a.value.ok && 'kind' in a.value && a.value.kind === 'session') {
          const session = this.newSession(client, a.value.sessionId, a.value.ttlMs, this.clock.now);
          acquire(session);
        } else {
          this.retarget(client, a);
          retry('open a session', open);
        }
      });
    const acquire = (session: ClientSession): void =>
      this.call<Reply>(client, (node, answer) => this.nodes.acquire(node, session.id, name, 'exclusive', 0, null, answer), (a) => {
        if (a.kind === 'ok' && a.value.ok && 'kind' in a.value && a.value.kind === 'granted') {
          this.believe(client, session, name, a.value.token, a.value.mode);
          release(session);
        } else if (a.kind === 'ok' && !a.value.ok && a.value.code === 'SessionNotFound') {
          this.endSession(client, session);
          retry('keep its session', open);
        } else {
          this.retarget(client, a);
          retry(`acquire ${name}`, () => acquire(session));
        }
      });
    const release = (session: ClientSession): void => {
      this.forget(client);
      this.call<Reply>(client, (node, answer) => this.nodes.release(node, session.id, name, answer), (a) => {
        if (a.kind === 'ok' && (a.value.ok || a.value.code === 'NotHolder' || a.value.code === 'SessionNotFound')) close(session);
        else {
          this.retarget(client, a);
          retry(`release ${name}`, () => release(session));
        }
      });
    };
    const close = (session: ClientSession): void =>
      this.call<Reply>(client, (node, answer) => this.nodes.closeSession(node, session.id, answer), (a) => {
        if (a.kind === 'ok' && (a.value.ok || a.value.code === 'SessionNotFound')) {
          this.endSession(client, session);
          done(null);
        } else {
          this.retarget(client, a);
          retry('close its session', () => close(session));
        }
      });
    open();
  }

  // -------------------------------------------------------------------------------------------
  // The client cycle.

  private next(client: LockClient): void {
    if (!this.running) return;
    const session = client.session;
    if (!session || session.ended) {
      client.session = null;
      this.open(client);
      return;
    }
    if (this.prng.chance(this.config.closeRate)) {
      this.close(client, session, 0);
      return;
    }
    if (!session.lapsing && this.prng.chance(this.config.lapseRate)) {
      // Stop renewing on purpose: the session must expire, its locks enter lock-delay, and
      // whatever this client sends with it afterwards must be refused.
      session.lapsing = true;
      session.sitOnGrant = this.prng.chance(0.6);
      this.stats.lapses++;
      this.stopKeepAlive(session);
    }
    const c = this.config;
    const request: AcquireRequest = {
      name: this.prng.pick(c.locks),
      mode: this.prng.chance(c.sharedRatio) ? 'shared' : 'exclusive',
      waitMs: this.prng.chance(c.waitRatio) ? this.prng.range(50, 2 * c.ttlMs) : 0,
      lockDelayMs: this.prng.chance(c.overrideRatio) ? this.prng.pick(c.lockDelayChoicesMs) : null,
    };
    this.acquire(client, session, request, 0);
  }

  private open(client: LockClient): void {
    const sent = this.clock.now;
    this.call<Reply>(client, (node, answer) => this.nodes.openSession(node, this.config.ttlMs, this.info(client), answer), (a) => {
      if (a.kind === 'ok') {
        const reply = a.value;
        assert(reply.ok && 'kind' in reply && reply.kind === 'session', `session.open refused: ${JSON.stringify(reply)}`);
        this.newSession(client, reply.sessionId, reply.ttlMs, sent);
        this.stats.sessionsOpened++;
      } else this.retarget(client, a);
      this.think(client);
    });
  }

  private acquire(client: LockClient, session: ClientSession, request: AcquireRequest, attempt: number): void {
    const { name, mode, waitMs, lockDelayMs } = request;
    this.call<Reply>(
      client,
      (node, answer) => this.nodes.acquire(node, session.id, name, mode, waitMs, lockDelayMs, answer),
      (a) => {
        if (session.ended) {
          this.think(client);
          return;
        }
        if (a.kind !== 'ok') {
          // Maybe queued or granted: retry the same acquire, which is idempotent per session and name.
          this.retarget(client, a);
          if (attempt < RETRIES) this.later(this.config.linkDelayMs + this.prng.next() * 20, () => this.acquire(client, session, request, attempt + 1));
          else this.close(client, session, 0);
          return;
        }
        const reply = a.value;
        if (reply.ok && 'kind' in reply && reply.kind === 'granted') {
          this.stats.grants++;
          this.believe(client, session, name, reply.token, reply.mode);
          if (session.lapsing && session.sitOnGrant) this.sit(client, session, request);
          else this.later(this.prng.next() * this.config.holdMs, () => this.release(client, session, name, 0));
          return;
        }
        assert(!reply.ok, `unexpected acquire reply ${JSON.stringify(reply)}`);
        if (reply.code === 'WouldBlock') this.stats.wouldBlock++;
        else if (reply.code === 'SessionNotFound') this.endSession(client, session);
        else assert(false, `unexpected acquire refusal ${JSON.stringify(reply)}`);
        this.think(client);
      },
      request.waitMs + this.config.timeoutMs,
    );
  }

  /**
   * sit is a lapsed client hanging on to its lock: every half TTL it asks for the lock again
   * (idempotent while its session lives) to learn whether it still has it.
   */
  private sit(client: LockClient, session: ClientSession, request: AcquireRequest): void {
    this.later(session.ttlMs / 2 + this.prng.next() * 100, () => {
      if (session.ended || !this.running) {
        this.think(client);
        return;
      }
      this.call<Reply>(client, (node, answer) => this.nodes.acquire(node, session.id, request.name, request.mode, 0, request.lockDelayMs, answer), (a) => {
        if (session.ended) {
          this.think(client);
          return;
        }
        if (a.kind !== 'ok') {
          this.retarget(client, a);
          this.sit(client, session, request);
          return;
        }
        const reply = a.value;
        if (reply.ok && 'kind' in reply && reply.kind === 'granted') {
          this.believe(client, session, request.name, reply.token, reply.mode);
          this.sit(client, session, request);
          return;
        }
        this.forget(client);
        if (!reply.ok && reply.code === 'SessionNotFound') this.endSession(client, session);
        this.think(client);
      });
    });
  }

  private release(client: LockClient, session: ClientSession, name: string, attempt: number): void {
    if (session.ended) {
      this.forget(client);
      this.think(client);
      return;
    }
    // The client stops relying on the lock the moment it asks to release it.
    this.forget(client);
    this.call<Reply>(client, (node, answer) => this.nodes.release(node, session.id, name, answer), (a) => {
      if (a.kind !== 'ok') {
        this.retarget(client, a);
        // Retry until a definite answer, so that this release can never land after a later acquire of the same lock.
        if (attempt < RETRIES) this.later(this.config.linkDelayMs + this.prng.next() * 20, () => this.release(client, session, name, attempt + 1));
        else this.close(client, session, 0);
        return;
      }
      const reply = a.value;
      if (reply.ok) this.stats.released++;
      else if (reply.code === 'NotHolder') this.stats.notHolder++;
      else if (reply.code === 'SessionNotFound') this.endSession(client, session);
      else assert(false, `unexpected release reply ${JSON.stringify(reply)}`);
      this.think(client);
    });
  }

  private close(client: LockClient, session: ClientSession, attempt: number): void {
    this.stopKeepAlive(session);
    this.forget(client);
    this.call<Reply>(client, (node, answer) => this.nodes.closeSession(node, session.id, answer), (a) => {
      if (a.kind === 'ok') {
        assert(a.value.ok || a.value.code === 'SessionNotFound', `unexpected close reply ${JSON.stringify(a.value)}`);
        if (a.value.ok) this.stats.sessionsClosed++;
        this.endSession(client, session);
        this.think(client);
        return;
      }
      this.retarget(client, a);
      if (attempt < RETRIES) this.later(this.config.linkDelayMs + this.prng.next() * 20, () => this.close(client, session, attempt + 1));
      else {
        // Abandon it: without keep-alives it expires.
        this.endSession(client, session);
        this.think(client);
      }
    });
  }

  // -------------------------------------------------------------------------------------------
  // Sessions and keep-alives.

  private newSession(client: LockClient, id: string, ttlMs: number, sent: number): ClientSession {
    const session: ClientSession = { id, ttlMs, lastAckSend: sent, lastAckAt: this.clock.now, lapsing: false, sitOnGrant: false, ended: false, keepAliveEvent: null, keepAliveInFlight: false };
    client.session = session;
    this.observer.renewed(client.index, id, sent, ttlMs);
    this.scheduleKeepAlive(client, session, ttlMs / 5);
    return session;
  }

  private endSession(client: LockClient, session: ClientSession): void {
    if (!session.ended) this.stats.sessionsLost++;
    session.ended = true;
    this.stopKeepAlive(session);
    if (client.belief?.sessionId === session.id) this.forget(client);
    if (client.session === session) client.session = null;
  }

  private stopKeepAlive(session: ClientSession): void {
    this.clock.cancel(session.keepAliveEvent);
    session.keepAliveEvent = null;
  }

  private scheduleKeepAlive(client: LockClient, session: ClientSession, delayMs: number): void {
    this.stopKeepAlive(session);
    if (this.finished) return;
    session.keepAliveEvent = this.clock.schedule(delayMs, EventKind.client, -1, () => {
      session.keepAliveEvent = null;
      this.beat(client, session);
    });
  }

  /** beat is one keep-alive, like the SDK's: at most one in flight, answered within half the TTL. */
  private beat(client: LockClient, session: ClientSession): void {
    if (session.ended || session.lapsing || this.finished) return;
    this.scheduleKeepAlive(client, session, session.ttlMs / 5);
    if (session.keepAliveInFlight) return;
    session.keepAliveInFlight = true;
    const sent = this.clock.now;
    this.call<KeepAliveResult | 'SessionNotFound'>(
      client,
      (node, answer) => this.nodes.keepAlive(node, session.id, answer),
      (a) => {
        session.keepAliveInFlight = false;
        if (session.ended) return;
        if (a.kind !== 'ok') {
          this.retarget(client, a);
          if (a.kind === 'failed' && !session.lapsing) this.scheduleKeepAlive(client, session, this.config.linkDelayMs + this.prng.next() * 20);
          return;
        }
        if (a.value === 'SessionNotFound') {
          this.observer.sessionNotFound(client.index, session.id);
          this.endSession(client, session);
          return;
        }
        this.stats.keepAliveAcks++;
        session.lastAckSend = Math.max(session.lastAckSend, sent);
        session.lastAckAt = this.clock.now;
        this.observer.renewed(client.index, session.id, session.lastAckSend, session.ttlMs);
        // Reconcile, as the SDK does: a lock the leader does not list for us is lost.
        const belief = client.belief;
        if (belief && belief.sessionId === session.id && !a.value.locks.some((l) => l.name === belief.name && l.token === belief.token)) {
          this.stats.lostByReconcile++;
          this.forget(client);
        }
      },
      Math.min(this.config.timeoutMs, session.ttlMs / 2),
    );
  }

  // -------------------------------------------------------------------------------------------
  // The operator.

  private setLockDelay(lockDelayMs: number, untilDone: boolean): void {
    const admin: LockClient = { index: -1, target: this.adminTarget, session: null, belief: null };
    this.call<Reply>(admin, (node, answer) => this.nodes.setSettings(node, { lockDelayMs }, answer), (a) => {
      this.adminTarget = admin.target;
      if (a.kind === 'ok') {
        assert(a.value.ok, `settings refused: ${JSON.stringify(a.value)}`);
        this.stats.settingsChanged++;
        return;
      }
      this.retarget(admin, a);
      this.adminTarget = admin.target;
      if (untilDone && this.running) this.later(50 + this.prng.next() * 100, () => this.setLockDelay(lockDelayMs, true));
    });
  }

  private scheduleSettings(): void {
    this.later(-Math.log(1 - this.prng.next()) * this.config.settingsMeanMs, () => {
      if (!this.running) return;
      this.setLockDelay(this.prng.pick(this.config.lockDelayChoicesMs), false);
      this.scheduleSettings();
    });
  }

  private scheduleForce(): void {
    this.later(-Math.log(1 - this.prng.next()) * this.config.forceMeanMs, () => {
      if (!this.running) return;
      // An operator looks at the lock list first: prefer a lock that is held (or in lock-delay).
      const table = this.cluster.node(this.adminTarget).machine?.machine.table;
      const busy = this.config.locks.filter((name) => table?.locks.has(name));
      const name = this.prng.pick(busy.length > 0 && this.prng.chance(0.8) ? busy : this.config.locks);
      const admin: LockClient = { index: -1, target: this.adminTarget, session: null, belief: null };
      this.call<Reply>(admin, (node, answer) => this.nodes.forceRelease(node, name, 'simulated incident', answer), (a) => {
        if (a.kind === 'ok' && a.value.ok) this.stats.forced++;
        else if (a.kind !== 'ok') this.retarget(admin, a);
        this.adminTarget = admin.target;
      });
      this.scheduleForce();
    });
  }

  // -------------------------------------------------------------------------------------------
  // Plumbing.

  private believe(client: LockClient, session: ClientSession, name: string, token: number, mode: LockMode): void {
    client.belief = { name, token, sessionId: session.id };
    this.observer.believes(client.index, name, session.id, token, mode);
  }

  private forget(client: LockClient): void {
    const belief = client.belief;
    if (!belief) return;
    client.belief = null;
    this.observer.forgets(client.index, belief.name);
  }

  private info(client: LockClient): { host: string; pid: number; app: string; label: string } {
    return { host: `client${client.index}`, pid: 1000 + client.index, app: 'sim', label: '' };
  }

  private think(client: LockClient): void {
    this.later(this.prng.next() * this.config.thinkMs, () => this.next(client));
  }

  private later(delayMs: number, run: () => void): void {
    this.clock.schedule(delayMs, EventKind.client, -1, run);
  }

  private retarget(client: LockClient, answer: NodeAnswer<unknown>): void {
    const hint: NodeId | null = answer.kind === 'ok' ? null : answer.hint;
    client.target = hint !== null ? this.cluster.indexOf(hint) : this.prng.int(this.cluster.nodes.length);
  }

  /**
   * call sends one request to the client's target over the client link and reports the answer,
   * or 'unknown' after `timeoutMs` (a late answer is ignored: the client already gave up).
   */
  private call<T>(client: LockClient, run: (node: number, answer: (answer: NodeAnswer<T>) => void) => void, done: (answer: NodeAnswer<T>) => void, timeoutMs = this.config.timeoutMs): void {
    const target = client.target;
    this.stats.requests++;
    this.inflight++;
    let settled = false;
    const settle = (answer: NodeAnswer<T>): void => {
      if (settled) return;
      settled = true;
      this.inflight--;
      this.clock.cancel(timeout);
      if (answer.kind === 'unknown') this.stats.unknown++;
      done(answer);
    };
    const timeout = this.clock.schedule(timeoutMs, EventKind.client, -1, () => settle({ kind: 'unknown', hint: null, why: 'timeout' }));
    this.overLink(target, () => run(target, (answer) => this.overLink(-1, () => settle(answer))));
  }

  /** overLink runs `then` after a client-link delay, unless the link loses the packet. */
  private overLink(node: number, then: () => void): void {
    if (this.prng.chance(this.config.linkLossRate)) return;
    this.clock.schedule(this.config.linkDelayMs + this.prng.next() * this.config.linkJitterMs, EventKind.client, node, then);
  }
}
