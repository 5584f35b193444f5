// Deterministic glue. NodeHost is the only driver of a RaftNode: it runs the Ready loop
// (persist, then send, then apply, then advance), tracks proposals and linearizable reads until
// they resolve, and compacts the log with application snapshots. Every effect goes through a
// port, so the same host runs in production and inside the seeded simulator.

import { assert } from '../util/assert.ts';
import type { Random } from '../util/prng.ts';
import { RaftNode } from '../raft/raftNode.ts';
import type { ConfChange, Entry, LogIndex, Message, NodeId, RaftConfig, RaftStatus, Ready, Term } from '../raft/types.ts';
import type { LogStorage, StateMachine, Transport } from './ports.ts';

/** ProposalOutcome is how a proposal ends, as far as this node can tell. */
export type ProposalOutcome<Result> =
  | { readonly ok: true; readonly index: LogIndex; readonly result: Result }
  /** Definitely not applied: this node is not the leader, or another entry took the index. */
  | { readonly ok: false; readonly reason: 'NotLeader' | 'Dropped' | 'TransferInProgress' | 'ConfChangeInProgress' | 'InvalidConfChange'; readonly leaderHint: NodeId | null; readonly detail?: string }
  /** Maybe applied: the node can no longer tell (its log was replaced by a snapshot). */
  | { readonly ok: false; readonly reason: 'Unknown'; readonly leaderHint: NodeId | null };

/** ReadOutcome says whether a linearizable read may now be served from the local state machine. */
export type ReadOutcome =
  | { readonly ok: true; readonly index: LogIndex }
  | { readonly ok: false; readonly reason: 'NotLeader' | 'Timeout'; readonly leaderHint: NodeId | null };

/** NodeHostOptions wires a host. */
export interface NodeHostOptions<Result> {
  readonly config: RaftConfig;
  readonly storage: LogStorage;
  readonly transport: Transport;
  readonly stateMachine: StateMachine<Result>;
  readonly random: Random;
  /** Take a snapshot and compact the log after this many applied entries (0 = never). */
  readonly snapshotEvery: number;
  /** A pending read fails after this many ticks without an answer. */
  readonly readTimeoutTicks?: number;
  /**
   * Defers the Ready loop: when set, work that arrives in one turn of the caller's event loop
   * (many proposals, a batch of peer messages) is drained together, so it shares one storage
   * transaction and one round of messages. Without it, every call drains at once.
   */
  readonly schedule?: (run: () => void) => void;
  /** Called after every committed entry is applied (for metrics, checkers and watchers). */
  readonly onApplied?: (entry: Entry, result: Result | undefined) => void;
}

interface PendingProposal<Result> {
  readonly term: Term;
  readonly callback: (outcome: ProposalOutcome<Result>) => void;
}

interface PendingRead {
  readonly callback: (outcome: ReadOutcome) => void;
  readonly deadlineTick: number;
  index: LogIndex | null;
}

/** NodeHost drives one Raft node. It is single-threaded and owns no timers: call tick() and receive(). */
export class NodeHost<Result = unknown> {
  readonly raft: RaftNode;
  readonly id: NodeId;
  private readonly options: NodeHostOptions<Result>;
  /**
   * Pending proposals by log index. An index can hold proposals of several terms (ours was
   * truncated away, then we led again); the committed entry's term decides which one, if any,
   * was applied.
   */
  private readonly proposals = new Map<LogIndex, PendingProposal<Result>[]>();
  private readonly reads = new Map<string, PendingRead>();
  private readonly waitingReads: PendingRead[] = [];
  private saving = false;
  private drainScheduled = false;
  private persistedTerm: Term;
  private persistedVote: NodeId | null;
  private stopped = false;
  private ticks = 0;
  private nextReadId = 0;
  /** A per-boot value in read contexts, so a late answer meant for an earlier incarnation never matches. */
  private readonly bootId: string;
  private appliedIndex: LogIndex;
  private snapshotIndex: LogIndex;

  constructor(options: NodeHostOptions<Result>) {
    this.options = options;
    this.id = options.config.id;
    const persisted = options.storage.load();
    if (persisted.snapshot) options.stateMachine.restore(persisted.snapshot.data, persisted.snapshot.meta);
    this.bootId = Math.floor(options.random.next() * 2 ** 32).toString(36);
    this.raft = new RaftNode(options.config, persisted, options.random);
    this.persistedTerm = persisted.hardState.term;
    this.persistedVote = persisted.hardState.votedFor;
    this.appliedIndex = this.raft.status().appliedIndex;
    this.snapshotIndex = persisted.snapshot?.meta.index ?? 0;
  }

