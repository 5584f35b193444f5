// Test helper (pure): drives a LockMachine the way a replica does, one encoded command per log
// entry at strictly increasing indexes, each carrying a leader stamp chosen by the test.

import { encodeCommand } from '../../../core/lock/commands.ts';
import type { Command, LockMode, SessionInfo } from '../../../core/lock/commands.ts';
import type { ApplyResult, Reply } from '../../../core/lock/lockMachine.ts';
import { LockMachine } from '../../../core/lock/lockMachine.ts';

/** Unstamped is a Command without its stamp; the driver adds it. */
export type Unstamped<C = Command> = C extends Command ? Omit<C, 'stamp'> : never;

/** T0 is an arbitrary replicated start time, far from zero so that "0" never looks like a time. */
export const T0 = 1_700_000_000_000;

export const INFO: SessionInfo = { host: 'host-a', pid: 4242, app: 'billing', label: 'worker-1' };

export const SNAPSHOT_META = { index: 0, term: 0, membership: { voters: [], learners: [] } };

/** Driver applies commands at the next index; `now` is the stamp used when none is given. */
export class Driver {
  index: number;
  now: number;

  constructor(
    readonly machine: LockMachine = new LockMachine(),
    start: { index: number; now: number } = { index: 0, now: T0 },
  ) {
    this.index = start.index;
    this.now = start.now;
  }

  /** apply commits one command at the next index with `stamp` (default: the driver's now). */
  apply(command: Unstamped, stamp: number = this.now): ApplyResult {
    this.index++;
    return this.machine.applyCommand(encodeCommand({ ...command, stamp } as Command), this.index);
  }

  /** raw commits an arbitrary payload at the next index. */
  raw(data: Uint8Array): ApplyResult {
    this.index++;
    return this.machine.applyCommand(data, this.index);
  }

  /** advance moves the driver's stamp forward. */
  advance(ms: number): this {
    this.now += ms;
    return this;
  }

  open(ttlMs = 10_000, info: SessionInfo = INFO): string {
    const { reply } = this.apply({ op: 'session.open', ttlMs, info });
    if (!reply.ok || !('kind' in reply) || reply.kind !== 'session') throw new Error(`open failed: ${JSON.stringify(reply)}`);
    return reply.sessionId;
  }

  acquire(sessionId: string, name: string, options: { mode?: LockMode; waitMs?: number; lockDelayMs?: number | null } = {}): ApplyResult {
    return this.apply({ op: 'lock.acquire', sessionId, name, mode: options.mode ?? 'exclusive', waitMs: options.waitMs ?? 0, lockDelayMs: options.lockDelayMs ?? null });
  }

  release(sessionId: string, name: string): ApplyResult {
    return this.apply({ op: 'lock.release', sessionId, name });
  }

  close(sessionId: string, actor: string | null = null, reason: string | null = null): ApplyResult {
    return this.apply({ op: 'session.close', sessionId, actor, reason });
  }

  expire(sessionId: string): ApplyResult {
    return this.apply({ op: 'session.expire', sessionId });
  }

  forceRelease(name: string, reason = 'holder hung', actor = 'admin:alice'): ApplyResult {
    return this.apply({ op: 'lock.forceRelease', name, reason, actor });
  }

  clock(): ApplyResult {
    return this.apply({ op: 'clock' });
  }

  settings(patch: Record<string, unknown>, actor = 'admin:alice'): ApplyResult {
    return this.apply({ op: 'settings.set', actor, patch });
  }

  put(key: string, value: string, options: { expectRevision?: number | null; session?: string | null } = {}): ApplyResult {
    return this.apply({ op: 'kv.put', key, value, expectRevision: options.expectRevision ?? null, session: options.session ?? null });
  }

  /** tokenOf returns the fencing token `sessionId` holds on `name`, or null. */
  tokenOf(sessionId: string, name: string): number | null {
    return this.machine.table.locks.get(name)?.holders.find((h) => h.sessionId === sessionId)?.token ?? null;
  }

  /** holders lists `session:mode:token` for a lock, for compact assertions. */
  holders(name: string): string[] {
    return (this.machine.table.locks.get(name)?.holders ?? []).map((h) => `${h.sessionId}:${h.mode}:${h.token}`);
  }

  /** waiters lists the queued session ids of a lock, head first. */
  waiters(name: string): string[] {
    return (this.machine.table.locks.get(name)?.waiters ?? []).map((w) => w.sessionId);
  }

  /** snapshotText is the machine's snapshot as a string, for byte-for-byte comparisons. */
  snapshotText(): string {
    return new TextDecoder().decode(this.machine.snapshot());
  }
}

/** code returns the error code of a failed reply, or 'ok'. */
export function code(reply: Reply): string {
  return reply.ok ? 'ok' : reply.code;
}

/** tokenFrom returns the token of a granted reply and fails the test otherwise. */
export function tokenFrom(result: ApplyResult): number {
  const { reply } = result;
  if (!reply.ok || !('kind' in reply) || reply.kind !== 'granted') throw new Error(`expected a grant, got ${JSON.stringify(reply)}`);
  return reply.token;
}
