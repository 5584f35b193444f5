// Pure (it only reads what it is shown). LockChecker holds the lock service's safety properties
// against a running simulation, incrementally: after every entry a node applies it compares the
// node's lock table with the state before (which holders appeared, which went, and why), and on
// the first application of each index anywhere it checks the cluster-wide properties: fencing
// tokens, lock-delay, expiries only after a full TTL without keep-alives at the proposing leader,
// and what clients believe they hold. Its records of leadership and keep-alives are the
// harness's own, never the lease keeper's.

import { decodeCommand, type Command, type LockMode } from '../../../core/lock/commands.ts';
import type { ApplyResult, LockMachine } from '../../../core/lock/lockMachine.ts';
import type { Holder } from '../../../core/lock/lockTable.ts';
import type { Entry, Term } from '../../../core/raft/types.ts';
import type { LockObserver } from '../harness/lockApp.ts';
import type { ClientObserver } from '../harness/lockWorkload.ts';

/** LockCheckerEnv is how the checker sees the cluster: each running node's lock machine. */
export interface LockCheckerEnv {
  readonly nodeCount: number;
  /** Report an expiry applied while its client was not yet in jeopardy as a violation (else only count it). */
  readonly strictJeopardy?: boolean;
  /** The node's lock machine, or null while it is down. */
  machine(node: number): LockMachine | null;
  /** A node's display name, for messages. */
  name(node: number): string;
  /** Virtual time, for messages. */
  now(): number;
}

/** LockCheckerStats counts what the checker saw, for reports and the trace hash. */
export interface LockCheckerStats {
  grants: number;
  expiries: number;
  expiryReleases: number;
  delayedLocks: number;
  forcedReleases: number;
  /** Grants checked against a pending lock-delay (the lock had been held by a session that expired). */
  delayChecks: number;
  /** Keep-alives answered SessionNotFound while the session was open in the committed state. */
  falseSessionNotFound: number;
  /** session.expire entries applied for a session already gone (a leader proposed one expiry more than once). */
  duplicateExpiries: number;
  /**
   * Expiries applied while the session's client, by its last acknowledged keep-alive, was not
   * yet in jeopardy (the SDK's warning at half the TTL). Counted, not a violation: see the README.
   */
  expiredOutOfJeopardy: number;
}

type EndCause = 'release' | 'expire' | 'close' | 'force';

interface Holding {
  readonly mode: LockMode;
  /** Index of the entry that ended the holding, and why; undefined while held. */
  endIndex?: number;
  cause?: EndCause;
}

interface ExpiryProposal {
  readonly node: number;
  readonly idleMs: number;
  readonly ttlMs: number;
  readonly officeStart: number;
  readonly lastKeepAlive: number | undefined;
}

interface Belief {
  readonly name: string;
  readonly sessionId: string;
  readonly token: number;
  readonly mode: LockMode;
}

const holdingKey = (name: string, sessionId: string, token: number): string => `${name}\u0000${sessionId}\u0000${token}`;

/**
 * LockChecker accumulates violations as readable strings, like SafetyChecker. The numbered
 * properties are those of the issue: (1) mutual exclusion among live sessions, (2) fencing tokens,
 * (3) lock-delay, (4) no early expiry, (5) grants only to live sessions, (6) the client view.
 */