  /** applied is the index of the last entry applied to the local state machine. */
  get applied(): LogIndex {
    return this.appliedIndex;
  }

  /** status is the Raft node's current picture. */
  status(): RaftStatus {
    return this.raft.status();
  }

  /** stop makes the host inert: a crashed node's late storage callbacks do nothing. */
  stop(): void {
    this.stopped = true;
  }

  /** tick advances logical time by one tick. */
  tick(): void {
    if (this.stopped) return;
    this.ticks++;
    this.raft.tick();
    this.expireReads();
    this.requestDrain();
  }

  /** receive hands a peer's message to Raft. */
  receive(message: Message): void {
    if (this.stopped) return;
    this.raft.step(message);
    this.requestDrain();
  }

  /** propose appends a command if this node leads; the callback fires once its fate is known here. */
  propose(data: Uint8Array, callback: (outcome: ProposalOutcome<Result>) => void): void {
    this.track(this.raft.propose(data), callback);
  }

  /** proposeConfChange proposes one membership change (one at a time). */
  proposeConfChange(change: ConfChange, callback: (outcome: ProposalOutcome<Result>) => void): void {
    this.track(this.raft.proposeConfChange(change), callback);
  }

  /** transferLeadership asks the leader to hand over to `to` (TimeoutNow once it is caught up). */
  transferLeadership(to: NodeId): boolean {
    const ok = this.raft.transferLeadership(to);
    this.requestDrain();
    return ok;
  }

  /**
   * read asks for a linearizable read point (ReadIndex, Raft thesis §6.4). When the callback says
   * ok, the local state machine reflects every write acknowledged before the read was issued.
   */
  read(callback: (outcome: ReadOutcome) => void): void {
    if (this.stopped) return;
    const context = `${this.id}/${this.bootId}/${this.nextReadId++}`;
    this.reads.set(context, { callback, deadlineTick: this.ticks + (this.options.readTimeoutTicks ?? this.options.config.electionTicks * 2), index: null });
    this.raft.readIndex(context);
    this.requestDrain();
  }

  private track(result: ReturnType<RaftNode['propose']>, callback: (outcome: ProposalOutcome<Result>) => void): void {
    if (this.stopped) return;
    if (!result.ok) {
      callback({ ok: false, reason: result.reason, leaderHint: result.leaderHint, ...(result.detail ? { detail: result.detail } : {}) });
      return;
    }
    const atIndex = this.proposals.get(result.index) ?? [];
    // NB: an earlier proposal at this index was truncated here, but another leader may still
    // commit it; it stays pending until the entry at this index is known.
    assert(atIndex.every((p) => p.term < result.term), 'two pending proposals at one index in one term');
    atIndex.push({ term: result.term, callback });
    this.proposals.set(result.index, atIndex);
    this.requestDrain();
  }

