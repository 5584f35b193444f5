// Effectful only in virtual time. The lock application on simulated nodes: the production
// LockMachine as every node's replicated state machine, and around it, per node, what
// core/server/wardenNode.ts and core/server/clientServer.ts do in production: leader duties on
// every tick (session expiry, clock entries), proposals answered "unknown" once leadership is
// lost, keep-alives recorded by the leader's lease keeper, and queued acquires that wait for the
// entry that grants them. Each node stamps entries with its own simulated wall clock.

import { assert } from '../../../core/util/assert.ts';
import { encodeCommand, type Command, type LockMode, type SessionInfo, type SettingsPatch } from '../../../core/lock/commands.ts';
import { LeaderDuties, settledOf } from '../../../core/lock/leaderDuties.ts';
import { LockMachine, type ApplyResult, type Reply } from '../../../core/lock/lockMachine.ts';
import type { Notice, Session } from '../../../core/lock/lockTable.ts';
import type { ProposalOutcome } from '../../../core/node/nodeHost.ts';
import type { BugName, Entry, NodeId, Role, SnapshotMeta, Term } from '../../../core/raft/types.ts';
import type { Cluster, SimMachine } from './cluster.ts';
import { EventKind, type SimClock, type SimEvent } from './simClock.ts';

/**
 * SimLockMachine adapts the production LockMachine to the simulator: apply, snapshot and restore
 * exactly as WardenNode wires them, plus a canonical digest and a restore notification (the lock
 * checker re-reads a node's state whenever a snapshot replaces it).
 */
export class SimLockMachine implements SimMachine<ApplyResult> {
  readonly machine = new LockMachine();
  private readonly onRestore: () => void;

  constructor(bugs: ReadonlySet<BugName>, onRestore: () => void = () => {}) {
    if (bugs.size > 0) this.machine.bugs = bugs;
    this.onRestore = onRestore;
  }

  apply(entry: Extract<Entry, { type: 'command' }>): ApplyResult {
    return this.machine.applyCommand(entry.data, entry.index);
  }

  snapshot(): Uint8Array {
    return this.machine.snapshot();
  }

  restore(data: Uint8Array, meta: SnapshotMeta): void {
    this.machine.restore(data, meta);
    this.onRestore();
  }

  /** digest renders sessions, locks, settings and the replicated clock in a canonical order. */
  digest(): string {
    const table = this.machine.table;
    const byKey = <T>(items: Iterable<[string, T]>): [string, T][] => [...items].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return JSON.stringify({
      now: this.machine.now,
      sessions: byKey(table.sessions.entries()),
      locks: byKey(table.locks.entries()),
      settings: table.settings,
      kv: this.machine.kv.revision,
    });
  }
}

/** LockCluster is a simulated cluster replicating the lock machine. */
export type LockCluster = Cluster<ApplyResult, SimLockMachine>;

/**
 * NodeAnswer is what a request to a node comes to, as that node can tell: the state machine's
 * reply (the command was applied), definitely not applied ('failed', with a leader hint), or
 * maybe applied ('unknown').
 */
export type NodeAnswer<T> =
  | { readonly kind: 'ok'; readonly value: T }
  | { readonly kind: 'failed'; readonly hint: NodeId | null; readonly why: string }
  | { readonly kind: 'unknown'; readonly hint: NodeId | null; readonly why: string };

/** KeepAliveResult is a keep-alive's answer: the session's TTL and the locks the leader says it holds. */
export interface KeepAliveResult {
  readonly ttlMs: number;
  readonly locks: readonly { readonly name: string; readonly token: number; readonly mode: LockMode }[];
}

/**
 * LockObserver is told what only the harness can know independently of the code under test:
 * who leads when, which keep-alives a leader received, and which expiries it proposed. The lock
 * checker implements it.
 */
export interface LockObserver {
  /** The node leads `term` (called whenever that is seen, before any duty of the tick). */
  leading(node: number, term: Term, localNow: number): void;
  /** A keep-alive (or a session open) was recorded by the leader's lease keeper. */
  keepAlive(node: number, term: Term, sessionId: string, localNow: number): void;
  /**
   * The leader proposed the expiry of a session (`stamp` is the command's, to match the entry;
   * `localNow` is the harness's own reading of the leader's clock; `ttlMs` is from its table).
   */
  expireProposed(node: number, term: Term, sessionId: string, stamp: number, localNow: number, ttlMs: number): void;
}

/** ClockModel is each node's wall clock: virtual time × rate + offset. */
export interface ClockModel {
  readonly rates: readonly number[];
  readonly offsetsMs: readonly number[];
}

/** LockNodeStats counts node-side events for the report. */
export interface LockNodeStats {
  duties: number;
  expiriesProposed: number;
  clockEntries: number;
  keepAlives: number;
  givenUp: number;
}

