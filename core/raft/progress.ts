// Pure. A leader's view of one follower's replication (Raft §5.3, with etcd's flow-control
// states): `probe` sends one AppendEntries at a time until the follower's log position is
// found; `replicate` streams entries optimistically with a bounded window of messages in flight;
// `snapshot` waits for an InstallSnapshot to be acknowledged.

import type { LogIndex } from './types.ts';

/** ProgressState is the flow-control state of one follower. */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** Progress tracks matchIndex and nextIndex (Raft Figure 2) plus flow control for one follower. */
export class Progress {
  matchIndex: LogIndex = 0;
  nextIndex: LogIndex;
  state: ProgressState = 'probe';
  /** In probe state: an AppendEntries is outstanding, so send no other until an answer arrives. */
  probeSent = false;
  /** In snapshot state: the index of the snapshot being installed. */
  pendingSnapshot: LogIndex = 0;
  /** Ticks spent in snapshot state; the leader resends after an election timeout without an answer. */
  snapshotTicks = 0;
  /** Whether the follower answered during the current check-quorum period. */
  recentActive = true;
  /** Last indexes of AppendEntries messages in flight, oldest first (replicate state). */
  private readonly inflight: LogIndex[] = [];
  private readonly maxInflight: number;

  constructor(nextIndex: LogIndex, maxInflight: number) {
    this.nextIndex = nextIndex;
    this.maxInflight = maxInflight;
  }

  /** paused says whether the leader must wait before sending more entries. */
  paused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflight.length >= this.maxInflight;
      case 'snapshot':
        return true;
    }
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') this.nextIndex = Math.max(this.matchIndex + 1, this.pendingSnapshot + 1);
    else this.nextIndex = this.matchIndex + 1;
    this.state = 'probe';
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflight.length = 0;
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.nextIndex = this.matchIndex + 1;
    this.probeSent = false;
    this.inflight.length = 0;
  }

  becomeSnapshot(index: LogIndex): void {
    this.state = 'snapshot';
    this.pendingSnapshot = index;
    this.snapshotTicks = 0;
    this.inflight.length = 0;
  }

  /** sentEntries records an AppendEntries whose last entry is `lastIndex`. */
  sentEntries(lastIndex: LogIndex, count: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.nextIndex = lastIndex + 1;
        this.inflight.push(lastIndex);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  /** update records a successful append up to `index`; false if the answer is stale. */
  update(index: LogIndex): boolean {
    let updated = false;
    if (index > this.matchIndex) {
      this.matchIndex = index;
      this.probeSent = false;
      updated = true;
    }
    this.nextIndex = Math.max(this.nextIndex, index + 1);
    while (this.inflight.length > 0 && (this.inflight[0] as number) <= index) this.inflight.shift();
    return updated;
  }

  /**
   * decreaseTo handles a rejection of the append at `rejected`; `hint` is the follower's guess of
   * the last matching index. Stale rejections are ignored. Returns whether to resend.
   */
  decreaseTo(rejected: LogIndex, hint: LogIndex): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.matchIndex) return false;
      this.becomeProbe();
      this.nextIndex = Math.max(this.matchIndex + 1, Math.min(rejected, hint + 1));
      return true;
    }
    if (this.nextIndex - 1 !== rejected) return false;
    this.nextIndex = Math.max(this.matchIndex + 1, Math.min(rejected, hint + 1));
    this.probeSent = false;
    return true;
  }

  /** freeOne lets one more message through a full window; a heartbeat answer proves the link is alive. */
  freeOne(): void {
    if (this.state === 'replicate' && this.inflight.length >= this.maxInflight) this.inflight.shift();
  }
}