  private requestDrain(): void {
    const schedule = this.options.schedule;
    if (!schedule) {
      this.drain();
      return;
    }
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    schedule(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  /**
   * drain runs the Ready loop until Raft has nothing more to hand out, or until a save is still
   * in flight (its completion resumes the loop).
   */
  private drain(): void {
    while (!this.saving && !this.stopped) {
      const ready = this.raft.ready();
      if (!ready) return;
      this.saving = true;
      let completedInline = false;
      let returned = false;
      const planted = this.options.config.bugs?.has('send-before-persist') ?? false;
      const hs = ready.hardState;
      const voteChanged = hs !== null && (hs.term !== this.persistedTerm || hs.votedFor !== this.persistedVote);
      const sync = ready.entries.length > 0 || ready.snapshot !== null || voteChanged;
      // Raft thesis §10.2.1: a leader may send AppendEntries while it writes the same entries
      // to its own disk, because it counts itself toward a quorum only once they are durable.
      // Its term and vote are already durable (they were before its campaign went out).
      const leaderEarly = ready.softState.role === 'leader' && !voteChanged && ready.snapshot === null;
      // Planted bug `send-before-persist`: every node sends before the batch is durable, so a
      // crash in between forgets votes and acknowledged entries that peers already counted.
      const early = planted || leaderEarly;
      if (early) this.options.transport.send(ready.messages);
      const save = (done: () => void): void => {
        try {
          this.options.storage.save({ hardState: hs, entries: ready.entries, snapshot: ready.snapshot, sync }, done);
        } catch (err) {
          // A node that cannot persist must not go on: stop here so nothing is sent or applied.
          this.stopped = true;
          throw err;
        }
      };
      save(() => {
        if (this.stopped) return;
        if (hs) {
          this.persistedTerm = hs.term;
          this.persistedVote = hs.votedFor;
        }
        // NB: only now is the batch durable; a follower or candidate must not send earlier.
        if (!early) this.options.transport.send(ready.messages);
        this.applyReady(ready);
        this.raft.advance(ready);
        this.saving = false;
        this.maybeCompact();
        if (returned) this.drain();
        else completedInline = true;
      });
      returned = true;
      if (!completedInline) return;
    }
  }

  private applyReady(ready: Ready): void {
    if (ready.snapshot) {
      this.options.stateMachine.restore(ready.snapshot.data, ready.snapshot.meta);
      this.appliedIndex = ready.snapshot.meta.index;
      this.snapshotIndex = ready.snapshot.meta.index;
      for (const [index, list] of this.proposals) {
        if (index > ready.snapshot.meta.index) continue;
        this.proposals.delete(index);
        for (const pending of list) pending.callback({ ok: false, reason: 'Unknown', leaderHint: this.raft.status().leaderId });
      }
    }
    for (const entry of ready.committed) {
      assert(entry.index === this.appliedIndex + 1, `apply out of order: ${entry.index} after ${this.appliedIndex}`);
      let result: Result | undefined;
      if (entry.type === 'command') result = this.options.stateMachine.apply(entry);
      else this.options.stateMachine.observe?.(entry);
      this.appliedIndex = entry.index;
      const list = this.proposals.get(entry.index);
      if (list) {
        this.proposals.delete(entry.index);
        // Entries are unique by (index, term): only the proposal of the committed term applied.
        for (const pending of list) {
          if (pending.term === entry.term) pending.callback({ ok: true, index: entry.index, result: result as Result });
          else pending.callback({ ok: false, reason: 'Dropped', leaderHint: this.raft.status().leaderId });
        }
      }
      this.options.onApplied?.(entry, result);
    }
    for (const state of ready.readStates) {
      const pending = this.reads.get(state.context);
      if (!pending) continue;
      if (!state.ok) {
        this.reads.delete(state.context);
        pending.callback({ ok: false, reason: 'NotLeader', leaderHint: this.raft.status().leaderId });
        continue;
      }
      pending.index = state.index;
      this.reads.delete(state.context);
      this.waitingReads.push(pending);
    }
    this.releaseReads();
  }

  private releaseReads(): void {
    for (let i = 0; i < this.waitingReads.length; ) {
      const read = this.waitingReads[i] as PendingRead;
      if (read.index !== null && read.index <= this.appliedIndex) {
        this.waitingReads.splice(i, 1);
        read.callback({ ok: true, index: read.index });
      } else i++;
    }
  }

  private expireReads(): void {
    for (const [context, read] of this.reads) {
      if (read.deadlineTick > this.ticks) continue;
      this.reads.delete(context);
      read.callback({ ok: false, reason: 'Timeout', leaderHint: this.raft.status().leaderId });
    }
    for (let i = 0; i < this.waitingReads.length; ) {
      const read = this.waitingReads[i] as PendingRead;
      if (read.deadlineTick <= this.ticks) {
        this.waitingReads.splice(i, 1);
        read.callback({ ok: false, reason: 'Timeout', leaderHint: this.raft.status().leaderId });
      } else i++;
    }
  }

  private maybeCompact(): void {
    const every = this.options.snapshotEvery;
    if (every <= 0 || this.appliedIndex - this.snapshotIndex < every) return;
    // NB: an InstallSnapshot may have replaced the log while our last batch was being saved;
    // then there is nothing of ours left to compact until that snapshot is applied.
    if (this.appliedIndex < this.raft.firstIndex()) return;
    const data = this.options.stateMachine.snapshot();
    const snapshot = this.raft.compact(this.appliedIndex, data);
    this.options.storage.saveSnapshot(snapshot);
    this.snapshotIndex = this.appliedIndex;
  }
}
