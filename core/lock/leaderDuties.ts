// Pure. What the leader must propose on its own, tick by tick: the expiry of sessions that
// missed their TTL (after granting every session a full TTL on taking office), and a clock
// entry when timed lock work is due. Time comes in as an argument; the caller proposes the
// returned commands and reports how each proposal ended.

import type { Command } from './commands.ts';
import { LeaseKeeper } from './leases.ts';
import type { LockTable } from './lockTable.ts';

/**
 * Duty is one command to propose, with a callback for its outcome: true committed, false
 * definitely not (refused, or another entry took its index), null unknown (it may still commit).
 */
export interface Duty {
  readonly command: Command;
  readonly settled: (committed: boolean | null) => void;
}

/** settledOf maps a proposal's reason for failing to a Duty outcome: only definite failures retry. */
export function settledOf(outcome: { readonly ok: boolean; readonly reason?: string }): boolean | null {
  if (outcome.ok) return true;
  return outcome.reason === 'NotLeader' || outcome.reason === 'Dropped' || outcome.reason === 'TransferInProgress' ? false : null;
}

/** LeaderDuties is the leader's bookkeeping for session expiry and clock entries. */
export class LeaderDuties {
  /** The leader's keep-alive record (meaningful only while leading). */
  readonly leases = new LeaseKeeper();
  private officeTerm = -1;
  private clockInFlight = false;
  private lastClockProposal = -Infinity;
  /** Expiries whose proposal failed, by session, with when they failed: retried after a pause. */
  private readonly failedExpiries = new Map<string, number>();

  /** stepDown forgets the current term, so the next term starts with a fresh grace. */
  stepDown(): void {
    this.officeTerm = -1;
    this.clockInFlight = false;
    this.failedExpiries.clear();
  }

  /**
   * tick returns what to propose now, as leader of `term` at time `now`. `minClockGapMs`
   * spaces clock entries so a leader whose clock lags the replicated time cannot flood the log.
   */
  tick(table: LockTable, term: number, now: number, minClockGapMs: number): Duty[] {
    const duties: Duty[] = [];
    if (this.officeTerm !== term) {
      this.officeTerm = term;
      this.leases.takeOffice(table.sessions.values(), now);
      this.clockInFlight = false;
      this.failedExpiries.clear();
    }
    // NB: a failed expiry is retried only after a pause, so a leader that cannot commit (or
    // whose proposals keep timing out) does not append a new expiry on every tick.
    const retryAfterMs = Math.max(1000, minClockGapMs * 20);
    for (const [sessionId, failedAt] of this.failedExpiries) {
      if (now - failedAt < retryAfterMs) continue;
      this.failedExpiries.delete(sessionId);
      this.leases.expiryFailed(sessionId);
    }
    for (const sessionId of this.leases.due(table.sessions.values(), now)) {
      duties.push({
        command: { op: 'session.expire', stamp: now, sessionId },
        settled: (committed) => {
          // NB: an expiry whose outcome is unknown stays pending (it may still commit): retrying
          // it would append duplicates while the leader cannot commit. A new term starts afresh.
          if (committed === false) this.failedExpiries.set(sessionId, now);
        },
      });
    }
    const due = table.nextDeadline();
    if (!this.clockInFlight && due <= now && now - this.lastClockProposal >= minClockGapMs) {
      this.clockInFlight = true;
      this.lastClockProposal = now;
      duties.push({
        command: { op: 'clock', stamp: now },
        settled: () => {
          this.clockInFlight = false;
        },
      });
    }
    return duties;
  }
}