export class LockChecker implements LockObserver, ClientObserver {
  readonly violations: string[] = [];
  readonly stats: LockCheckerStats = { grants: 0, expiries: 0, expiryReleases: 0, delayedLocks: 0, forcedReleases: 0, delayChecks: 0, falseSessionNotFound: 0, duplicateExpiries: 0, expiredOutOfJeopardy: 0 };
  private readonly env: LockCheckerEnv;
  /** Per node: holders per lock after the last entry it applied (null: not observed yet). */
  private readonly baselines: (Map<string, readonly Holder[]> | null)[];
  /** Highest index applied anywhere: indexes up to it have had their cluster-wide checks. */
  private firstApplied = 0;
  /** Per index: a digest of what applying it did, to compare replicas. */
  private readonly effects = new Map<number, string>();
  /** Every grant ever applied, by lock, session and token. */
  private readonly holdings = new Map<string, Holding>();
  /** Per lock: the largest token granted so far, and whether that grant was shared. */
  private readonly lastGrant = new Map<string, { index: number; shared: boolean }>();
  /** Per lock: no grant before this replicated time (a holder's session expired), until a forced release. */
  private readonly delays = new Map<string, { until: number; expiredAt: number; sessionId: string }>();
  /** Sessions the committed state holds: opened and not yet ended (by first application). */
  private readonly openSessions = new Set<string>();
  /** The TTL each session's open command asked for. */
  private readonly sessionTtl = new Map<string, number>();
  /** Per node and term: when the harness first saw it lead, in its local time. */
  private readonly officeStart = new Map<string, number>();
  /** Per node, term and session: the last keep-alive that node's lease keeper recorded in that term. */
  private readonly keepAlives = new Map<string, number>();
  /** Expiry proposals by (term, session, stamp): what the proposer's idle time was by the harness's record. */
  private readonly expiryProposals = new Map<string, ExpiryProposal>();
  /** What each client believes it holds. */
  private readonly beliefs = new Map<number, Belief>();
  /** Per session: until when its client counts itself safe (virtual time), by its last acknowledged keep-alive. */
  private readonly safeUntil = new Map<string, number>();
  /** Per session: the leader and term that recorded its last keep-alive, and when (virtual time). */
  private readonly lastKeepAlive = new Map<string, { node: number; term: Term; at: number }>();
  /** The first expiry applied out of jeopardy, described, for the report. */
  firstOutOfJeopardy: string | null = null;

  constructor(env: LockCheckerEnv) {
    this.env = env;
    this.baselines = Array.from({ length: env.nodeCount }, () => null);
  }

  /** ok is true while no violation has been found. */
  get ok(): boolean {
    return this.violations.length === 0;
  }

  // -------------------------------------------------------------------------------------------
  // Node lifecycle: every (re)start and every snapshot restore replaces a node's state wholesale.

  /** onBoot re-reads a node's state (empty, or its restored snapshot) and checks it. */
  onBoot(node: number): void {
    this.rebase(node);
  }

  /** onRestore re-reads a node's state after a snapshot replaced it. */
  onRestore(node: number): void {
    this.rebase(node);
  }

  /** onCrash forgets the node's state. */
  onCrash(node: number): void {
    this.baselines[node] = null;
  }

  /**
   * onApplied checks one applied entry on one node: the state invariants (1, 5), every grant's
   * token (2), and the cause of every holder that went; on the first application of the index
   * anywhere, the cluster-wide properties (2, 3, 4, 6).
   */
  onApplied(node: number, entry: Entry, result: unknown): void {
    if (entry.type !== 'command') return;
    const machine = this.env.machine(node);
    const before = this.baselines[node];
    if (!machine || !before) return;
    const who = this.env.name(node);
    const command = decodeCommand(entry.data);
    const reply = (result as ApplyResult | undefined)?.reply;
    const table = machine.table;
    const after = this.holders(machine);
    this.baselines[node] = after;
    if (command.op === 'invalid') {
      this.violate(`lock: ${who} applied an entry that does not decode at ${entry.index}: ${command.error}`);
      return;
    }

    // What changed: holders that appeared (grants) and holders that went.
    const grants: { name: string; holder: Holder }[] = [];
    const ended: { name: string; holder: Holder }[] = [];
    for (const [name, holders] of after) {
      const previous = before.get(name) ?? [];
      for (const h of holders) if (!previous.some((p) => p.sessionId === h.sessionId && p.token === h.token)) grants.push({ name, holder: h });
    }
    for (const [name, holders] of before) {
      const now = after.get(name) ?? [];
      for (const h of holders) if (!now.some((n) => n.sessionId === h.sessionId && n.token === h.token)) ended.push({ name, holder: h });
    }
    for (const { name, holder } of grants) {
      // (2) A grant's token is the index of the entry that granted it.
      if (holder.token !== entry.index) this.violate(`fencing: ${who} granted ${name} to ${holder.sessionId} with token ${holder.token} in entry ${entry.index}`);
      // (5) Every grant goes to a session alive in the state where it is applied.
      if (!table.sessions.has(holder.sessionId)) this.violate(`grant to a dead session: ${who} granted ${name} (token ${holder.token}) at ${entry.index} to ${holder.sessionId}, which its state does not hold (${command.op})`);
    }
    this.checkState(node, machine, `after applying ${entry.index}`);
    const causes: EndCause[] = [];
    for (const { name, holder } of ended) {
      const cause = this.causeOf(command, name, holder);
      if (cause === null) this.violate(`lock: ${who} dropped holder ${holder.sessionId} (token ${holder.token}) of ${name} in entry ${entry.index} (${command.op}), which cannot release it`);
      causes.push(cause ?? 'release');
    }
    const effect = JSON.stringify([grants.map((g) => [g.name, g.holder.sessionId, g.holder.token]), ended.map((e) => [e.name, e.holder.sessionId, e.holder.token]), machine.now]);
    const known = this.effects.get(entry.index);
    if (known !== undefined && known !== effect) this.violate(`lock: replicas disagree on what entry ${entry.index} did: ${effect} on ${who}, ${known} before`);
    if (entry.index <= this.firstApplied) return;
    this.firstApplied = entry.index;
    this.effects.set(entry.index, effect);
    if (this.effects.size > 4096) this.effects.delete(this.effects.keys().next().value as number);
    this.firstApplication(entry, command, reply, machine, grants, ended, causes);
  }

