// Deterministic glue. NodeHost is the only driver of a RaftNode: it runs the Ready loop (persist,
// send, apply, advance; entries already durable here apply without waiting for later saves),
// merges each Ready's messages per peer (and, on a leader, holds back for a moment the appends
// that only carry a commit index), tracks proposals and reads, and compacts the log. Every effect
// goes through a port, so the same host runs in production and in the seeded simulator.

import { assert } from '../util/assert.ts';
import type { Random } from '../util/prng.ts';
import { RaftNode } from '../raft/raftNode.ts';
import type { ConfChange, Entry, LogIndex, Message, NodeId, ProposeResult, RaftConfig, RaftStatus, Ready, Term } from '../raft/types.ts';
import { coalesceMessages } from './coalesce.ts';
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

/**
 * DEFAULT_BACKGROUND_SAVE_PROPOSALS: with this many proposals in flight a leader's event loop has
 * clients to serve during a flush. Measured on the 2-vCPU benchmark machine: 64 clients cycling
 * locks run ~10% faster with background flushes, one contended lock's hand-offs ~10% faster with
 * flushes in place (no trip through the thread pool).
 */
export const DEFAULT_BACKGROUND_SAVE_PROPOSALS = 16;

/**
 * COMMIT_HOLD_MS is how long a leader holds back a commit-only AppendEntries (`holdCommitOnly`),
 * in `warden node` and in the simulator alike: on a busy leader the next batch follows sooner and
 * carries the commit instead; an idle one sends it then.
 */
export const COMMIT_HOLD_MS = 2;

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
  /**
   * A leader marks its batches `background` (flush off the event loop) while at least this many
   * of its proposals await their outcome. Default DEFAULT_BACKGROUND_SAVE_PROPOSALS.
   */
  readonly backgroundSaveProposals?: number;
  /** Called after every committed entry is applied (for metrics, checkers and watchers). */
  readonly onApplied?: (entry: Entry, result: Result | undefined) => void;
  /**
   * Holds a leader's commit-only AppendEntries back for a moment: it must call `release` a short
   * time later (a couple of milliseconds) unless the returned cancel is called first. Without it
   * they go out at once. See NodeHost.sendOut.
   */
  readonly holdCommitOnly?: (release: () => void) => () => void;
}

type AppendEntries = Extract<Message, { type: 'AppendEntries' }>;

interface PendingProposal<Result> {
  readonly term: Term;
  readonly callback: (outcome: ProposalOutcome<Result>) => void;
}

interface PendingRead {
  /** Every read sharing this ReadIndex request (see NodeHost.read). */
  readonly callbacks: ((outcome: ReadOutcome) => void)[];
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
  /**
   * The read whose ReadIndex request has not left Raft yet (no Ready was taken since), with the
   * commit index it was made at: later reads join it while both still hold (see read()).
   */
  private openRead: { readonly read: PendingRead; readonly commit: LogIndex } | null = null;
  private saving = false;
  /** Commands propose() gathered this turn (with a `schedule`), and their callbacks. */
  private queuedData: Uint8Array[] = [];
  private queuedCallbacks: ((outcome: ProposalOutcome<Result>) => void)[] = [];
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
  /**
   * Every entry of the Raft log at or below this index is durable here. It drops to just before
   * a batch's first entry when that batch is handed to storage (the batch may replace what
   * follows), and rises to the batch's last entry once it is durable.
   */
  private durableIndex: LogIndex;
  /** Whether the batch being saved installs a snapshot (then nothing is applied ahead of it). */
  private savingSnapshot = false;
  /**
   * Planted bug `send-before-persist` (simulator only): every node sends before the batch is
   * durable, so a crash in between forgets votes and acknowledged entries peers already counted.
   */
  private readonly sendBeforePersist: boolean;
  /**
   * Planted bug `late-read-join` (simulator only): reads keep joining a ReadIndex request after
   * it went out, until it is answered, so a read can be confirmed by heartbeats sent before it arrived.
   */
  private readonly lateReadJoin: boolean;
  /** A leader's commit-only AppendEntries held back, at most one per follower (see sendOut). */
  private readonly held = new Map<NodeId, AppendEntries>();
  /** Cancels the pending release of `held`; null when nothing is held. */
  private cancelHold: (() => void) | null = null;

