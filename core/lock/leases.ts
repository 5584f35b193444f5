// Pure. The leader's record of session keep-alives. Keep-alives are not log writes: the leader
// alone tracks them, proposes an expiry when a session misses its TTL, and on taking office
// grants every session a full TTL (Chubby's grace), so that no session expires early because
// leadership moved. Time is passed in by the caller.

import type { Session } from './lockTable.ts';

/** LeaseKeeper tracks when each session last renewed, on the leader only. */
export class LeaseKeeper {
  private readonly lastRenewal = new Map<string, number>();
  private readonly expiring = new Set<string>();

  /** takeOffice starts a term: every known session gets a full TTL from now. */
  takeOffice(sessions: Iterable<Session>, now: number): void {
    this.lastRenewal.clear();
    this.expiring.clear();
    for (const s of sessions) this.lastRenewal.set(s.id, now);
  }

  /** renew records a keep-alive. */
  renew(sessionId: string, now: number): void {
    this.lastRenewal.set(sessionId, now);
  }

  /** ageOf is how long since the session's last keep-alive here, or null if unknown. */
  ageOf(sessionId: string, now: number): number | null {
    const last = this.lastRenewal.get(sessionId);
    return last === undefined ? null : Math.max(0, now - last);
  }

  /**
   * due returns the sessions whose TTL has passed without a keep-alive and that are not already
   * being expired. Sessions this leader has not seen yet get a full TTL from now.
   */
  due(sessions: Iterable<Session>, now: number): string[] {
    const out: string[] = [];
    const live = new Set<string>();
    for (const s of sessions) {
      live.add(s.id);
      const last = this.lastRenewal.get(s.id);
      if (last === undefined) {
        this.lastRenewal.set(s.id, now);
        continue;
      }
      if (now - last > s.ttlMs && !this.expiring.has(s.id)) {
        this.expiring.add(s.id);
        out.push(s.id);
      }
    }
    for (const id of [...this.lastRenewal.keys()]) {
      if (!live.has(id)) {
        this.lastRenewal.delete(id);
        this.expiring.delete(id);
      }
    }
    return out;
  }

  /**
   * isExpiring says whether an expiry of the session has been proposed: its lease has lapsed, so
   * keep-alives must no longer be acknowledged (the client would believe it safe).
   */
  isExpiring(sessionId: string): boolean {
    return this.expiring.has(sessionId);
  }

  /** expiryFailed lets a failed expiry proposal be retried on the next check. */
  expiryFailed(sessionId: string): void {
    this.expiring.delete(sessionId);
  }
}
