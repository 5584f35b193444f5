// Pure. The vocabulary of Warden's Raft core: identifiers, log entries, the messages peers
// exchange (named after the paper's RPCs), the persistent state, and the Ready batch that hands
// work to the driver. Nothing here does I/O; everything here is plain data that can be
// serialized as it is (Uint8Array payloads aside).

import type { Brand } from '../util/brand.ts';

/** NodeId names a member of the cluster; it never changes for the life of a node. */
export type NodeId = Brand<string, 'NodeId'>;
/** Term is a Raft term (Raft §5.1). Plain numbers keep arithmetic readable. */
export type Term = number;
/** LogIndex is a position in the replicated log; 0 means "before the first entry". */
export type LogIndex = number;

/** nodeId brands a string as a NodeId after checking that it is a usable identifier. */
export function nodeId(id: string): NodeId {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(id)) throw new RangeError(`invalid node id: ${JSON.stringify(id)}`);
  return id as NodeId;
}

/** Membership is the configuration: who votes, and who only receives the log (learners). */
export interface Membership {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/**
 * ConfChange is one membership change. Warden changes membership one server at a time (Raft
 * thesis §4.1), which is safe because a leader proposes a change only after every earlier one
 * is applied and after it has committed an entry of its own term.
 */
export type ConfChange =
  | { readonly type: 'addVoter'; readonly node: NodeId }
  | { readonly type: 'addLearner'; readonly node: NodeId }
  | { readonly type: 'promoteLearner'; readonly node: NodeId }
  | { readonly type: 'removeNode'; readonly node: NodeId };

/** Entry is one record of the replicated log. */
export type Entry =
  /** A leader appends an empty entry on election so that it can commit its term (Raft §8). */
  | { readonly term: Term; readonly index: LogIndex; readonly type: 'noop' }
  /** An application command, opaque to Raft. */
  | { readonly term: Term; readonly index: LogIndex; readonly type: 'command'; readonly data: Uint8Array }
  /** A membership change; it takes effect when it is applied (committed). */
  | { readonly term: Term; readonly index: LogIndex; readonly type: 'conf'; readonly change: ConfChange };

/** HardState is what must be on disk before any message that depends on it is sent (Raft §5, Figure 2). */
export interface HardState {
  readonly term: Term;
  readonly votedFor: NodeId | null;
  readonly commit: LogIndex;
}

/** SnapshotMeta describes the prefix of the log a snapshot replaces (Raft §7). */
export interface SnapshotMeta {
  readonly index: LogIndex;
  readonly term: Term;
  readonly membership: Membership;
}

/** Snapshot is the application's state as of `meta.index`, serialized by the application. */
export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

/** Role is the node's current role; `preCandidate` is the pre-vote phase (Raft thesis §9.6). */
export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** Every message names its sender, its receiver and the sender's term. */
interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
}

/**
 * Message is everything peers exchange. The discriminants follow the paper's RPC names; the
 * extra kinds are the heartbeat (which carries ReadIndex contexts), pre-vote, TimeoutNow
 * (leadership transfer) and ReadIndex forwarding from followers.
 */
export type Message =
  | (MessageBase & {
      readonly type: 'RequestVote' | 'PreVote';
      readonly lastLogIndex: LogIndex;
      readonly lastLogTerm: Term;
      /** Set when the campaign was started by TimeoutNow: voters skip the leader-lease check. */
      readonly transfer: boolean;
    })
  | (MessageBase & { readonly type: 'RequestVoteResponse' | 'PreVoteResponse'; readonly granted: boolean })
  | (MessageBase & {
      readonly type: 'AppendEntries';
      readonly prevLogIndex: LogIndex;
      readonly prevLogTerm: Term;
      readonly entries: readonly Entry[];
      readonly leaderCommit: LogIndex;
    })
  | (MessageBase & {
      readonly type: 'AppendEntriesResponse';
      readonly success: boolean;
      /** On success, the last index now known to match the leader's log. */
      readonly matchIndex: LogIndex;
      /** On rejection, the index the leader should probe next (fast backtracking). */
      readonly rejectHint: LogIndex;
      /** On rejection, the prevLogIndex that was rejected, to discard stale responses. */
      readonly rejectedIndex: LogIndex;
    })
  | (MessageBase & { readonly type: 'Heartbeat'; readonly commit: LogIndex; readonly context: string | null })
  | (MessageBase & { readonly type: 'HeartbeatResponse'; readonly context: string | null })
  | (MessageBase & { readonly type: 'InstallSnapshot'; readonly snapshot: Snapshot })
  | (MessageBase & { readonly type: 'InstallSnapshotResponse'; readonly matchIndex: LogIndex; readonly accepted: boolean })
  | (MessageBase & { readonly type: 'TimeoutNow' })
  | (MessageBase & { readonly type: 'ReadIndex'; readonly context: string })
  | (MessageBase & { readonly type: 'ReadIndexResponse'; readonly context: string; readonly index: LogIndex; readonly ok: boolean });