  constructor(options: NodeHostOptions<Result>) {
    this.options = options;
    this.id = options.config.id;
    this.sendBeforePersist = options.config.bugs?.has('send-before-persist') ?? false;
    this.lateReadJoin = options.config.bugs?.has('late-read-join') ?? false;
    const persisted = options.storage.load();
    if (persisted.snapshot) options.stateMachine.restore(persisted.snapshot.data, persisted.snapshot.meta);
    this.bootId = Math.floor(options.random.next() * 2 ** 32).toString(36);
    this.raft = new RaftNode(options.config, persisted, options.random);
    this.persistedTerm = persisted.hardState.term;
    this.persistedVote = persisted.hardState.votedFor;
    this.appliedIndex = this.raft.status().appliedIndex;
    this.snapshotIndex = persisted.snapshot?.meta.index ?? 0;
    this.durableIndex = this.raft.lastIndex();
  }

  /** applied is the index of the last entry applied to the local state machine. */
  get applied(): LogIndex {
    return this.appliedIndex;
  }

  /** isLeader says whether this node leads (cheaper than status(), for every request). */
  isLeader(): boolean {
    return this.raft.isLeader();
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
    // While a batch is being saved no Ready can be taken, but an entry this message committed
    // may already be durable here: apply it now rather than after the unrelated save.
    if (this.saving) this.applyDurable();
    this.requestDrain();
  }

  /**
   * propose appends a command if this node leads; the callback fires once its fate is known here.
   * With a `schedule`, the commands of one turn reach Raft together when the loop drains (one
   * AppendEntries per follower for all of them), in the order proposed.
   */
  propose(data: Uint8Array, callback: (outcome: ProposalOutcome<Result>) => void): void {
    if (this.stopped) return;
    if (!this.options.schedule) {
      this.track(this.raft.propose(data), callback);
      return;
    }
    this.queuedData.push(data);
    this.queuedCallbacks.push(callback);
    this.requestDrain();
  }

  /** proposeQueued hands Raft the commands propose() gathered this turn. */
  private proposeQueued(): void {
    if (this.queuedData.length === 0) return;
    const datas = this.queuedData;
    const callbacks = this.queuedCallbacks;
    this.queuedData = [];
    this.queuedCallbacks = [];
    const results = this.raft.proposeMany(datas);
    for (let i = 0; i < results.length; i++) this.track(results[i] as ProposeResult, callbacks[i] as (outcome: ProposalOutcome<Result>) => void);
  }

  /** proposeConfChange proposes one membership change (one at a time), after the commands proposed before it. */
  proposeConfChange(change: ConfChange, callback: (outcome: ProposalOutcome<Result>) => void): void {
    this.proposeQueued();
    this.track(this.raft.proposeConfChange(change), callback);
  }

  /** transferLeadership asks the leader to hand over to `to` (TimeoutNow once it is caught up). */
  transferLeadership(to: NodeId): boolean {
    this.proposeQueued();
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
    // Reads of one turn share one ReadIndex request (one heartbeat round, not one per read).
    // NB: a read may join only while the request has not been sent (its confirmation then
    // comes after this read arrived) and no entry was committed since it was made (so no write
    // acknowledged before this read can lie beyond the read point the leader recorded for it).
    const commit = this.raft.committedIndex();
    const open = this.openRead;
    if (open !== null && open.commit === commit) {
      open.read.callbacks.push(callback);
      return;
    }
    const context = `${this.id}/${this.bootId}/${this.nextReadId++}`;
    const read: PendingRead = { callbacks: [callback], deadlineTick: this.ticks + (this.options.readTimeoutTicks ?? this.options.config.electionTicks * 2), index: null };
    this.reads.set(context, read);
    this.raft.readIndex(context);
    this.openRead = { read, commit };
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
    this.proposeQueued();
    while (!this.saving && !this.stopped) {
      // The Ready carries the open read's request out: later reads need a request of their own.
      if (!this.lateReadJoin) this.openRead = null;
      const ready = this.raft.ready();
      if (!ready) return;
      this.saving = true;
      let completedInline = false;
      let returned = false;
      const hs = ready.hardState;
      const voteChanged = hs !== null && (hs.term !== this.persistedTerm || hs.votedFor !== this.persistedVote);
      const sync = ready.entries.length > 0 || ready.snapshot !== null || voteChanged;
      const messages = coalesceMessages(ready.messages, this.options.config);
      // Raft thesis §10.2.1: a leader may send AppendEntries while it writes the same entries
      // to its own disk, because it counts itself toward a quorum only once they are durable.
      // Its term and vote are already durable (they were before its campaign went out).
      const leading = ready.softState.role === 'leader';
      const leaderEarly = leading && !voteChanged && ready.snapshot === null;
      // Planted bug `send-before-persist` sends early on every node.
      const early = this.sendBeforePersist || leaderEarly;
      if (early) this.sendOut(messages, leading);
      const first = ready.entries[0];
      if (first !== undefined) this.durableIndex = Math.min(this.durableIndex, first.index - 1);
      this.savingSnapshot = ready.snapshot !== null;
      // A busy leader flushes off its event loop, which keeps reading and answering clients; an
      // idle one (few proposals in flight) flushes in place, which answers sooner.
      const background = leading && this.proposals.size >= (this.options.backgroundSaveProposals ?? DEFAULT_BACKGROUND_SAVE_PROPOSALS);
      let readsServed = false;
      const save = (done: () => void): void => {
        try {
          this.options.storage.save({ hardState: hs, entries: ready.entries, snapshot: ready.snapshot, sync, background }, done);
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
        const last = ready.entries[ready.entries.length - 1];
        // NB: after a snapshot only its own index is known durable: entries Raft appended since
        // may sit at indexes an older, discarded log held.
        if (last !== undefined) this.durableIndex = last.index;
        else if (ready.snapshot !== null) this.durableIndex = ready.snapshot.meta.index;
        this.savingSnapshot = false;
        // NB: only now is the batch durable; a follower or candidate must not send earlier.
        if (!early) this.sendOut(messages, leading);
        this.restoreSnapshot(ready);
        this.applyCommitted(ready.committed, ready.committed.length);
        if (!readsServed) this.serveReadStates(ready);
        this.releaseReads();
        this.raft.advance(ready);
        this.saving = false;
        this.maybeCompact();
        if (returned) this.drain();
        else completedInline = true;
      });
      returned = true;
      if (!completedInline) {
        // Committed entries that earlier saves made durable are applied while this batch flushes:
        // a client waits for the fsync of its own entry, not for that of later ones. NB: after
        // the save started, because a follower's answer (which the leader's commit waits for)
        // waits for the flush, not for the apply.
        this.applyDurable(ready.committed);
        this.serveReadStates(ready);
        readsServed = true;
        return;
      }
    }
  }