  // -------------------------------------------------------------------------------------------
  // LockObserver: the harness's own record of leadership, keep-alives and expiry proposals.

  leading(node: number, term: Term, localNow: number): void {
    const key = `${node}/${term}`;
    if (!this.officeStart.has(key)) this.officeStart.set(key, localNow);
  }

  keepAlive(node: number, term: Term, sessionId: string, localNow: number): void {
    this.keepAlives.set(`${node}/${term}/${sessionId}`, localNow);
    this.lastKeepAlive.set(sessionId, { node, term, at: this.env.now() });
  }

  expireProposed(node: number, term: Term, sessionId: string, stamp: number, localNow: number, ttlMs: number): void {
    const officeStart = this.officeStart.get(`${node}/${term}`);
    if (officeStart === undefined) {
      this.violate(`expiry: ${this.env.name(node)} proposed the expiry of ${sessionId} in term ${term} before the harness saw it lead`);
      return;
    }
    const lastKeepAlive = this.keepAlives.get(`${node}/${term}/${sessionId}`);
    const since = Math.max(officeStart, lastKeepAlive ?? -Infinity);
    // The TTL the client asked for when it opened the session, if that was seen; else the leader's table's.
    const ttl = this.sessionTtl.get(sessionId) ?? ttlMs;
    this.expiryProposals.set(`${term}/${sessionId}/${stamp}`, { node, idleMs: localNow - since, ttlMs: ttl, officeStart, lastKeepAlive });
  }

  // -------------------------------------------------------------------------------------------
  // ClientObserver: what clients believe they hold.

  believes(client: number, name: string, sessionId: string, token: number, mode: LockMode): void {
    // (6) A client's belief must come from a grant that some replica applied.
    if (!this.holdings.has(holdingKey(name, sessionId, token))) {
      this.violate(`client view: client ${client} was told it holds ${name} with token ${token} (session ${sessionId}), but no applied entry granted that`);
    }
    this.beliefs.set(client, { name, sessionId, token, mode });
  }

  forgets(client: number, name: string): void {
    if (this.beliefs.get(client)?.name === name) this.beliefs.delete(client);
  }

  sessionNotFound(_client: number, sessionId: string): void {
    if (this.openSessions.has(sessionId)) this.stats.falseSessionNotFound++;
  }

  renewed(_client: number, sessionId: string, sentAt: number, ttlMs: number): void {
    this.safeUntil.set(sessionId, Math.max(this.safeUntil.get(sessionId) ?? -Infinity, sentAt + ttlMs / 2));
  }

  // -------------------------------------------------------------------------------------------
  // Internals.

