// Pure. Warden's Raft consensus core, in the style of etcd-io/raft: no I/O, no timers, no clock,
// no global randomness. The driver calls tick(), step(), propose(), readIndex(); collects a Ready
// (state to persist, messages to send, entries to apply); and calls advance() when done.
// Section numbers refer to the Raft paper (§) and Ongaro's thesis ("thesis §").

import { assert, unreachable } from '../util/assert.ts';
import type { Random } from '../util/prng.ts';
import { Progress } from './progress.ts';
import { committedIndex, quorumSize, voteResult } from './quorum.ts';
import { RaftLog } from './raftLog.ts';
import type {
  ConfChange,
  Entry,
  HardState,
  LogIndex,
  Membership,
  Message,
  NodeId,
  PersistedState,
  ProposeResult,
  RaftConfig,
  RaftStatus,
  ReadState,
  Ready,
  Role,
  Snapshot,
  Term,
} from './types.ts';

type MessageOf<T extends Message['type']> = Extract<Message, { type: T }>;
/** Distributes Omit over a union so that each message kind keeps its own fields. */
type OmitBase<M> = M extends Message ? Omit<M, 'from' | 'term'> & { term?: Term } : never;

interface PendingRead {
  readonly context: string;
  readonly from: NodeId;
  readonly index: LogIndex;
  readonly acks: Set<NodeId>;
}

/**
 * applyConfChange returns the membership after one change. It is total: an invalid change
 * leaves the membership as it was (the leader validates before proposing; a replayed log must
 * still apply deterministically).
 */
export function applyConfChange(membership: Membership, change: ConfChange): Membership {
  const voters = membership.voters.filter((id) => id !== change.node);
  const learners = membership.learners.filter((id) => id !== change.node);
  switch (change.type) {
    case 'addVoter':
    case 'promoteLearner':
      voters.push(change.node);
      break;
    case 'addLearner':
      if (membership.voters.includes(change.node)) return membership;
      learners.push(change.node);
      break;
    case 'removeNode':
      if (voters.length === 0) return membership;
      break;
    default:
      unreachable(change, 'conf change');
  }
  return { voters: voters.sort(), learners: learners.sort() };
}

/** RaftNode is one member's consensus state machine. It is not thread-safe and needs no threads. */
export class RaftNode {
  readonly id: NodeId;
  private readonly config: RaftConfig;
  private readonly random: Random;
  private readonly log: RaftLog;

  private term: Term;
  private votedFor: NodeId | null;
  private role: Role = 'follower';
  private leaderId: NodeId | null = null;
  private membership: Membership;
  /** The membership before any snapshot or conf entry: the cluster's initial members. */
  private readonly bootstrap: Membership;
  /** Index of the last conf entry folded into `membership`. */
  private confIndex: LogIndex = 0;

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private readonly votes = new Map<NodeId, boolean>();

  private readonly progress = new Map<NodeId, Progress>();
  /** A leader may not propose a conf change until the one at this index is committed. */
  private pendingConfIndex: LogIndex = 0;
  private leadTransferee: NodeId | null = null;
  private transferElapsed = 0;

  private readonly pendingReads: PendingRead[] = [];
  /** ReadIndex requests that arrived before the leader committed an entry of its term. */
  private readonly deferredReads: { context: string; from: NodeId }[] = [];

  private msgs: Message[] = [];
  private readStates: ReadState[] = [];
  private prevHardState: HardState;
  private pendingSnapshot: Snapshot | null = null;
  private readyOutstanding = false;

  constructor(config: RaftConfig, persisted: PersistedState, random: Random) {
    assert(config.heartbeatTicks > 0 && config.heartbeatTicks < config.electionTicks, 'heartbeatTicks must be in (0, electionTicks)');
    assert(config.maxInflightMessages > 0 && config.maxEntriesPerMessage > 0, 'flow-control limits must be positive');
    this.id = config.id;
    this.config = config;
    this.random = random;
    const hs = persisted.hardState;
    this.log = new RaftLog(persisted.snapshot, persisted.entries, hs.commit, persisted.applied);
    this.term = hs.term;
    this.votedFor = hs.votedFor;
    this.bootstrap = persisted.bootstrap;
    this.membership = persisted.snapshot?.meta.membership ?? persisted.bootstrap;
    this.confIndex = persisted.snapshot?.meta.index ?? 0;
    this.applyCommittedConf();
    this.prevHardState = { term: this.term, votedFor: this.votedFor, commit: this.log.committed };
    this.resetRandomizedElectionTimeout();
  }

  // ---------------------------------------------------------------------------------------------
  // Driver interface.