  /**
   * sendOut hands a Ready's messages to the transport. With `holdCommitOnly`, a leader holds back
   * each AppendEntries without entries to a follower it streams to (Progress `replicate`): a
   * leader sends one to every follower each time its commit index moves, and all it does is move
   * the follower's commit index. On a busy leader the next AppendEntries, which does that too,
   * follows within the hold, and the held one is dropped: the follower is spared a wake-up and
   * the leader an answer, once per commit. On an idle leader it goes out when the hold ends, so
   * followers still learn a commit within milliseconds. A held message goes out before any later
   * message to its follower, which therefore sees the leader's messages in their order, and is
   * dropped only for a later AppendEntries of the same term that checks the same or a later log
   * position with the same or a later commit index: the follower does all the held one would
   * have done, including rejecting it when entries before it were lost.
   */
  private sendOut(messages: readonly Message[], leader: boolean): void {
    const hold = this.options.holdCommitOnly;
    if (hold === undefined || !leader) {
      // Not (or no longer) leading: what a deposed leader held is stale, and Raft tolerates the loss.
      this.dropHeld();
      if (messages.length > 0) this.options.transport.send(messages);
      return;
    }
    const out: Message[] = [];
    for (const m of messages) {
      if (m.type === 'AppendEntries' && m.entries.length === 0 && this.raft.progressState(m.to) === 'replicate') {
        this.held.set(m.to, m);
        continue;
      }
      const prior = this.held.get(m.to);
      if (prior !== undefined) {
        this.held.delete(m.to);
        const covered = m.type === 'AppendEntries' && m.term === prior.term && m.prevLogIndex >= prior.prevLogIndex && m.leaderCommit >= prior.leaderCommit;
        if (!covered) out.push(prior);
      }
      out.push(m);
    }
    if (out.length > 0) this.options.transport.send(out);
    if (this.held.size === 0) this.dropHeld();
    else this.cancelHold ??= hold(() => this.releaseHeld());
  }

  private dropHeld(): void {
    this.held.clear();
    this.cancelHold?.();
    this.cancelHold = null;
  }

  /** releaseHeld sends what is held when the hold ends, unless this node stopped or no longer leads that term. */
  private releaseHeld(): void {
    this.cancelHold = null;
    const out = [...this.held.values()];
    this.held.clear();
    const term = out[0]?.term;
    if (term !== undefined && !this.stopped && this.raft.isLeader() && this.raft.currentTerm() === term) this.options.transport.send(out);
  }