interface PendingAcquire {
  readonly answer: (answer: NodeAnswer<Reply>) => void;
}

/** NodeServer is one running node's application-side state; a crash discards it. */
interface NodeServer {
  readonly duties: LeaderDuties;
  /** Proposals waiting here; a deposed leader gives each up at once (outcome unknown), as WardenNode does. */
  readonly pending: Set<() => void>;
  /** Queued acquires waiting for the entry that settles them, by session and lock name. */
  readonly waiting: Map<string, PendingAcquire[]>;
  lastRole: Role;
}

/**
 * LockNodes is the server side of every simulated lock node. Requests arrive through methods
 * (the workload carries them over the client link); answers go to callbacks, once.
 */
export class LockNodes {
  readonly stats: LockNodeStats = { duties: 0, expiriesProposed: 0, clockEntries: 0, keepAlives: 0, givenUp: 0 };
  private readonly clock: SimClock;
  private readonly cluster: LockCluster;
  private readonly clocks: ClockModel;
  private readonly observer: LockObserver;
  private readonly servers: (NodeServer | null)[];
  /** WardenNode gives a proposal up after five election timeouts. */
  private readonly proposalTimeoutMs: number;
  private readonly minClockGapMs: number;
  private readonly bugs: ReadonlySet<BugName>;

  constructor(clock: SimClock, cluster: LockCluster, clocks: ClockModel, observer: LockObserver, bugs: ReadonlySet<BugName> = new Set()) {
    this.bugs = bugs;
    this.clock = clock;
    this.cluster = cluster;
    this.clocks = clocks;
    this.observer = observer;
    this.servers = cluster.nodes.map(() => null);
    this.proposalTimeoutMs = cluster.config.electionTicks * cluster.config.tickMs * 5;
    this.minClockGapMs = cluster.config.tickMs;
  }

  /** localNow is the node's wall clock: what it stamps entries with and measures leases by. */
  localNow(node: number): number {
    return this.clock.now * (this.clocks.rates[node] ?? 1) + (this.clocks.offsetsMs[node] ?? 0);
  }

  /** onBoot gives a (re)started node fresh application state, as a new process would have. */
  onBoot(node: number): void {
    this.servers[node] = { duties: new LeaderDuties(), pending: new Set(), waiting: new Map(), lastRole: 'follower' };
  }

  /** onCrash drops the node's application state; its pending callbacks never answer. */
  onCrash(node: number): void {
    this.servers[node] = null;
  }

  /**
   * onTick is WardenNode.tick after host.tick(): on losing leadership, give up what waits here;
   * while leading, run the leader duties and propose them; otherwise step the duties down.
   */
  onTick(node: number): void {
    const server = this.servers[node];
    const host = this.cluster.node(node).host;
    const machine = this.cluster.node(node).machine;
    if (!server || !host || !machine) return;
    const status = host.status();
    if (status.role !== server.lastRole) {
      if (server.lastRole === 'leader') this.giveUpAll(server, status.leaderId);
      server.lastRole = status.role;
    }
    if (status.role !== 'leader') {
      server.duties.stepDown();
      return;
    }
    const now = this.localNow(node);
    this.observer.leading(node, status.term, now);
    const table = machine.machine.table;
    for (const duty of server.duties.tick(table, status.term, now, this.minClockGapMs)) {
      this.stats.duties++;
      const command = duty.command;
      if (command.op === 'session.expire') {
        this.stats.expiriesProposed++;
        const session = table.sessions.get(command.sessionId);
        assert(session !== undefined, `duty expires ${command.sessionId}, which the leader's table does not hold`);
        this.observer.expireProposed(node, status.term, command.sessionId, command.stamp, now, session.ttlMs);
      } else if (command.op === 'clock') this.stats.clockEntries++;
      this.propose(node, command, (outcome) => duty.settled(settledOf(outcome)));
    }
  }

  /** onApplied settles queued acquires from the notices of each applied entry, as clientServer does. */
  onApplied(node: number, result: unknown): void {
    const server = this.servers[node];
    if (!server || result === undefined) return;
    for (const notice of (result as ApplyResult).notices) this.deliverNotice(server, notice);
  }

  /** openSession proposes a session; on success the proposer's lease keeper records it (clientServer). */
  openSession(node: number, ttlMs: number, info: SessionInfo, answer: (answer: NodeAnswer<Reply>) => void): void {
    this.write(node, { op: 'session.open', stamp: this.localNow(node), ttlMs, info }, (result) => {
      const server = this.servers[node];
      const host = this.cluster.node(node).host;
      if (result.kind === 'ok' && result.value.ok && 'kind' in result.value && result.value.kind === 'session' && server && host) {
        const now = this.localNow(node);
        server.duties.leases.renew(result.value.sessionId, now);
        const status = host.status();
        if (status.role === 'leader') this.observer.keepAlive(node, status.term, result.value.sessionId, now);
      }
      answer(result);
    });
  }