  private firstApplication(
    entry: Extract<Entry, { type: 'command' }>,
    command: Command,
    reply: ApplyResult['reply'] | undefined,
    machine: LockMachine,
    grants: readonly { name: string; holder: Holder }[],
    ended: readonly { name: string; holder: Holder }[],
    causes: readonly EndCause[],
  ): void {
    const now = machine.now;
    if (reply?.ok && 'kind' in reply && reply.kind === 'session' && command.op === 'session.open') {
      this.openSessions.add(reply.sessionId);
      this.sessionTtl.set(reply.sessionId, command.ttlMs);
    }
    if ((command.op === 'session.expire' || command.op === 'session.close') && reply?.ok) this.openSessions.delete(command.sessionId);
    if (command.op === 'session.expire' && reply?.ok) {
      const safeUntil = this.safeUntil.get(command.sessionId);
      if (safeUntil !== undefined && this.env.now() < safeUntil) {
        this.stats.expiredOutOfJeopardy++;
        const last = this.lastKeepAlive.get(command.sessionId);
        const by = last ? `${this.env.name(last.node)} in term ${last.term} at t=${last.at.toFixed(1)}ms` : 'nobody';
        const description = `${command.sessionId} expired by entry ${entry.index} (term ${entry.term}) while its client counted itself safe until ${safeUntil.toFixed(1)}; its last keep-alive was recorded by ${by}`;
        this.firstOutOfJeopardy ??= `t=${this.env.now().toFixed(1)}ms ${description}`;
        if (this.env.strictJeopardy) this.violate(`jeopardy: ${description}`);
      }
      this.safeUntil.delete(command.sessionId);
    }
    if (command.op === 'session.expire') {
      this.checkExpiry(entry, command);
      if (!reply?.ok) this.stats.duplicateExpiries++;
    }

    // Holdings that ended, and the lock-delay an expiry imposes (3).
    ended.forEach(({ name, holder }, i) => {
      const cause = causes[i] ?? 'release';
      const holding = this.holdings.get(holdingKey(name, holder.sessionId, holder.token));
      if (holding) {
        holding.endIndex = entry.index;
        holding.cause = cause;
      }
      if (cause === 'expire') {
        this.stats.expiryReleases++;
        const delay = holder.lockDelayMs ?? machine.table.settings.lockDelayMs;
        const until = now + delay;
        const current = this.delays.get(name);
        if (delay > 0 && (!current || current.until < until)) {
          this.delays.set(name, { until, expiredAt: now, sessionId: holder.sessionId });
          this.stats.delayedLocks++;
        }
      }
    });
    // A forced release lifts any lock-delay, even with no holder left.
    if (command.op === 'lock.forceRelease' && reply?.ok) {
      this.stats.forcedReleases++;
      this.delays.delete(command.name);
    }

    for (const { name, holder } of grants) {
      this.stats.grants++;
      // (2) Per lock, tokens strictly increase; shared waiters granted by one entry share it.
      const last = this.lastGrant.get(name);
      if (last && (holder.token < last.index || (holder.token === last.index && !(last.shared && holder.mode === 'shared')))) {
        this.violate(`fencing: ${name} granted with token ${holder.token} at ${entry.index} after an earlier grant with token ${last.index}`);
      }
      this.lastGrant.set(name, { index: Math.max(holder.token, last?.index ?? 0), shared: holder.mode === 'shared' });
      // (3) No grant during the lock-delay of an expired holder, unless forced.
      const delay = this.delays.get(name);
      if (delay) {
        this.stats.delayChecks++;
        if (now < delay.until) {
          this.violate(
            `lock-delay: ${name} granted to ${holder.sessionId} at ${entry.index} at replicated time ${now}, but ${delay.sessionId} expired holding it at ${delay.expiredAt} and its lock-delay runs until ${delay.until}`,
          );
        } else this.delays.delete(name);
      }
      // (6) No client still believes it holds a conflicting grant that never ended for a reason it is told about.
      for (const [client, belief] of this.beliefs) {
        if (belief.name !== name || (belief.sessionId === holder.sessionId && belief.token === holder.token)) continue;
        if (belief.mode === 'shared' && holder.mode === 'shared') continue;
        const held = this.holdings.get(holdingKey(name, belief.sessionId, belief.token));
        if (!held || held.endIndex === undefined || held.cause === 'release') {
          this.violate(
            `client view: ${name} granted to ${holder.sessionId} (token ${holder.token}) while client ${client} believes it holds it with token ${belief.token} (session ${belief.sessionId}), ${held?.endIndex === undefined ? 'still held' : `released at ${held.endIndex}`}`,
          );
        }
      }
      this.holdings.set(holdingKey(name, holder.sessionId, holder.token), { mode: holder.mode });
    }
    for (const [name, delay] of this.delays) if (now >= delay.until) this.delays.delete(name);
  }