/** MessageType lists the discriminants of Message. */
export type MessageType = Message['type'];

/** ReadState answers a ReadIndex request: the read may be served once applied >= index (Raft thesis §6.4). */
export interface ReadState {
  readonly context: string;
  readonly index: LogIndex;
  /** False when the request could not be served (no leader, leadership lost); retry elsewhere. */
  readonly ok: boolean;
}

/** SoftState is volatile state the driver may want to report; it is not persisted. */
export interface SoftState {
  readonly role: Role;
  readonly leaderId: NodeId | null;
  readonly term: Term;
}

/**
 * Ready is one batch of work for the driver. The contract, in this order:
 *  1. Persist `snapshot` (if any), then `hardState` (if any) and `entries` (if any), durably.
 *     `entries` may start at an index the log already holds: truncate from there and append.
 *  2. Only after step 1 is durable, send `messages`.
 *  3. Restore `snapshot` into the state machine (if any), then apply `committed` in order.
 *  4. Call `advance(ready)`.
 * NB: sending before persisting lets a crashed node forget a vote or an acknowledged entry,
 * which breaks election safety and durability; the simulator's `send-before-persist` bug
 * demonstrates it.
 */
export interface Ready {
  readonly softState: SoftState;
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | null;
  readonly committed: readonly Entry[];
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
}

/** ProposeResult tells the caller whether a proposal was appended, and where. */
export type ProposeResult =
  | { readonly ok: true; readonly index: LogIndex; readonly term: Term }
  | {
      readonly ok: false;
      readonly reason: 'NotLeader' | 'TransferInProgress' | 'ConfChangeInProgress' | 'InvalidConfChange';
      readonly leaderHint: NodeId | null;
      readonly detail?: string;
    };

/** PersistedState is what a node restarts from: the last durable hard state, snapshot and log. */
export interface PersistedState {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | null;
  /** The entries after the snapshot, contiguous, in index order. */
  readonly entries: readonly Entry[];
  /** The membership used when there is no snapshot and no conf entry yet (the bootstrap members). */
  readonly bootstrap: Membership;
  /**
   * The highest index the application's durable state reflects. An application that keeps its
   * state in memory and rebuilds it from the snapshot reports the snapshot's index.
   */
  readonly applied: LogIndex;
}

/**
 * BugName lists the defects that can be planted on purpose so that tests prove the checkers
 * catch them. They are off in production; each one is described where it is planted.
 */
export type BugName =
  | 'vote-twice'
  | 'commit-old-term'
  | 'skip-log-match'
  | 'send-before-persist'
  | 'grant-expired-session'
  | 'skip-lock-delay'
  | 'unconfirmed-keepalive'
  | 'late-read-join';

/** RaftConfig configures one node. Times are in ticks: the driver decides how long a tick is. */
export interface RaftConfig {
  readonly id: NodeId;
  /** Followers start an election after electionTicks..2*electionTicks-1 ticks without a leader (Raft §5.2). */
  readonly electionTicks: number;
  /** A leader sends heartbeats every heartbeatTicks; must be smaller than electionTicks. */
  readonly heartbeatTicks: number;
  /**
   * Election priority: voters with a lower priority wait `electionTicks * (maxPriority - priority)`
   * extra ticks before campaigning, so voters in preferred datacenters usually win.
   */
  readonly priority: number;
  /** The highest priority any member may have (so that timeouts stay bounded). */
  readonly maxPriority: number;
  /** Pre-vote (Raft thesis §9.6): a partitioned node cannot disrupt the cluster on its return. */
  readonly preVote: boolean;
  /** Check-quorum: a leader steps down when it has not heard from a quorum for an election timeout. */
  readonly checkQuorum: boolean;
  /** The most entries in one AppendEntries message (batching). */
  readonly maxEntriesPerMessage: number;
  /**
   * The most bytes of command payload in one AppendEntries (at least one entry is always sent),
   * so that a message stays under the transport's frame limit. Unlimited when absent.
   */
  readonly maxBytesPerMessage?: number;
  /** The most AppendEntries messages in flight to one follower (bounded pipelining). */
  readonly maxInflightMessages: number;
  /** Planted bugs, for the simulator only. */
  readonly bugs?: ReadonlySet<BugName>;
}

/** RaftStatus is a read-only picture of a node for status APIs and checkers. */
export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: Term;
  readonly votedFor: NodeId | null;
  readonly leaderId: NodeId | null;
  readonly commitIndex: LogIndex;
  readonly appliedIndex: LogIndex;
  readonly lastIndex: LogIndex;
  readonly firstIndex: LogIndex;
  readonly membership: Membership;
  /** On a leader, each peer's replication progress. */
  readonly progress: ReadonlyMap<NodeId, { readonly matchIndex: LogIndex; readonly nextIndex: LogIndex; readonly state: 'probe' | 'replicate' | 'snapshot'; readonly recentActive: boolean }>;
  readonly transferee: NodeId | null;
}