  /**
   * keepAlive is answered by the leader alone from its applied table; it is not a log write. As
   * clientServer does: the lease is renewed as the keep-alive arrives, and the answer waits for
   * a quorum to confirm the leadership (ReadIndex).
   */
  keepAlive(node: number, sessionId: string, answer: (answer: NodeAnswer<KeepAliveResult | 'SessionNotFound'>) => void): void {
    const host = this.cluster.node(node).host;
    if (!this.servers[node] || !host) return;
    const status = host.status();
    if (status.role !== 'leader') {
      answer({ kind: 'failed', hint: status.leaderId, why: 'NotLeader' });
      return;
    }
    if (this.liveHere(node, sessionId) === null) {
      answer({ kind: 'ok', value: 'SessionNotFound' });
      return;
    }
    const server = this.servers[node];
    const now = this.localNow(node);
    server?.duties.leases.renew(sessionId, now);
    this.observer.keepAlive(node, status.term, sessionId, now);
    this.stats.keepAlives++;
    // Planted bug `unconfirmed-keepalive` answers from the role alone, as a deposed leader may.
    if (this.bugs.has('unconfirmed-keepalive')) {
      this.answerKeepAlive(node, sessionId, answer);
      return;
    }
    host.read((outcome) => {
      if (outcome.ok) this.answerKeepAlive(node, sessionId, answer);
      else answer({ kind: 'failed', hint: outcome.leaderHint, why: outcome.reason });
    });
  }

  /**
   * liveHere returns the session if it is in the node's table and the node has not proposed its
   * expiry (as clientServer's `renewable`), else null: such a session is answered as gone.
   */
  private liveHere(node: number, sessionId: string): Session | null {
    const server = this.servers[node];
    const machine = this.cluster.node(node).machine;
    if (!server || !machine) return null;
    const session = machine.machine.table.sessions.get(sessionId);
    return session !== undefined && !server.duties.leases.isExpiring(sessionId) ? session : null;
  }

  private answerKeepAlive(node: number, sessionId: string, answer: (answer: NodeAnswer<KeepAliveResult | 'SessionNotFound'>) => void): void {
    const machine = this.cluster.node(node).machine;
    if (!this.servers[node] || !machine) return;
    const session = this.liveHere(node, sessionId);
    if (session === null) {
      answer({ kind: 'ok', value: 'SessionNotFound' });
      return;
    }
    const table = machine.machine.table;
    const locks: { name: string; token: number; mode: LockMode }[] = [];
    for (const lock of table.locks.values()) for (const h of lock.holders) if (h.sessionId === sessionId) locks.push({ name: lock.name, token: h.token, mode: h.mode });
    answer({ kind: 'ok', value: { ttlMs: session.ttlMs, locks } });
  }

  /**
   * acquire proposes the request and, when it is queued, waits for the entry that grants it, as
   * clientServer.acquire does: the answer is a grant, WouldBlock, SessionNotFound, or a failure.
   */
  acquire(node: number, sessionId: string, name: string, mode: LockMode, waitMs: number, lockDelayMs: number | null, answer: (answer: NodeAnswer<Reply>) => void): void {
    this.write(node, { op: 'lock.acquire', stamp: this.localNow(node), sessionId, name, mode, waitMs, lockDelayMs }, (result) => {
      if (result.kind !== 'ok' || !result.value.ok || !('kind' in result.value) || result.value.kind !== 'queued') {
        answer(result);
        return;
      }
      const server = this.servers[node];
      const machine = this.cluster.node(node).machine;
      if (!server || !machine) return;
      // The grant may already have been applied in the same batch; look before waiting.
      const table = machine.machine.table;
      const lock = table.locks.get(name);
      const holding = lock?.holders.find((h) => h.sessionId === sessionId);
      if (holding) {
        answer({ kind: 'ok', value: { ok: true, kind: 'granted', name, mode: holding.mode, token: holding.token } });
        return;
      }
      if (!lock?.waiters.some((w) => w.sessionId === sessionId)) {
        if (!table.sessions.has(sessionId)) answer({ kind: 'ok', value: { ok: false, code: 'SessionNotFound', message: `session ${sessionId} ended while waiting` } });
        else answer({ kind: 'ok', value: { ok: false, code: 'WouldBlock', message: `gave up waiting for ${name}`, delayLeftMs: 0 } });
        return;
      }
      const key = `${sessionId}\u0000${name}`;
      const list = server.waiting.get(key) ?? [];
      list.push({ answer });
      server.waiting.set(key, list);
    });
  }

  /** release frees a lock the session holds (or withdraws its queued request). */
  release(node: number, sessionId: string, name: string, answer: (answer: NodeAnswer<Reply>) => void): void {
    this.write(node, { op: 'lock.release', stamp: this.localNow(node), sessionId, name }, answer);
  }

