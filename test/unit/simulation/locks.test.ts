// Unit tests for the simulator's lock checker on its own: the production LockMachine fed entries
// by hand (one or two replicas), with planted bugs or tampered states, and the harness's records
// of leadership, keep-alives and client beliefs given directly. Each property must stay quiet on
// a correct history and speak up on a broken one.

import { describe, expect, it } from 'vitest';
import { encodeCommand, type Command } from '../../../core/lock/commands.ts';
import { LockMachine, type ApplyResult } from '../../../core/lock/lockMachine.ts';
import type { Entry } from '../../../core/raft/types.ts';
import { LockChecker } from '../../simulation/checkers/locks.ts';

const INFO = { host: 'h', pid: 1, app: 'sim', label: '' };

type WithoutStamp<C> = C extends Command ? Omit<C, 'stamp'> : never;

/** Replicas is a few lock machines and a checker watching them; `apply` commits one entry on the given replicas. */
class Replicas {
  readonly machines: (LockMachine | null)[];
  readonly checker: LockChecker;
  index = 0;
  now = 0;

  constructor(count = 1, bugs: string[] = []) {
    this.machines = Array.from({ length: count }, () => {
      const machine = new LockMachine();
      if (bugs.length > 0) machine.bugs = new Set(bugs);
      return machine;
    });
    this.checker = new LockChecker({
      nodeCount: count,
      machine: (node) => this.machines[node] ?? null,
      name: (node) => `n${node + 1}`,
      now: () => this.now,
    });
    for (let node = 0; node < count; node++) this.checker.onBoot(node);
  }

  /** apply commits `command` stamped `stamp` at the next index in `term`, on every replica listed. */
  apply(command: WithoutStamp<Command>, stamp: number, term = 1, nodes: readonly number[] = this.machines.map((_, i) => i)): { entry: Entry; result: ApplyResult } {
    this.index++;
    this.now = Math.max(this.now, stamp);
    const entry: Extract<Entry, { type: 'command' }> = { index: this.index, term, type: 'command', data: encodeCommand({ ...command, stamp } as Command) };
    let result: ApplyResult | undefined;
    for (const node of nodes) {
      const machine = this.machines[node];
      if (!machine) continue;
      result = machine.applyCommand(entry.data, entry.index);
      this.checker.onApplied(node, entry, result);
    }
    if (!result) throw new Error('applied on no replica');
    return { entry, result };
  }

  open(stamp: number, ttlMs = 1_000): string {
    const { result } = this.apply({ op: 'session.open', ttlMs, info: INFO }, stamp);
    if (!result.reply.ok || !('kind' in result.reply) || result.reply.kind !== 'session') throw new Error('open failed');
    return result.reply.sessionId;
  }

  /** expire applies a session.expire that the leader of `term` proposed properly (a full TTL idle). */
  expire(sessionId: string, stamp: number, term = 1): ApplyResult {
    this.checker.leading(0, term, 0);
    this.checker.expireProposed(0, term, sessionId, stamp, stamp, 1_000);
    return this.apply({ op: 'session.expire', sessionId }, stamp, term).result;
  }
}

const acquire = (sessionId: string, name = 'a', waitMs = 0, mode: 'exclusive' | 'shared' = 'exclusive', lockDelayMs: number | null = null) =>
  ({ op: 'lock.acquire', sessionId, name, mode, waitMs, lockDelayMs }) as const;