  /** tick advances logical time by one tick: elections on followers, heartbeats on leaders. */
  tick(): void {
    if (this.role === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  /** campaign starts an election now, as if the election timeout had elapsed. */
  campaign(): void {
    this.hup(false);
  }

  /** propose appends an application command on the leader. Raft §5.3. */
  propose(data: Uint8Array): ProposeResult {
    const refusal = this.refuseProposal();
    if (refusal) return refusal;
    return this.appendOwn([{ type: 'command', data }])[0] as ProposeResult;
  }

  /**
   * proposeMany appends several commands at once and sends followers one AppendEntries for all of
   * them (per-command propose() sends one per command, which the driver would have to merge).
   * The results are in order; a refusal refuses them all.
   */
  proposeMany(datas: readonly Uint8Array[]): ProposeResult[] {
    const refusal = this.refuseProposal();
    if (refusal) return datas.map(() => refusal);
    return this.appendOwn(datas.map((data) => ({ type: 'command', data })));
  }

  /**
   * proposeConfChange appends one membership change. Thesis §4.1 (and Ongaro's 2015 correction):
   * one change at a time, and only after the leader has committed an entry of its own term.
   */
  proposeConfChange(change: ConfChange): ProposeResult {
    const refusal = this.refuseProposal();
    if (refusal) return refusal;
    if (this.pendingConfIndex > this.log.committed) {
      return { ok: false, reason: 'ConfChangeInProgress', leaderHint: this.id, detail: `the change at ${this.pendingConfIndex} is not committed yet` };
    }
    const invalid = this.validateConfChange(change);
    if (invalid) return { ok: false, reason: 'InvalidConfChange', leaderHint: this.id, detail: invalid };
    const result = this.appendOwn([{ type: 'conf', change }])[0] as ProposeResult;
    if (result.ok) this.pendingConfIndex = result.index;
    return result;
  }

  /**
   * readIndex requests a linearizable read point (thesis §6.4). The answer arrives as a ReadState
   * in a later Ready: once the application has applied up to its index, a read of local state
   * reflects every write acknowledged before the request.
   */
  readIndex(context: string): void {
    if (this.role === 'leader') {
      this.handleReadIndex(context, this.id);
    } else if (this.leaderId !== null) {
      this.send({ type: 'ReadIndex', to: this.leaderId, context });
    } else {
      this.readStates.push({ context, index: 0, ok: false });
    }
  }

  /**
   * transferLeadership hands leadership to `to` (thesis §3.10): stop accepting proposals, bring
   * the target up to date, then send TimeoutNow so that it campaigns at once. Aborted after an
   * election timeout.
   */
  transferLeadership(to: NodeId): boolean {
    if (this.role !== 'leader' || to === this.id || !this.membership.voters.includes(to)) return false;
    const pr = this.progress.get(to);
    if (!pr) return false;
    if (this.leadTransferee === to) return true;
    this.leadTransferee = to;
    this.transferElapsed = 0;
    if (pr.matchIndex === this.log.lastIndex()) this.send({ type: 'TimeoutNow', to });
    else this.sendAppend(to, true);
    return true;
  }

  /**
   * compact records an application snapshot taken at `index` (which must be applied and durable)
   * and forgets the entries it covers. Raft §7. The driver persists the returned snapshot.
   */
  compact(index: LogIndex, data: Uint8Array): Snapshot {
    const term = this.log.term(index);
    assert(term !== undefined, `compact at unknown index ${index}`);
    const snapshot: Snapshot = { meta: { index, term, membership: this.membershipAt(index) }, data };
    this.log.compact(snapshot);
    return snapshot;
  }

  /** hasReady says whether ready() would return work. */
  hasReady(): boolean {
    if (this.msgs.length > 0 || this.readStates.length > 0 || this.pendingSnapshot) return true;
    if (this.log.stable < this.log.lastIndex() || this.log.committed > this.log.applied) return true;
    return !sameHardState(this.prevHardState, this.hardState());
  }

  /**
   * ready returns the next batch of work, or undefined when there is none. Between ready() and
   * advance() the driver must not call ready() again. See the Ready type for the contract.
   */
  ready(): Ready | undefined {
    assert(!this.readyOutstanding, 'ready() called again before advance()');
    if (!this.hasReady()) return undefined;
    const hs = this.hardState();
    const snapshot = this.pendingSnapshot;
    const firstApplied = Math.max(this.log.applied, snapshot?.meta.index ?? 0) + 1;
    const committed: Entry[] = [];
    for (let i = firstApplied; i <= this.log.committed; i++) committed.push(this.log.entry(i) as Entry);
    const ready: Ready = {
      softState: { role: this.role, leaderId: this.leaderId, term: this.term },
      hardState: sameHardState(this.prevHardState, hs) ? null : hs,
      entries: this.log.unstableEntries(),
      snapshot,
      committed,
      messages: this.msgs,
      readStates: this.readStates,
    };
    this.msgs = [];
    this.readStates = [];
    this.readyOutstanding = true;
    return ready;
  }

  /** advance acknowledges that a Ready was persisted, sent and applied. */
  advance(ready: Ready): void {
    assert(this.readyOutstanding, 'advance() without an outstanding ready()');
    this.readyOutstanding = false;
    if (ready.hardState) this.prevHardState = ready.hardState;
    if (ready.snapshot) {
      if (this.pendingSnapshot === ready.snapshot) this.pendingSnapshot = null;
      this.log.stable = Math.max(this.log.stable, ready.snapshot.meta.index);
      this.log.applied = Math.max(this.log.applied, ready.snapshot.meta.index);
    }
    for (let i = ready.entries.length - 1; i >= 0; i--) {
      const entry = ready.entries[i] as Entry;
      if (this.log.matchTerm(entry.index, entry.term)) {
        this.log.stableTo(entry.index, entry.term);
        break;
      }
    }
    const lastApplied = ready.committed[ready.committed.length - 1];
    if (lastApplied) this.log.applied = Math.max(this.log.applied, lastApplied.index);
    if (this.role === 'leader') {
      // The leader's own entries count toward a quorum only once durable (thesis §10.2.1).
      const self = this.progress.get(this.id);
      if (self) self.update(Math.min(this.log.stable, this.log.lastIndex()));
      if (this.maybeCommit()) this.broadcastAppend();
    }
  }

  /** status is a read-only picture for status APIs, tests and checkers. */
  status(): RaftStatus {
    const progress = new Map<NodeId, { matchIndex: LogIndex; nextIndex: LogIndex; state: 'probe' | 'replicate' | 'snapshot'; recentActive: boolean }>();
    if (this.role === 'leader') {
      for (const [id, pr] of this.progress) progress.set(id, { matchIndex: pr.matchIndex, nextIndex: pr.nextIndex, state: pr.state, recentActive: pr.recentActive });
    }
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      votedFor: this.votedFor,
      leaderId: this.leaderId,
      commitIndex: this.log.committed,
      appliedIndex: this.log.applied,
      lastIndex: this.log.lastIndex(),
      firstIndex: this.log.firstIndex(),
      membership: this.membership,
      progress,
      transferee: this.leadTransferee,
    };
  }

  /** isLeader says whether this node leads its term (status().role without the copying). */
  isLeader(): boolean {
    return this.role === 'leader';
  }

  /** committedIndex is the highest index known to be committed here (status() without the copying). */
  committedIndex(): LogIndex {
    return this.log.committed;
  }

  /** currentTerm is the node's term (status() without the copying). */
  currentTerm(): Term {
    return this.term;
  }

  /** progressState is how a leader replicates to `peer` (status().progress without the copying); null when not leading or not a member. */
  progressState(peer: NodeId): 'probe' | 'replicate' | 'snapshot' | null {
    return this.role === 'leader' ? (this.progress.get(peer)?.state ?? null) : null;
  }

  /** lastIndex is the index of the last entry in the log (durable or not). */
  lastIndex(): LogIndex {
    return this.log.lastIndex();
  }

  /** firstIndex is the first index still held in memory (one past the latest snapshot). */
  firstIndex(): LogIndex {
    return this.log.firstIndex();
  }

  /** entryAt returns the in-memory entry at `index`, for checkers and diagnostics. */
  entryAt(index: LogIndex): Entry | undefined {
    return this.log.entry(index);
  }

  /** termAt returns the term at `index` (also for the snapshot index), or undefined. */
  termAt(index: LogIndex): Term | undefined {
    return this.log.term(index);
  }

  // ---------------------------------------------------------------------------------------------
  // Messages.

  /** step handles one message from a peer. Raft §5.1: every RPC carries a term, and terms only move forward. */
  step(m: Message): void {
    if (m.to !== this.id) return;
    if (m.term > this.term) {
      if (m.type === 'RequestVote' || m.type === 'PreVote') {
        // Thesis §4.2.3: while a node hears from a current leader, it ignores vote requests, so a
        // removed or partitioned server cannot depose a healthy leader. Transfers are exempt.
        // Thesis §9.6 applies the same rule to pre-votes even without check-quorum.
        const leaseApplies = this.config.checkQuorum || (this.config.preVote && m.type === 'PreVote');
        const inLease = leaseApplies && this.leaderId !== null && this.electionElapsed < this.config.electionTicks;
        if (inLease && !m.transfer) return;
      }
      if (m.type === 'PreVote') {
        // A pre-vote asks about a future term; it changes nothing here.
      } else if (m.type === 'PreVoteResponse' && m.granted) {
        // A grant for our own future term.
      } else {
        const leader = m.type === 'AppendEntries' || m.type === 'Heartbeat' || m.type === 'InstallSnapshot' ? m.from : null;
        const elapsed = this.electionElapsed;
        this.becomeFollower(m.term, leader);
        // Raft §5.2 (Figure 2): only a leader's AppendEntries or a granted vote restarts the
        // election timer. A vote request we may refuse must not, or a candidate with a stale
        // log (say a preferred voter that is behind) could keep up-to-date voters from ever
        // campaigning.
        if (m.type === 'RequestVote' && this.role === 'follower') this.electionElapsed = elapsed;
      }
    } else if (m.term < this.term) {
      if ((this.config.checkQuorum || this.config.preVote) && (m.type === 'AppendEntries' || m.type === 'Heartbeat')) {
        // A stale leader learns the new term from this answer and steps down (thesis §9.6).
        this.send({ type: 'AppendEntriesResponse', to: m.from, success: false, matchIndex: 0, rejectHint: 0, rejectedIndex: -1 });
      } else if (m.type === 'PreVote') {
        this.send({ type: 'PreVoteResponse', to: m.from, granted: false });
      }
      return;
    }

    switch (m.type) {
      case 'RequestVote':
      case 'PreVote':
        this.handleVoteRequest(m);
        return;
      case 'ReadIndex':
        if (this.role === 'leader') this.handleReadIndex(m.context, m.from);
        else this.send({ type: 'ReadIndexResponse', to: m.from, context: m.context, index: 0, ok: false });
        return;
      default:
        break;
    }

    switch (this.role) {
      case 'leader':
        this.stepLeader(m);
        return;
      case 'candidate':
      case 'preCandidate':
        this.stepCandidate(m);
        return;
      case 'follower':
        this.stepFollower(m);
        return;
      default:
        unreachable(this.role, 'role');
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case 'AppendEntriesResponse':
        this.handleAppendResponse(m);
        return;
      case 'HeartbeatResponse':
        this.handleHeartbeatResponse(m);
        return;
      case 'InstallSnapshotResponse':
        this.handleSnapshotResponse(m);
        return;
      default:
        // Votes for this term were decided long ago; a second leader in this term is impossible.
        return;
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'AppendEntries':
      case 'Heartbeat':
      case 'InstallSnapshot':
        // Raft §5.2: a candidate that hears from a leader of its term returns to follower.
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        return;
      case 'RequestVoteResponse':
      case 'PreVoteResponse':
        this.handleVoteResponse(m);
        return;
      default:
        return;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'AppendEntries':
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.handleAppendEntries(m);
        return;
      case 'Heartbeat':
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
        this.applyCommittedConf();
        this.send({ type: 'HeartbeatResponse', to: m.from, context: m.context });
        return;
      case 'InstallSnapshot':
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.handleInstallSnapshot(m);
        return;
      case 'TimeoutNow':
        // Thesis §3.10: the leader chose us; campaign at once, skipping pre-vote.
        if (this.promotable()) this.startElection(true);
        return;
      case 'ReadIndexResponse':
        this.readStates.push({ context: m.context, index: m.index, ok: m.ok });
        return;
      default:
        return;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Elections (Raft §5.2, §5.4.1; pre-vote and check-quorum, thesis §9.6).

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.leadTransferee !== null && ++this.transferElapsed >= this.config.electionTicks) {
      this.leadTransferee = null;
    }
    for (const pr of this.progress.values()) {
      if (pr.state === 'snapshot' && ++pr.snapshotTicks >= this.config.electionTicks) pr.becomeProbe();
    }
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum && !this.quorumActive()) {
        this.becomeFollower(this.term, null);
        return;
      }
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      const last = this.pendingReads[this.pendingReads.length - 1];
      this.broadcastHeartbeat(last?.context ?? null);
    }
  }

  /** quorumActive checks (and resets) which voters answered during the last election timeout. */
  private quorumActive(): boolean {
    let active = 0;
    for (const id of this.membership.voters) {
      const pr = this.progress.get(id);
      if (!pr) continue;
      if (id === this.id || pr.recentActive) active++;
      pr.recentActive = id === this.id;
    }
    return active >= quorumSize(this.membership.voters.length);
  }

  private promotable(): boolean {
    return this.membership.voters.includes(this.id);
  }

  private hup(transfer: boolean): void {
    if (this.role === 'leader' || !this.promotable()) return;
    if (this.config.preVote && !transfer) this.startPreVote();
    else this.startElection(transfer);
  }

  private startPreVote(): void {
    this.role = 'preCandidate';
    this.leaderId = null;
    this.votes.clear();
    this.electionElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.votes.set(this.id, true);
    if (voteResult(this.membership.voters, this.votes) === 'won') {
      this.startElection(false);
      return;
    }
    for (const to of this.membership.voters) {
      if (to === this.id) continue;
      this.send({ type: 'PreVote', to, term: this.term + 1, lastLogIndex: this.log.lastIndex(), lastLogTerm: this.log.lastTerm(), transfer: false });
    }
  }

  private startElection(transfer: boolean): void {
    this.becomeCandidate();
    if (voteResult(this.membership.voters, this.votes) === 'won') {
      this.becomeLeader();
      return;
    }
    for (const to of this.membership.voters) {
      if (to === this.id) continue;
      this.send({ type: 'RequestVote', to, lastLogIndex: this.log.lastIndex(), lastLogTerm: this.log.lastTerm(), transfer });
    }
  }

  private handleVoteRequest(m: MessageOf<'RequestVote' | 'PreVote'>): void {
    const plantedVoteTwice = this.config.bugs?.has('vote-twice') ?? false;
    // Raft §5.2: at most one vote per term, first come first served. A pre-vote for a later term
    // does not bind us.
    const canVote =
      this.votedFor === m.from ||
      (this.votedFor === null && this.leaderId === null) ||
      (m.type === 'PreVote' && m.term > this.term) ||
      // Planted bug `vote-twice`: grant a second vote in the same term.
      (plantedVoteTwice && m.type === 'RequestVote');
    // Raft §5.4.1: only for a candidate whose log is at least as up-to-date as ours.
    const grant = canVote && this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm);
    const type = m.type === 'PreVote' ? 'PreVoteResponse' : 'RequestVoteResponse';
    if (grant) {
      if (m.type === 'RequestVote') {
        this.electionElapsed = 0;
        this.votedFor = m.from;
      }
      // A granted pre-vote carries the future term, so the pre-candidate does not discard it.
      this.send({ type, to: m.from, term: m.term, granted: true });
    } else {
      this.send({ type, to: m.from, granted: false });
    }
  }

  private handleVoteResponse(m: MessageOf<'RequestVoteResponse' | 'PreVoteResponse'>): void {
    if (m.type === 'PreVoteResponse' && this.role !== 'preCandidate') return;
    if (m.type === 'RequestVoteResponse' && this.role !== 'candidate') return;
    this.votes.set(m.from, m.granted);
    const result = voteResult(this.membership.voters, this.votes);
    if (result === 'won') {
      if (this.role === 'preCandidate') this.startElection(false);
      else this.becomeLeader();
    } else if (result === 'lost') {
      this.becomeFollower(this.term, null);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Role changes.

  private becomeFollower(term: Term, leaderId: NodeId | null): void {
    const wasLeader = this.role === 'leader';
    if (term > this.term) {
      this.term = term;
      this.votedFor = null;
    }
    this.role = 'follower';
    this.leaderId = leaderId;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.leadTransferee = null;
    this.votes.clear();
    this.resetRandomizedElectionTimeout();
    if (wasLeader) {
      this.progress.clear();
      this.failPendingReads();
    }
  }

  private becomeCandidate(): void {
    assert(this.role !== 'leader', 'a leader cannot become a candidate');
    this.term++;
    this.votedFor = this.id;
    this.role = 'candidate';
    this.leaderId = null;
    this.electionElapsed = 0;
    this.votes.clear();
    this.votes.set(this.id, true);
    this.resetRandomizedElectionTimeout();
  }

  private becomeLeader(): void {
    assert(this.role === 'candidate', 'only a candidate becomes leader');
    this.role = 'leader';
    this.leaderId = this.id;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.leadTransferee = null;
    this.progress.clear();
    const next = this.log.lastIndex() + 1;
    for (const id of [...this.membership.voters, ...this.membership.learners]) {
      const pr = new Progress(next, this.config.maxInflightMessages);
      if (id === this.id) {
        pr.update(this.log.stable);
        pr.becomeReplicate();
      } else {
        // A new leader must hear from a quorum within its first election timeout too.
        pr.recentActive = false;
      }
      this.progress.set(id, pr);
    }
    // Raft §8: append a no-op so that entries of earlier terms commit with it (§5.4.2). Until the
    // no-op commits, conf changes and reads wait.
    const noop = this.appendOwn([{ type: 'noop' }])[0] as ProposeResult;
    assert(noop.ok, 'a new leader must be able to append its no-op');
    this.pendingConfIndex = noop.index;
  }

  private resetRandomizedElectionTimeout(): void {
    const penalty = Math.max(0, this.config.maxPriority - this.config.priority);
    this.randomizedElectionTimeout = this.config.electionTicks * (1 + penalty) + this.random.int(this.config.electionTicks);
  }

  // ---------------------------------------------------------------------------------------------
  // Replication (Raft §5.3).

  private refuseProposal(): Extract<ProposeResult, { ok: false }> | null {
    if (this.role !== 'leader') return { ok: false, reason: 'NotLeader', leaderHint: this.leaderId };
    if (this.leadTransferee !== null) return { ok: false, reason: 'TransferInProgress', leaderHint: this.leadTransferee };
    return null;
  }

  /** appendOwn appends the leader's own entries and sends each follower one AppendEntries for them. */
  private appendOwn(bodies: readonly ({ type: 'noop' } | { type: 'command'; data: Uint8Array } | { type: 'conf'; change: ConfChange })[]): ProposeResult[] {
    if (bodies.length === 0) return [];
    const term = this.term;
    let index = this.log.lastIndex();
    // NB: literals in one field order, not a spread of `body`: every entry then has one of three
    // shapes, which keeps the property reads of the codec and storage monomorphic.
    const entries = bodies.map((body): Entry => {
      index++;
      switch (body.type) {
        case 'command':
          return { term, index, type: 'command', data: body.data };
        case 'noop':
          return { term, index, type: 'noop' };
        case 'conf':
          return { term, index, type: 'conf', change: body.change };
      }
    });
    this.log.append(entries);
    this.broadcastAppend();
    return entries.map((entry) => ({ ok: true, index: entry.index, term }));
  }

  private broadcastAppend(): void {
    for (const id of this.progress.keys()) {
      if (id !== this.id) this.sendAppend(id, true);
    }
  }

  /** sendAppend sends the follower what it lacks, or a snapshot when that is compacted away. */
  private sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to);
    if (!pr || pr.paused()) return false;
    const prevLogIndex = pr.nextIndex - 1;
    const prevLogTerm = this.log.term(prevLogIndex);
    if (prevLogTerm === undefined) return this.sendSnapshot(to, pr);
    let entries = pr.nextIndex <= this.log.lastIndex() ? this.log.slice(pr.nextIndex, this.config.maxEntriesPerMessage) : [];
    const maxBytes = this.config.maxBytesPerMessage;
    if (maxBytes !== undefined && entries.length > 1) {
      let bytes = 0;
      let keep = 0;
      for (const e of entries) {
        bytes += e.type === 'command' ? e.data.byteLength : 64;
        if (keep > 0 && bytes > maxBytes) break;
        keep++;
      }
      entries = entries.slice(0, keep);
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    pr.sentEntries(prevLogIndex + entries.length, entries.length);
    this.send({ type: 'AppendEntries', to, prevLogIndex, prevLogTerm, entries, leaderCommit: this.log.committed });
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    const snapshot = this.log.snapshot;
    if (!snapshot) return false;
    pr.becomeSnapshot(snapshot.meta.index);
    this.send({ type: 'InstallSnapshot', to, snapshot });
    return true;
  }

  private broadcastHeartbeat(context: string | null): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      // A follower may only commit what it is known to hold: send min(match, commit).
      this.send({ type: 'Heartbeat', to: id, commit: Math.min(pr.matchIndex, this.log.committed), context });
    }
  }

  private handleAppendEntries(m: MessageOf<'AppendEntries'>): void {
    if (m.prevLogIndex < this.log.committed) {
      this.send({ type: 'AppendEntriesResponse', to: m.from, success: true, matchIndex: this.log.committed, rejectHint: 0, rejectedIndex: 0 });
      return;
    }
    const planted = this.config.bugs?.has('skip-log-match') ?? false;
    // Raft §5.3: reject unless our log holds the previous entry with the same term. Planted bug
    // `skip-log-match` skips that check whenever the entries can be placed at all.
    const matches = this.log.matchTerm(m.prevLogIndex, m.prevLogTerm) || (planted && m.prevLogIndex <= this.log.lastIndex());
    if (!matches) {
      const hint = this.log.findConflictByTerm(Math.min(m.prevLogIndex, this.log.lastIndex()), m.prevLogTerm);
      this.send({ type: 'AppendEntriesResponse', to: m.from, success: false, matchIndex: 0, rejectHint: hint, rejectedIndex: m.prevLogIndex });
      return;
    }
    const conflict = this.log.findConflict(m.entries);
    if (conflict !== 0) {
      const from = conflict - (m.prevLogIndex + 1);
      this.log.truncateAndAppend(m.entries.slice(from));
    }
    const lastNew = m.prevLogIndex + m.entries.length;
    this.log.commitTo(Math.min(m.leaderCommit, lastNew));
    this.applyCommittedConf();
    this.send({ type: 'AppendEntriesResponse', to: m.from, success: true, matchIndex: lastNew, rejectHint: 0, rejectedIndex: 0 });
  }

  private handleAppendResponse(m: MessageOf<'AppendEntriesResponse'>): void {
    const pr = this.progress.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    if (!m.success) {
      if (m.rejectedIndex < 0) return;
      if (pr.decreaseTo(m.rejectedIndex, m.rejectHint)) this.sendAppend(m.from, true);
      return;
    }
    const wasPaused = pr.paused();
    if (!pr.update(m.matchIndex)) {
      if (wasPaused && !pr.paused()) this.sendAppend(m.from, false);
      return;
    }
    if (pr.state === 'probe') pr.becomeReplicate();
    else if (pr.state === 'snapshot' && pr.matchIndex >= pr.pendingSnapshot) pr.becomeProbe();
    if (this.maybeCommit()) {
      this.broadcastAppend();
    } else {
      // Fill the window: keep streaming while entries remain and the window allows.
      for (let i = 0; i < this.config.maxInflightMessages && this.sendAppend(m.from, false); i++);
    }
    if (m.from === this.leadTransferee && pr.matchIndex === this.log.lastIndex()) {
      this.send({ type: 'TimeoutNow', to: m.from });
    }
  }

  private handleHeartbeatResponse(m: MessageOf<'HeartbeatResponse'>): void {
    const pr = this.progress.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    pr.probeSent = false;
    pr.freeOne();
    if (pr.matchIndex < this.log.lastIndex()) this.sendAppend(m.from, true);
    if (m.context !== null && this.membership.voters.includes(m.from)) this.ackRead(m.context, m.from);
  }

  private handleInstallSnapshot(m: MessageOf<'InstallSnapshot'>): void {
    const meta = m.snapshot.meta;
    if (meta.index <= this.log.committed) {
      this.send({ type: 'InstallSnapshotResponse', to: m.from, matchIndex: this.log.committed, accepted: true });
      return;
    }
    if (this.log.matchTerm(meta.index, meta.term)) {
      // We already hold the snapshot's last entry: just fast-forward the commit index.
      this.log.commitTo(meta.index);
      this.applyCommittedConf();
    } else {
      this.log.restore(m.snapshot);
      this.pendingSnapshot = m.snapshot;
      this.membership = meta.membership;
      this.confIndex = meta.index;
    }
    this.send({ type: 'InstallSnapshotResponse', to: m.from, matchIndex: meta.index, accepted: true });
  }

  private handleSnapshotResponse(m: MessageOf<'InstallSnapshotResponse'>): void {
    const pr = this.progress.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    if (!m.accepted) {
      pr.becomeProbe();
      return;
    }
    pr.update(m.matchIndex);
    if (pr.state === 'snapshot') pr.becomeProbe();
    this.sendAppend(m.from, false);
  }

  /**
   * maybeCommit advances the commit index to the highest index stored on a quorum, but only if
   * that entry is from the current term. Raft §5.4.2: replicas of an earlier term's entry are
   * never counted; it commits indirectly with the current term's entry.
   */
  private maybeCommit(): boolean {
    const candidate = committedIndex(this.membership.voters, (id) => this.progress.get(id)?.matchIndex ?? 0);
    if (candidate <= this.log.committed) return false;
    const planted = this.config.bugs?.has('commit-old-term') ?? false;
    // Planted bug `commit-old-term`: count replicas of an entry from an earlier term.
    if (this.log.term(candidate) !== this.term && !planted) return false;
    const hadCommittedOwnTerm = this.log.term(this.log.committed) === this.term;
    this.log.commitTo(candidate);
    this.applyCommittedConf();
    if (!hadCommittedOwnTerm && this.log.term(this.log.committed) === this.term) this.releaseDeferredReads();
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // Membership (thesis §4.1). A change takes effect on every node once it is committed.

  private validateConfChange(change: ConfChange): string | null {
    const { voters, learners } = this.membership;
    const isVoter = voters.includes(change.node);
    const isLearner = learners.includes(change.node);
    switch (change.type) {
      case 'addVoter':
        return isVoter ? `${change.node} is already a voter` : isLearner ? `${change.node} is a learner: promote it instead` : null;
      case 'addLearner':
        return isVoter || isLearner ? `${change.node} is already a member` : null;
      case 'promoteLearner':
        return isLearner ? null : `${change.node} is not a learner`;
      case 'removeNode':
        if (!isVoter && !isLearner) return `${change.node} is not a member`;
        if (change.node === this.id) return 'the leader cannot remove itself: transfer leadership first';
        if (isVoter && voters.length === 1) return 'cannot remove the last voter';
        return null;
      default:
        return unreachable(change, 'conf change');
    }
  }

  /** applyCommittedConf folds committed membership changes into the configuration. */
  private applyCommittedConf(): void {
    while (this.confIndex < this.log.committed) {
      this.confIndex++;
      const entry = this.log.entry(this.confIndex);
      if (entry?.type !== 'conf') continue;
      const before = this.membership;
      this.membership = applyConfChange(before, entry.change);
      if (this.role === 'leader') this.onLeaderMembershipChange();
    }
  }

  private onLeaderMembershipChange(): void {
    const members = new Set([...this.membership.voters, ...this.membership.learners]);
    for (const id of [...this.progress.keys()]) {
      if (!members.has(id)) this.progress.delete(id);
    }
    for (const id of members) {
      if (!this.progress.has(id)) this.progress.set(id, new Progress(this.log.lastIndex() + 1, this.config.maxInflightMessages));
    }
    if (this.leadTransferee !== null && !this.membership.voters.includes(this.leadTransferee)) this.leadTransferee = null;
    if (!this.membership.voters.includes(this.id)) {
      // Demoted or removed: stop leading, let the remaining voters elect a leader.
      this.becomeFollower(this.term, null);
    }
  }

  /** membershipAt replays conf entries after the snapshot to find the configuration as of `index`. */
  private membershipAt(index: LogIndex): Membership {
    assert(index <= this.confIndex, `membership at ${index} is not folded yet (conf index ${this.confIndex})`);
    let membership = this.log.snapshot?.meta.membership ?? this.bootstrap;
    for (let i = this.log.firstIndex(); i <= index; i++) {
      const entry = this.log.entry(i);
      if (entry?.type === 'conf') membership = applyConfChange(membership, entry.change);
    }
    return membership;
  }

  // ---------------------------------------------------------------------------------------------
  // ReadIndex (thesis §6.4).

  private handleReadIndex(context: string, from: NodeId): void {
    if (this.log.term(this.log.committed) !== this.term) {
      // The leader does not know the latest commit index until it commits an entry of its term.
      this.deferredReads.push({ context, from });
      return;
    }
    const read: PendingRead = { context, from, index: this.log.committed, acks: new Set([this.id]) };
    if (this.membership.voters.length === 1) {
      this.answerRead(read, true);
      return;
    }
    this.pendingReads.push(read);
    this.broadcastHeartbeat(context);
  }

  private releaseDeferredReads(): void {
    const deferred = this.deferredReads.splice(0);
    for (const { context, from } of deferred) this.handleReadIndex(context, from);
  }

  private ackRead(context: string, from: NodeId): void {
    const at = this.pendingReads.findIndex((r) => r.context === context);
    if (at < 0) return;
    const read = this.pendingReads[at] as PendingRead;
    read.acks.add(from);
    let acked = 0;
    for (const id of this.membership.voters) if (read.acks.has(id)) acked++;
    if (acked < quorumSize(this.membership.voters.length)) return;
    // A quorum confirmed leadership as of this request, hence for every earlier one too.
    for (const done of this.pendingReads.splice(0, at + 1)) this.answerRead(done, true);
  }

  private answerRead(read: { context: string; from: NodeId; index: LogIndex }, ok: boolean): void {
    if (read.from === this.id) this.readStates.push({ context: read.context, index: read.index, ok });
    else this.send({ type: 'ReadIndexResponse', to: read.from, context: read.context, index: read.index, ok });
  }

  private failPendingReads(): void {
    for (const read of this.pendingReads.splice(0)) this.answerRead(read, false);
    for (const read of this.deferredReads.splice(0)) this.answerRead({ ...read, index: 0 }, false);
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers.

  private hardState(): HardState {
    return { term: this.term, votedFor: this.votedFor, commit: this.log.committed };
  }

  private send(body: OmitBase<Message>): void {
    const message = { ...body, from: this.id, term: body.term ?? this.term } as Message;
    this.msgs.push(message);
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.votedFor === b.votedFor && a.commit === b.commit;
}