  /** closeSession ends a session cleanly: its locks are released at once. */
  closeSession(node: number, sessionId: string, answer: (answer: NodeAnswer<Reply>) => void): void {
    this.write(node, { op: 'session.close', stamp: this.localNow(node), sessionId, actor: null, reason: null }, answer);
  }

  /** forceRelease is the operator's release: audited, no lock-delay, the next token moves on. */
  forceRelease(node: number, name: string, reason: string, answer: (answer: NodeAnswer<Reply>) => void): void {
    this.write(node, { op: 'lock.forceRelease', stamp: this.localNow(node), name, reason, actor: 'admin' }, answer);
  }

  /** setSettings changes cluster settings through the log. */
  setSettings(node: number, patch: SettingsPatch, answer: (answer: NodeAnswer<Reply>) => void): void {
    this.write(node, { op: 'settings.set', stamp: this.localNow(node), actor: 'admin', patch }, answer);
  }

  /** write proposes a client command on the leader and maps the outcome as clientServer.write does. */
  private write(node: number, command: Command, answer: (answer: NodeAnswer<Reply>) => void): void {
    const host = this.cluster.node(node).host;
    if (!host || !this.servers[node]) return;
    const status = host.status();
    if (status.role !== 'leader') {
      answer({ kind: 'failed', hint: status.leaderId, why: 'NotLeader' });
      return;
    }
    this.propose(node, command, (outcome) => {
      if (outcome.ok) answer({ kind: 'ok', value: outcome.result.reply });
      else if (outcome.reason === 'Unknown' || outcome.reason === 'Timeout') answer({ kind: 'unknown', hint: outcome.leaderHint, why: outcome.reason });
      else answer({ kind: 'failed', hint: outcome.leaderHint, why: outcome.reason });
    });
  }

  /**
   * propose is WardenNode.propose: the host's outcome, or 'Timeout' after five election timeouts
   * or as soon as this node stops leading (its uncommitted entries may or may not survive).
   */
  private propose(node: number, command: Command, callback: (outcome: ProposalOutcome<ApplyResult> | { readonly ok: false; readonly reason: 'Timeout'; readonly leaderHint: NodeId | null }) => void): void {
    const server = this.servers[node];
    const host = this.cluster.node(node).host;
    if (!server || !host) return;
    let done = false;
    let timer: SimEvent | null = null;
    const giveUp = (): void => {
      if (done) return;
      done = true;
      this.clock.cancel(timer);
      server.pending.delete(giveUp);
      this.stats.givenUp++;
      callback({ ok: false, reason: 'Timeout', leaderHint: this.cluster.node(node).host?.status().leaderId ?? null });
    };
    timer = this.clock.schedule(this.proposalTimeoutMs, EventKind.client, node, () => {
      if (this.servers[node] === server) giveUp();
    });
    server.pending.add(giveUp);
    host.propose(encodeCommand(command), (outcome) => {
      if (done) return;
      done = true;
      this.clock.cancel(timer);
      server.pending.delete(giveUp);
      callback(outcome);
    });
  }

  private giveUpAll(server: NodeServer, leaderHint: NodeId | null): void {
    for (const giveUp of [...server.pending]) giveUp();
    const all = [...server.waiting.values()].flat();
    server.waiting.clear();
    for (const p of all) p.answer({ kind: 'failed', hint: leaderHint, why: 'NotLeader (leadership moved while waiting)' });
  }

  private deliverNotice(server: NodeServer, notice: Notice): void {
    const settle = (sessionId: string, name: string, answer: NodeAnswer<Reply>): void => {
      const key = `${sessionId}\u0000${name}`;
      const list = server.waiting.get(key);
      if (!list) return;
      server.waiting.delete(key);
      for (const p of list) p.answer(answer);
    };
    switch (notice.type) {
      case 'lockGranted':
        settle(notice.sessionId, notice.name, { kind: 'ok', value: { ok: true, kind: 'granted', name: notice.name, mode: notice.mode, token: notice.token } });
        return;
      case 'lockWaitTimedOut':
        settle(notice.sessionId, notice.name, { kind: 'ok', value: { ok: false, code: 'WouldBlock', message: `gave up waiting for ${notice.name}`, delayLeftMs: 0 } });
        return;
      case 'sessionEnded':
        for (const key of [...server.waiting.keys()]) {
          if (!key.startsWith(`${notice.sessionId}\u0000`)) continue;
          settle(notice.sessionId, key.slice(notice.sessionId.length + 1), {
            kind: 'ok',
            value: { ok: false, code: 'SessionNotFound', message: `session ${notice.sessionId} ${notice.reason} while waiting` },
          });
        }
        return;
      case 'lockLost':
        return;
    }
  }
}