  /**
   * applyDurable applies committed entries that are durable here, ahead of the Ready that will
   * list them (which then skips them): from `committed` when a Ready is at hand, otherwise from
   * the Raft log up to its commit index. Committed means stored by a quorum, so applying needs
   * only the local copy that a restart replays; nothing is applied past a snapshot being saved.
   */
  private applyDurable(committed?: readonly Entry[]): void {
    if (this.savingSnapshot) return;
    if (committed !== undefined) {
      let n = 0;
      while (n < committed.length && (committed[n] as Entry).index <= this.durableIndex) n++;
      this.applyCommitted(committed, n);
    } else {
      const limit = Math.min(this.raft.status().commitIndex, this.durableIndex);
      for (let index = this.appliedIndex + 1; index <= limit; index++) {
        const entry = this.raft.entryAt(index);
        if (entry === undefined) break;
        this.applyEntry(entry);
      }
    }
    this.releaseReads();
  }

  private restoreSnapshot(ready: Ready): void {
    if (!ready.snapshot) return;
    this.options.stateMachine.restore(ready.snapshot.data, ready.snapshot.meta);
    this.appliedIndex = ready.snapshot.meta.index;
    this.snapshotIndex = ready.snapshot.meta.index;
    for (const [index, list] of this.proposals) {
      if (index > ready.snapshot.meta.index) continue;
      this.proposals.delete(index);
      for (const pending of list) pending.callback({ ok: false, reason: 'Unknown', leaderHint: this.raft.status().leaderId });
    }
  }

  /** applyCommitted applies committed[0..to) in order, skipping entries already applied ahead of their Ready. */
  private applyCommitted(committed: readonly Entry[], to: number): void {
    for (let i = 0; i < to; i++) {
      const entry = committed[i] as Entry;
      if (entry.index > this.appliedIndex) this.applyEntry(entry);
    }
  }

  /** applyEntry applies the next committed entry and answers the proposals made at its index. */
  private applyEntry(entry: Entry): void {
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

  /** serveReadStates records read points; a read is answered once the state machine reaches its index. */
  private serveReadStates(ready: Ready): void {
    for (const state of ready.readStates) {
      const pending = this.reads.get(state.context);
      if (!pending) continue;
      this.reads.delete(state.context);
      if (this.openRead?.read === pending) this.openRead = null;
      if (!state.ok) {
        const leaderHint = this.raft.status().leaderId;
        for (const callback of pending.callbacks) callback({ ok: false, reason: 'NotLeader', leaderHint });
        continue;
      }
      pending.index = state.index;
      this.waitingReads.push(pending);
    }
    this.releaseReads();
  }

  private releaseReads(): void {
    for (let i = 0; i < this.waitingReads.length; ) {
      const read = this.waitingReads[i] as PendingRead;
      if (read.index !== null && read.index <= this.appliedIndex) {
        this.waitingReads.splice(i, 1);
        for (const callback of read.callbacks) callback({ ok: true, index: read.index });
      } else i++;
    }
  }

  private expireReads(): void {
    for (const [context, read] of this.reads) {
      if (read.deadlineTick > this.ticks) continue;
      this.reads.delete(context);
      if (this.openRead?.read === read) this.openRead = null;
      const leaderHint = this.raft.status().leaderId;
      for (const callback of read.callbacks) callback({ ok: false, reason: 'Timeout', leaderHint });
    }
    for (let i = 0; i < this.waitingReads.length; ) {
      const read = this.waitingReads[i] as PendingRead;
      if (read.deadlineTick <= this.ticks) {
        this.waitingReads.splice(i, 1);
        const leaderHint = this.raft.status().leaderId;
        for (const callback of read.callbacks) callback({ ok: false, reason: 'Timeout', leaderHint });
      } else i++;
    }
  }

  private maybeCompact(): void {
    const every = this.options.snapshotEvery;
    if (every <= 0 || this.appliedIndex - this.snapshotIndex < every) return;
    // NB: Raft compacts only what advance() acknowledged as applied; entries applied ahead of
    // their Ready wait for the next one.
    if (this.appliedIndex !== this.raft.status().appliedIndex) return;
    // NB: an InstallSnapshot may have replaced the log while our last batch was being saved;
    // then there is nothing of ours left to compact until that snapshot is applied.
    if (this.appliedIndex < this.raft.firstIndex()) return;
    const data = this.options.stateMachine.snapshot();
    const snapshot = this.raft.compact(this.appliedIndex, data);
    this.options.storage.saveSnapshot(snapshot);
    this.snapshotIndex = this.appliedIndex;
  }
}