  /**
   * checkExpiry is (4): a committed expiry was proposed by the leader of its entry's term when,
   * by the harness's record of that leader, the session had gone at least its TTL since the
   * later of the leader taking office and the last keep-alive it received.
   */
  private checkExpiry(entry: Extract<Entry, { type: 'command' }>, command: Extract<Command, { op: 'session.expire' }>): void {
    this.stats.expiries++;
    const proposal = this.expiryProposals.get(`${entry.term}/${command.sessionId}/${command.stamp}`);
    if (!proposal) {
      this.violate(`expiry: entry ${entry.index} (term ${entry.term}) expires ${command.sessionId}, but no leader of term ${entry.term} proposed that expiry`);
      return;
    }
    if (proposal.idleMs < proposal.ttlMs) {
      this.violate(
        `expiry: ${command.sessionId} (TTL ${proposal.ttlMs} ms) expired at ${entry.index} after only ${proposal.idleMs.toFixed(1)} ms without a keep-alive at ${this.env.name(proposal.node)} ` +
          `(leader of term ${entry.term} since ${proposal.officeStart.toFixed(1)}, last keep-alive ${proposal.lastKeepAlive?.toFixed(1) ?? 'none'})`,
      );
    }
  }

  /** causeOf says which command may remove `holder` from lock `name`, or null if this one may not. */
  private causeOf(command: Command, name: string, holder: Holder): EndCause | null {
    switch (command.op) {
      case 'lock.release':
        return command.name === name && command.sessionId === holder.sessionId ? 'release' : null;
      case 'session.expire':
        return command.sessionId === holder.sessionId ? 'expire' : null;
      case 'session.close':
        return command.sessionId === holder.sessionId ? 'close' : null;
      case 'lock.forceRelease':
        return command.name === name ? 'force' : null;
      default:
        return null;
    }
  }

  /** checkState is (1) and (5) on a whole state: one exclusive holder or only shared ones, all of live sessions. */
  private checkState(node: number, machine: LockMachine, when: string): void {
    const table = machine.table;
    for (const lock of table.locks.values()) {
      const exclusive = lock.holders.filter((h) => h.mode === 'exclusive').length;
      if (exclusive > 0 && lock.holders.length > 1) {
        this.violate(`mutual exclusion: ${this.env.name(node)} ${when}: ${lock.name} is held by ${lock.holders.map((h) => `${h.sessionId}/${h.mode}/${h.token}`).join(', ')}`);
      }
      for (const h of lock.holders) {
        if (!table.sessions.has(h.sessionId)) this.violate(`mutual exclusion: ${this.env.name(node)} ${when}: ${lock.name} is held by ${h.sessionId} (token ${h.token}), a session its state does not hold`);
      }
    }
  }

  private holders(machine: LockMachine): Map<string, readonly Holder[]> {
    const map = new Map<string, readonly Holder[]>();
    for (const lock of machine.table.locks.values()) if (lock.holders.length > 0) map.set(lock.name, lock.holders.slice());
    return map;
  }

  private rebase(node: number): void {
    const machine = this.env.machine(node);
    if (!machine) {
      this.baselines[node] = null;
      return;
    }
    this.baselines[node] = this.holders(machine);
    this.checkState(node, machine, 'after a restart or snapshot');
  }

  private violate(message: string): void {
    if (this.violations.length < 20) this.violations.push(`t=${this.env.now().toFixed(1)}ms ${message}`);
  }
}