describe('LockChecker', () => {
  it('stays quiet on a correct history: grants, a queue, an expiry with lock-delay, a forced release', () => {
    const r = new Replicas(2);
    r.apply({ op: 'settings.set', actor: 'admin', patch: { lockDelayMs: 500 } }, 0);
    const s1 = r.open(10);
    const s2 = r.open(20);
    const s3 = r.open(30);
    r.apply(acquire(s1), 100);
    r.apply(acquire(s2, 'a', 5_000), 110);
    r.expire(s1, 2_000);
    expect(r.machines[0]?.table.locks.get('a')?.holders).toEqual([]);
    r.apply({ op: 'clock' }, 2_600); // Lock-delay over: s2, queued, is granted.
    expect(r.machines[0]?.table.locks.get('a')?.holders.map((h) => h.sessionId)).toEqual([s2]);
    r.apply(acquire(s3, 'b', 0, 'shared'), 2_700);
    r.apply({ op: 'lock.forceRelease', name: 'a', reason: 'incident', actor: 'admin' }, 2_800);
    r.apply(acquire(s3), 2_900);
    r.apply({ op: 'session.close', sessionId: s3, actor: null, reason: null }, 3_000);
    expect(r.checker.violations).toEqual([]);
    expect(r.checker.stats).toMatchObject({ grants: 4, expiries: 1, expiryReleases: 1, delayedLocks: 1, forcedReleases: 1 });
  });

  it('(1) catches two exclusive holders in an applied state', () => {
    const r = new Replicas();
    const s1 = r.open(0);
    const s2 = r.open(0);
    r.apply(acquire(s1), 10);
    r.machines[0]?.table.locks.get('a')?.holders.push({ sessionId: s2, mode: 'exclusive', token: 99, grantedAt: 10, lockDelayMs: null });
    r.apply({ op: 'clock' }, 20);
    expect(r.checker.violations.join('\n')).toMatch(/mutual exclusion: n1 after applying 4: a is held by/);
  });

  it('(2) catches a grant whose token is not its entry index, and a token that goes back', () => {
    const r = new Replicas();
    const s1 = r.open(0);
    const s2 = r.open(0);
    r.apply(acquire(s1), 10);
    r.apply({ op: 'lock.release', sessionId: s1, name: 'a' }, 20);
    const lock = r.machines[0]?.table.locks;
    lock?.set('a', { name: 'a', holders: [{ sessionId: s2, mode: 'exclusive', token: 2, grantedAt: 30, lockDelayMs: null }], waiters: [], delayUntil: 0, lastToken: 2 });
    r.apply({ op: 'clock' }, 30);
    const text = r.checker.violations.join('\n');
    expect(text).toMatch(/fencing: n1 granted a to s2 with token 2 in entry 5/);
    expect(text).toMatch(/fencing: a granted with token 2 at 5 after an earlier grant with token 3/);
  });

  it('(3) catches a grant inside the lock-delay of an expired holder (planted skip-lock-delay)', () => {
    const r = new Replicas(1, ['skip-lock-delay']);
    r.apply({ op: 'settings.set', actor: 'admin', patch: { lockDelayMs: 1_000 } }, 0);
    const s1 = r.open(0);
    const s2 = r.open(0);
    r.apply(acquire(s1), 10);
    r.apply(acquire(s2, 'a', 5_000), 20);
    r.expire(s1, 2_000);
    expect(r.checker.violations.join('\n')).toMatch(/lock-delay: a granted to s3 at 6 at replicated time 2000, but s2 expired holding it at 2000 and its lock-delay runs until 3000/);
  });

  it('(3) honours the holder\'s own lock-delay, and a forced release lifts the delay', () => {
    const r = new Replicas();
    const s1 = r.open(0);
    const s2 = r.open(0);
    r.apply(acquire(s1, 'a', 0, 'exclusive', 200), 10);
    r.expire(s1, 1_000);
    r.apply(acquire(s2), 1_200); // The holder's 200 ms, not the cluster's 10 s.
    const s3 = r.open(1_300);
    r.apply({ op: 'lock.forceRelease', name: 'a', reason: 'incident', actor: 'admin' }, 1_300);
    r.apply(acquire(s3), 1_310);
    r.expire(s3, 2_000);
    r.apply({ op: 'lock.forceRelease', name: 'a', reason: 'lift the delay', actor: 'admin' }, 2_001);
    const s4 = r.open(2_002);
    r.apply(acquire(s4), 2_003);
    expect(r.checker.violations).toEqual([]);
    expect(r.checker.stats.delayChecks).toBe(1);
  });

  it('(4) catches an expiry committed before the proposer saw a full TTL without keep-alives', () => {
    const r = new Replicas();
    const s1 = r.open(0, 1_000);
    r.checker.leading(0, 2, 100); // Took office at 100: grace until 1100 at the earliest.
    r.checker.keepAlive(0, 2, s1, 600);
    r.checker.expireProposed(0, 2, s1, 1_400, 1_400, 1_000);
    r.apply({ op: 'session.expire', sessionId: s1 }, 1_400, 2);
    expect(r.checker.violations.join('\n')).toMatch(/expiry: s1 \(TTL 1000 ms\) expired at 2 after only 800.0 ms without a keep-alive at n1 \(leader of term 2 since 100.0, last keep-alive 600.0\)/);
  });

  it('(4) measures idleness with the harness\'s reading of the leader\'s clock, not the entry\'s stamp, and needs a proposal', () => {
    const r = new Replicas();
    const s1 = r.open(0, 1_000);
    const s2 = r.open(0, 1_000);
    r.checker.leading(0, 3, 0);
    r.checker.expireProposed(0, 3, s1, 5_000, 500, 1_000); // Stamped far ahead of its clock.
    r.apply({ op: 'session.expire', sessionId: s1 }, 5_000, 3);
    r.apply({ op: 'session.expire', sessionId: s2 }, 5_000, 3);
    const text = r.checker.violations.join('\n');
    expect(text).toMatch(/expiry: s1 .* after only 500.0 ms/);
    expect(text).toMatch(/expiry: entry 4 \(term 3\) expires s2, but no leader of term 3 proposed that expiry/);
  });

  it('(5) catches a grant to a session that expired (planted grant-expired-session)', () => {
    const r = new Replicas(1, ['grant-expired-session']);
    const s1 = r.open(0);
    r.expire(s1, 2_000);
    r.apply(acquire(s1), 2_100);
    expect(r.checker.violations.join('\n')).toMatch(/grant to a dead session: n1 granted a \(token 3\) at 3 to s1, which its state does not hold \(lock.acquire\)/);
  });

  it('(6) catches a client told it holds a token nobody granted, and a belief that outlives a release', () => {
    const r = new Replicas();
    const s1 = r.open(0);
    const s2 = r.open(0);
    r.apply(acquire(s1), 10);
    r.checker.believes(0, 'a', s1, 42, 'exclusive');
    expect(r.checker.violations.join('\n')).toMatch(/client view: client 0 was told it holds a with token 42 \(session s1\), but no applied entry granted that/);
    r.checker.believes(0, 'a', s1, 3, 'exclusive');
    r.apply({ op: 'lock.release', sessionId: s1, name: 'a' }, 20);
    r.apply(acquire(s2), 30);
    expect(r.checker.violations.join('\n')).toMatch(/client view: a granted to s2 \(token 5\) while client 0 believes it holds it with token 3 \(session s1\), released at 4/);
  });

  it('(6) accepts a stale belief when the session expired or the lock was forced', () => {
    const r = new Replicas();
    r.apply({ op: 'settings.set', actor: 'admin', patch: { lockDelayMs: 0 } }, 0);
    const s1 = r.open(0);
    const s2 = r.open(0);
    const s3 = r.open(0);
    r.apply(acquire(s1), 10);
    r.checker.believes(0, 'a', s1, 5, 'exclusive');
    r.expire(s1, 2_000);
    r.apply(acquire(s2), 2_010);
    r.checker.believes(1, 'a', s2, 7, 'exclusive');
    r.apply({ op: 'lock.forceRelease', name: 'a', reason: 'incident', actor: 'admin' }, 2_020);
    r.apply(acquire(s3), 2_030);
    expect(r.checker.violations).toEqual([]);
  });

  it('counts an expiry applied while the client was out of jeopardy, and reports it only when strict', () => {
    for (const strict of [false, true]) {
      const r = new Replicas();
      const checker = new LockChecker({ nodeCount: 1, strictJeopardy: strict, machine: () => r.machines[0] ?? null, name: () => 'n1', now: () => r.now });
      checker.onBoot(0);
      const s1 = r.open(0, 1_000);
      checker.renewed(0, s1, 1_500, 1_000); // Safe until 2000.
      checker.leading(0, 1, 0);
      checker.expireProposed(0, 1, s1, 1_800, 1_800, 1_000);
      const machine = r.machines[0] as LockMachine;
      const entry: Extract<Entry, { type: 'command' }> = { index: 2, term: 1, type: 'command', data: encodeCommand({ op: 'session.expire', stamp: 1_800, sessionId: s1 }) };
      r.now = 1_800;
      checker.onApplied(0, entry, machine.applyCommand(entry.data, entry.index));
      expect(checker.stats.expiredOutOfJeopardy).toBe(1);
      expect(checker.violations.length).toBe(strict ? 1 : 0);
    }
  });

  it('catches replicas that disagree on what one entry did', () => {
    const r = new Replicas(2);
    const s1 = r.open(0);
    r.machines[1]?.table.sessions.delete(s1);
    r.apply(acquire(s1), 10);
    expect(r.checker.violations.join('\n')).toMatch(/lock: replicas disagree on what entry 2 did/);
  });

  it('re-reads a node after a restore and does not take restored holders for grants', () => {
    const r = new Replicas(2);
    const s1 = r.open(0);
    r.apply(acquire(s1), 10, 1, [0]);
    const copy = new LockMachine();
    copy.restore((r.machines[0] as LockMachine).snapshot(), { index: 2, term: 1, membership: { voters: [], learners: [] } });
    r.machines[1] = copy;
    r.checker.onRestore(1);
    r.apply({ op: 'clock' }, 20);
    expect(r.checker.violations).toEqual([]);
    expect(r.checker.stats.grants).toBe(1);
  });
});
